"""Public reading: announcements with filters and cursor paging, package detail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from eproc_shared.pagination import Page, PageParams, page_params, paginate
from eproc_tender import store
from eproc_tender.domain.machine import Status
from eproc_tender.domain.rules import Method, ProcurementType
from eproc_tender.models import packages
from eproc_tender.routes.deps import ReaderCtx
from eproc_tender.views import PUBLIC_STATUSES, detail, summary

router = APIRouter(prefix="/packages", tags=["public"])


@router.get("", summary="Announced packages, oldest announcement first, with filters and cursor paging")
async def list_packages(
    ctx: ReaderCtx,
    page: Annotated[PageParams, Depends(page_params)],
    opd_id: Annotated[str | None, Query(max_length=100)] = None,
    method: Method | None = None,
    procurement_type: ProcurementType | None = None,
    status: Annotated[
        Status | None, Query(description="Stored status (time-driven changes apply within moments).")
    ] = None,
    fiscal_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    q: Annotated[
        str | None, Query(min_length=2, max_length=100, description="Words in name, satker, location or code.")
    ] = None,
) -> Page[dict[str, Any]]:
    stmt = select(packages).where(packages.c.status.in_([s.value for s in PUBLIC_STATUSES]))
    if status is not None:
        if status not in PUBLIC_STATUSES:
            return Page(items=[], next_cursor=None)
        stmt = stmt.where(packages.c.status == status)
    if opd_id:
        stmt = stmt.where(packages.c.opd_id == opd_id)
    if method:
        stmt = stmt.where(packages.c.method == method)
    if procurement_type:
        stmt = stmt.where(packages.c.procurement_type == procurement_type)
    if fiscal_year:
        stmt = stmt.where(packages.c.fiscal_year == fiscal_year)
    for word in (q or "").lower().split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(packages.c.search_text.like(f"%{escaped}%", escape="\\"))
    rows, cursor = await paginate(ctx.session, stmt, [packages.c.announced_at, packages.c.id], page)
    return Page(items=[summary(r._mapping) for r in rows], next_cursor=cursor)


@router.get("/{package_id}", summary="Package detail: public once announced; drafts to their officials")
async def get_package(package_id: str, ctx: ReaderCtx) -> dict[str, Any]:
    return await detail(ctx, await store.get_package(ctx.session, package_id))
