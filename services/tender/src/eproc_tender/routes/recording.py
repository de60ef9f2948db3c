"""Recording (pencatatan): record, correct and read purchases done outside the platform; CSV imports."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy import insert, select

from eproc_shared.auth import Role, ensure_opd, forbidden
from eproc_shared.pagination import Page, PageParams, page_params, paginate
from eproc_tender.domain.recording import RecordKind
from eproc_tender.flows import recording as flow
from eproc_tender.flows.files import store_plain
from eproc_tender.models import recording_import_rows, recording_imports, recordings
from eproc_tender.recording_import import check_file, import_path
from eproc_tender.recording_schemas import CorrectionIn, RecordIn
from eproc_tender.routes.deps import ReaderCtx, UserCtx
from eproc_tender.store import Ctx, not_found, wake_after_commit

router = APIRouter(prefix="/recordings", tags=["recording"])
# Recorded purchases are public procurement data, read through the gateway's open path as well.
public_alias = APIRouter(prefix="/public/recordings", tags=["public"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Record a purchase done outside the platform (PPK)")
async def create_record(body: RecordIn, ctx: UserCtx) -> dict[str, Any]:
    return flow.view(await flow.record(ctx, body))


@router.put("/{record_id}", summary="Correct a record (PPK of its OPD): a new version, the old ones kept")
async def correct_record(record_id: str, body: CorrectionIn, ctx: UserCtx) -> dict[str, Any]:
    row = await flow.correct(ctx, record_id, body)
    return flow.view(row, await flow.history(ctx, record_id))


def _import_view(row: Any) -> dict[str, Any]:
    total = row["total_rows"]
    return {
        "id": row["id"],
        "opd_id": row["opd_id"],
        "file_name": row["file_name"],
        "status": row["status"],
        "total_rows": total,
        "processed_rows": row["processed_rows"],
        "accepted_rows": row["accepted_rows"],
        "rejected_rows": row["rejected_rows"],
        "percent": (100 * row["processed_rows"]) // total if total else 100,
        "error": row["error"],
        "created_at": row["created_at"].isoformat(),
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
    }


@router.post(
    "/imports",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Import records from CSV (PPK; raw body, streamed). Poll the job for progress and the per-row report",
)
async def start_import(
    request: Request,
    ctx: UserCtx,
    name: Annotated[str | None, Query(max_length=200, description="The file's name, kept for the report.")] = None,
) -> dict[str, Any]:
    assert ctx.principal is not None
    if not ctx.principal.has_role(Role.PPK) or not ctx.principal.opd_id:
        raise forbidden("Only a PPK imports records, into its own OPD.")
    import_id = str(uuid.uuid4())
    path = import_path(ctx.settings, import_id)
    await store_plain(request.stream(), path, ctx.settings.import_max_bytes)
    try:
        total = await asyncio.to_thread(check_file, path)
    except BaseException:
        await asyncio.to_thread(path.unlink, True)
        raise
    values = {
        "id": import_id,
        "opd_id": ctx.principal.opd_id,
        "ppk_id": ctx.actor,
        "file_name": name,
        "status": "running",
        "total_rows": total,
        "processed_rows": 0,
        "accepted_rows": 0,
        "rejected_rows": 0,
        "created_at": ctx.now,
    }
    await ctx.session.execute(insert(recording_imports).values(**values))
    wake_after_commit(ctx.session, getattr(request.app.state, "importer", None))
    return _import_view({**values, "error": None, "finished_at": None})


async def _job(ctx: Ctx, import_id: str) -> Any:
    row = (
        (await ctx.session.execute(select(recording_imports).where(recording_imports.c.id == import_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise not_found("import")
    assert ctx.principal is not None
    ensure_opd(ctx.principal, row["opd_id"])
    return row


@router.get("/imports/{import_id}", summary="An import's progress and counts (officials of its OPD)")
async def get_import(import_id: str, ctx: UserCtx) -> dict[str, Any]:
    return _import_view(await _job(ctx, import_id))


@router.get("/imports/{import_id}/rows", summary="An import's per-row report: accepted, or rejected with reasons")
async def import_rows(
    import_id: str,
    ctx: UserCtx,
    page: Annotated[PageParams, Depends(page_params)],
    accepted: Annotated[bool | None, Query(description="Only accepted (true) or rejected (false) rows.")] = None,
) -> Page[dict[str, Any]]:
    await _job(ctx, import_id)
    stmt = select(recording_import_rows).where(recording_import_rows.c.import_id == import_id)
    if accepted is not None:
        stmt = stmt.where(recording_import_rows.c.accepted == accepted)
    rows, cursor = await paginate(ctx.session, stmt, [recording_import_rows.c.row_number], page)
    items = [
        {"row": r.row_number, "accepted": r.accepted, "recording_id": r.recording_id, "errors": r.errors} for r in rows
    ]
    return Page(items=items, next_cursor=cursor)


async def _list(
    ctx: ReaderCtx,
    page: Annotated[PageParams, Depends(page_params)],
    opd_id: Annotated[str | None, Query(max_length=100)] = None,
    fiscal_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    kind: RecordKind | None = None,
    vendor_id: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[dict[str, Any]]:
    stmt = select(recordings)
    if opd_id:
        stmt = stmt.where(recordings.c.opd_id == opd_id)
    if fiscal_year:
        stmt = stmt.where(recordings.c.fiscal_year == fiscal_year)
    if kind:
        stmt = stmt.where(recordings.c.kind == kind)
    if vendor_id:
        stmt = stmt.where(recordings.c.vendor_id == vendor_id)
    rows, cursor = await paginate(ctx.session, stmt, [recordings.c.created_at, recordings.c.id], page, descending=True)
    return Page(items=[flow.view(r._mapping) for r in rows], next_cursor=cursor)


async def _get(record_id: str, ctx: ReaderCtx) -> dict[str, Any]:
    return flow.view(await flow.get(ctx, record_id), await flow.history(ctx, record_id))


for _router in (router, public_alias):
    _router.add_api_route("", _list, methods=["GET"], summary="Recorded purchases, newest first, with filters")
    _router.add_api_route("/{record_id}", _get, methods=["GET"], summary="A record with its history of corrections")
