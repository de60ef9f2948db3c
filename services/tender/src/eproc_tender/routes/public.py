"""Public reading: announcements with filters and cursor paging, package detail."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from eproc_shared.auth import Role, forbidden
from eproc_shared.pagination import Page, PageParams, page_params, paginate
from eproc_tender import store
from eproc_tender.domain.machine import Status
from eproc_tender.domain.rules import Method, ProcurementType
from eproc_tender.models import packages
from eproc_tender.routes.deps import ReaderCtx, UserCtx
from eproc_tender.views import PUBLIC_STATUSES, detail, summary

router = APIRouter(prefix="/packages", tags=["public"])


@router.get("", summary="Announced packages, newest announcement first, with filters and cursor paging")
async def list_packages(
    ctx: ReaderCtx,
    page: Annotated[PageParams, Depends(page_params)],
    order: Annotated[
        Literal["newest", "oldest"], Query(description="newest (default) or oldest announcement first.")
    ] = "newest",
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
    keys = [packages.c.announced_at, packages.c.id]
    rows, cursor = await paginate(ctx.session, stmt, keys, page, descending=order == "newest")
    return Page(items=[summary(r._mapping) for r in rows], next_cursor=cursor)


@router.get("/drafts", summary="The PPK's own packages not yet announced (draft, assigned), newest first")
async def my_drafts(ctx: UserCtx, page: Annotated[PageParams, Depends(page_params)]) -> Page[dict[str, Any]]:
    principal = ctx.principal
    assert principal is not None
    if not (principal.has_role(Role.PPK) or principal.is_admin):
        raise forbidden("Only a PPK has drafts.")
    stmt = select(packages).where(packages.c.status.in_([Status.DRAFT.value, Status.ASSIGNED.value]))
    if not principal.is_admin:
        stmt = stmt.where(packages.c.ppk_id == principal.subject, packages.c.opd_id == principal.opd_id)
    keys = [packages.c.created_at, packages.c.id]
    rows, cursor = await paginate(ctx.session, stmt, keys, page, descending=True)
    return Page(items=[summary(r._mapping) for r in rows], next_cursor=cursor)


@router.get("/{package_id}", summary="Package detail: public once announced; drafts to their officials")
async def get_package(package_id: str, ctx: ReaderCtx) -> dict[str, Any]:
    return await detail(ctx, await store.get_package(ctx.session, package_id))


# The gateway opens /api/<service>/public/** to everyone, for every service: the announcements are served
# there too, by the same handlers (a token, if sent, still widens what a package's officials see).
public_alias = APIRouter(prefix="/public/packages", tags=["public"])
public_alias.add_api_route("", list_packages, methods=["GET"], summary="Announced packages (public path)")
public_alias.add_api_route("/{package_id}", get_package, methods=["GET"], summary="Package detail (public path)")
