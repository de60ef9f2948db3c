"""Public reading, no token: value, vendor, dates, status and amendments of signed contracts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from eproc_contract.deps import ReadSession
from eproc_contract.models import contracts
from eproc_contract.store import get_contract, not_found
from eproc_contract.views import public_record
from eproc_shared.events.types.contract import PublicContract
from eproc_shared.pagination import Page, PageParams, page_params, paginate

router = APIRouter(prefix="/public", tags=["public"])

#: A draft is not a contract yet: the public sees contracts from their signing on.
UNPUBLISHED = ("draft", "signing")


@router.get("/contracts", summary="Signed contracts, filtered by package or agency")
async def list_public(
    session: ReadSession,
    params: Annotated[PageParams, Depends(page_params)],
    package_id: Annotated[str | None, Query(max_length=100)] = None,
    opd_id: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[PublicContract]:
    stmt = select(contracts.c.id, contracts.c.created_at).where(contracts.c.status.not_in(UNPUBLISHED))
    if package_id:
        stmt = stmt.where(contracts.c.package_id == package_id)
    if opd_id:
        stmt = stmt.where(contracts.c.opd_id == opd_id)
    rows, cursor = await paginate(session, stmt, [contracts.c.created_at, contracts.c.id], params)
    items = [await public_record(session, await get_contract(session, r.id)) for r in rows]
    return Page(items=items, next_cursor=cursor)


@router.get("/contracts/{contract_id}", summary="One signed contract's public record")
async def get_public(contract_id: str, session: ReadSession) -> PublicContract:
    contract = await get_contract(session, contract_id)
    if contract["status"] in UNPUBLISHED:
        raise not_found()
    return await public_record(session, contract)
