"""The contract API for its parties: the PPK of the OPD and the contract's vendor."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from eproc_contract import access, closing, drafting, running
from eproc_contract.deps import Context, ReadSession
from eproc_contract.domain.terms import Milestone, Termin, Terms
from eproc_contract.models import contracts
from eproc_contract.schemas import (
    AmendmentIn,
    CompleteIn,
    DraftTermsIn,
    EndIn,
    GuaranteeIn,
    HandoverIn,
    PaymentIn,
    PenaltyIn,
    ProgressIn,
    RatingIn,
    ReplacementIn,
    StartIn,
)
from eproc_contract.store import get_contract
from eproc_contract.views import full_view
from eproc_shared.auth import CurrentPrincipal, Role, forbidden, vendor_filter
from eproc_shared.pagination import Page, PageParams, page_params, paginate

router = APIRouter(prefix="/contracts", tags=["contracts"])

Status = Literal["draft", "signing", "signed", "active", "handed_over", "completed", "terminated", "stopped"]


async def _view(ctx: Any, contract_id: str) -> dict[str, Any]:
    return await full_view(ctx.session, await get_contract(ctx.session, contract_id))


@router.get("", summary="Contracts the caller may see: its OPD's (PPK), its own (vendor), all (admin)")
async def list_contracts(
    session: ReadSession,
    principal: CurrentPrincipal,
    params: Annotated[PageParams, Depends(page_params)],
    status: Status | None = None,
    package_id: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[dict[str, Any]]:
    stmt = select(
        contracts.c.id, contracts.c.package_id, contracts.c.package_name, contracts.c.opd_id, contracts.c.vendor_id,
        contracts.c.vendor_name, contracts.c.status, contracts.c.original_value, contracts.c.current_value,
        contracts.c.planned_end, contracts.c.created_at,
    )  # fmt: skip
    vendor = vendor_filter(principal)
    if vendor is not None:
        stmt = stmt.where(contracts.c.vendor_id == vendor)
    elif principal.has_role(Role.PPK) and not principal.is_admin:
        stmt = stmt.where(contracts.c.opd_id == (principal.opd_id or ""))
    elif not principal.is_admin:
        raise forbidden("Your role cannot list contracts; see the public contract record instead.")
    if status:
        stmt = stmt.where(contracts.c.status == status)
    if package_id:
        stmt = stmt.where(contracts.c.package_id == package_id)
    rows, cursor = await paginate(session, stmt, [contracts.c.created_at, contracts.c.id], params)
    return Page(items=[dict(r._mapping) for r in rows], next_cursor=cursor)


@router.get("/{contract_id}", summary="The whole contract: terms and their versions, signatures, money, history")
async def get_one(contract_id: str, session: ReadSession, principal: CurrentPrincipal) -> dict[str, Any]:
    contract = await get_contract(session, contract_id)
    access.ensure_reader(principal, contract)
    return await full_view(session, contract)


@router.put("/{contract_id}/draft", summary="PPK: draw up (or redo) the terms before anyone signs")
async def edit_draft(contract_id: str, body: DraftTermsIn, ctx: Context) -> dict[str, Any]:
    terms = Terms(
        contract_number=body.contract_number,
        contract_type=body.contract_type,
        duration_days=body.duration_days,
        scope=body.scope,
        milestones=[Milestone(code=m.code, name=m.name) for m in body.milestones],
        payment_plan=[Termin(**t.model_dump()) for t in body.payment_plan],
        retention_bps=body.retention_bps,
        advance_payment_amount=body.advance_payment_amount,
    )
    await drafting.edit_draft(ctx, contract_id, terms)
    return await _view(ctx, contract_id)


@router.post("/{contract_id}/guarantees", status_code=201, summary="Vendor: post a performance or advance guarantee")
async def submit_guarantee(contract_id: str, body: GuaranteeIn, ctx: Context) -> dict[str, Any]:
    guarantee_id = await drafting.submit_guarantee(ctx, contract_id, **body.model_dump())
    return {"id": guarantee_id}


@router.post("/{contract_id}/sign", summary="PPK or vendor: sign the contract (order and time are recorded)")
async def sign(contract_id: str, ctx: Context) -> dict[str, Any]:
    await drafting.sign(ctx, contract_id)
    return await _view(ctx, contract_id)


@router.post("/{contract_id}/spmk", summary="PPK: the start order fixes the start date and the planned end")
async def start(contract_id: str, body: StartIn, ctx: Context) -> dict[str, Any]:
    await drafting.start(ctx, contract_id, spmk_number=body.spmk_number, start_date=body.start_date)
    return await _view(ctx, contract_id)


@router.post("/{contract_id}/progress", status_code=201, summary="PPK or vendor: progress of a milestone")
async def report_progress(contract_id: str, body: ProgressIn, ctx: Context) -> dict[str, Any]:
    report_id = await running.report_progress(
        ctx,
        contract_id,
        milestone=body.milestone,
        percent=body.percent,
        note=body.note,
        evidence=[e.model_dump() for e in body.evidence],
        reported_on=body.reported_on,
    )
    return {"id": report_id}


@router.post("/{contract_id}/payments", status_code=201, summary="PPK: record a payment (advance, termin, retention)")
async def record_payment(contract_id: str, body: PaymentIn, ctx: Context) -> dict[str, Any]:
    payment_id = await running.record_payment(ctx, contract_id, **body.model_dump())
    return {"id": payment_id}


@router.post("/{contract_id}/penalties", status_code=201, summary="PPK: assess the late penalty up to a day")
async def assess_penalty(contract_id: str, body: PenaltyIn, ctx: Context) -> dict[str, Any]:
    return await running.assess_penalty(ctx, contract_id, on=body.on, late_part_value=body.late_part_value)


@router.post("/{contract_id}/amendments", status_code=201, summary="PPK: propose (and sign) an amendment")
async def propose_amendment(contract_id: str, body: AmendmentIn, ctx: Context) -> dict[str, Any]:
    number = await running.propose_amendment(ctx, contract_id, **body.model_dump())
    return {"number": number}


@router.post("/{contract_id}/amendments/{number}/sign", summary="Vendor: sign an amendment, which then applies")
async def sign_amendment(contract_id: str, number: int, ctx: Context) -> dict[str, Any]:
    await running.sign_amendment(ctx, contract_id, number)
    return await _view(ctx, contract_id)


@router.post("/{contract_id}/handovers", status_code=201, summary="PPK: handover (BAST), partial or final")
async def hand_over(contract_id: str, body: HandoverIn, ctx: Context) -> dict[str, Any]:
    return await running.hand_over(ctx, contract_id, **body.model_dump())


@router.post("/{contract_id}/complete", summary="PPK: the contract is completed (selesai)")
async def complete(contract_id: str, body: CompleteIn, ctx: Context) -> dict[str, Any]:
    await closing.complete(ctx, contract_id, completed_on=body.completed_on)
    return await _view(ctx, contract_id)


@router.post("/{contract_id}/end", summary="PPK: terminate (pemutusan) or stop (penghentian) with reason and fault")
async def end_early(contract_id: str, body: EndIn, ctx: Context) -> dict[str, Any]:
    await closing.end_early(ctx, contract_id, **body.model_dump())
    return await _view(ctx, contract_id)


@router.post("/{contract_id}/replacement", status_code=201, summary="PPK: a draft for a reserve vendor")
async def replace_vendor(contract_id: str, body: ReplacementIn, ctx: Context) -> dict[str, Any]:
    new_id = await drafting.replace_vendor(ctx, contract_id, **body.model_dump())
    return await _view(ctx, new_id)


@router.put("/{contract_id}/rating", summary="PPK: rate the vendor after completion or termination")
async def rate(contract_id: str, body: RatingIn, ctx: Context) -> dict[str, Any]:
    rating_id = await closing.rate(
        ctx, contract_id, scores=[(s.criterion, s.score, s.scale_max) for s in body.scores], comment=body.comment
    )
    return {"id": rating_id}
