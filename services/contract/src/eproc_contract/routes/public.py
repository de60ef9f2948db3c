"""Public reading, no token: value, vendor, dates, status, amendments and progress of signed contracts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from eproc_contract.deps import ReadSession
from eproc_contract.models import contracts, progress_reports
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


class MilestoneProgress(BaseModel):
    milestone: str
    percent: int = Field(ge=0, le=100, description="The latest reported share of the milestone done.")
    reported_on: date = Field(description="The date of that latest report.")


class PublicProgress(BaseModel):
    contract_id: str
    milestones: list[MilestoneProgress] = Field(
        description="Each milestone's latest report, in the order work on them was first reported; notes and "
        "evidence stay with the parties."
    )


@router.get("/contracts/{contract_id}/progress", summary="One signed contract's progress per milestone")
async def get_public_progress(contract_id: str, session: ReadSession) -> PublicProgress:
    contract = await get_contract(session, contract_id)
    if contract["status"] in UNPUBLISHED:
        raise not_found()
    p = progress_reports.c
    # Progress never goes down (running.report_progress), so the highest percent is the latest report.
    stmt = (
        select(p.milestone, func.max(p.percent).label("percent"), func.max(p.reported_on).label("reported_on"))
        .where(p.contract_id == contract_id)
        .group_by(p.milestone)
        .order_by(func.min(p.reported_at), p.milestone)
    )
    rows = (await session.execute(stmt)).all()
    return PublicProgress(
        contract_id=contract_id,
        milestones=[
            MilestoneProgress(milestone=r.milestone, percent=r.percent, reported_on=r.reported_on) for r in rows
        ],
    )
