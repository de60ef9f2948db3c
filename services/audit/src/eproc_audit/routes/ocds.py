"""Public: OCDS 1.1 release packages, record packages and single records (open contracting data)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import distinct, select

from eproc_audit.canonical import format_time
from eproc_audit.models import log_entries, ocds_releases
from eproc_audit.ocds import build_release, compile_record, record_package, release_package
from eproc_audit.routes.deps import ClockDep, ReadSession, SettingsDep
from eproc_audit.settings import AuditSettings
from eproc_shared.pagination import PageParams, page_params, paginate
from eproc_shared.problems import ProblemError

router = APIRouter(prefix="/public/ocds", tags=["public", "ocds"])
R = ocds_releases.c
L = log_entries.c
Paging = Annotated[PageParams, Depends(page_params)]


def _releases(rows: list[Any], settings: AuditSettings) -> list[dict[str, Any]]:
    found = (build_release(r.seq, json.loads(r.canonical), settings.ocds_ocid_prefix) for r in rows)
    return [r for r in found if r is not None]


def _with_next(body: dict[str, Any], cursor: str | None, base: str) -> dict[str, Any]:
    if cursor:
        body["links"] = {"next": f"{base}?cursor={cursor}"}
    return body


@router.get("/releases", summary="OCDS release package: one release per public step, in log order")
async def releases(session: ReadSession, settings: SettingsDep, clock: ClockDep, page: Paging) -> dict[str, Any]:
    stmt = select(R.seq, L.canonical).join(log_entries, L.seq == R.seq)
    rows, cursor = await paginate(session, stmt, [R.seq], page)
    uri = f"{settings.ocds_base_uri}/releases"
    body = release_package(
        _releases(rows, settings), uri=uri, publisher=settings.ocds_publisher_name, published=format_time(clock())
    )
    return _with_next(body, cursor, uri)


async def _record(session: ReadSession, settings: AuditSettings, package_id: str) -> dict[str, Any] | None:
    rows = (
        await session.execute(
            select(R.seq, L.canonical)
            .join(log_entries, L.seq == R.seq)
            .where(R.package_id == package_id)
            .order_by(R.seq)
        )
    ).all()
    found = _releases(list(rows), settings)
    return compile_record(f"{settings.ocds_ocid_prefix}{package_id}", found) if found else None


@router.get("/records", summary="OCDS record package: a record (releases and compiled release) per package")
async def records(session: ReadSession, settings: SettingsDep, clock: ClockDep, page: Paging) -> dict[str, Any]:
    stmt = select(distinct(R.package_id).label("package_id"))
    rows, cursor = await paginate(session, stmt, [R.package_id], page)
    compiled = [await _record(session, settings, r.package_id) for r in rows]
    uri = f"{settings.ocds_base_uri}/records"
    body = record_package(
        [r for r in compiled if r is not None],
        uri=uri,
        publisher=settings.ocds_publisher_name,
        published=format_time(clock()),
    )
    return _with_next(body, cursor, uri)


@router.get("/records/{ocid}", summary="One OCDS record package, for one ocid")
async def record(ocid: str, session: ReadSession, settings: SettingsDep, clock: ClockDep) -> dict[str, Any]:
    prefix = settings.ocds_ocid_prefix
    found = await _record(session, settings, ocid[len(prefix) :]) if ocid.startswith(prefix) else None
    if found is None:
        raise ProblemError(404, "Not found", f"No contracting process {ocid}.", slug="not-found")
    uri = f"{settings.ocds_base_uri}/records/{ocid}"
    return record_package([found], uri=uri, publisher=settings.ocds_publisher_name, published=format_time(clock()))
