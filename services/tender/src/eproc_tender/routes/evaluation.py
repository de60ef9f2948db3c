"""Opening, evaluation, winner, objections and award."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from eproc_shared.problems import ProblemError
from eproc_tender.domain.machine import Status
from eproc_tender.flows import evaluating
from eproc_tender.routes.deps import UserCtx
from eproc_tender.schemas import AppealAnswerIn, AppealIn, AwardIn, JudgementIn, ObjectionAnswerIn, ObjectionIn
from eproc_tender.store import get_package
from eproc_tender.views import SEALED_STATUSES, detail, is_official

router = APIRouter(prefix="/packages/{package_id}", tags=["opening, evaluation and award"])


@router.post("/opening", summary="Open the bids after the deadline (Pokja)")
async def open_bids(package_id: str, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await evaluating.open_bids(ctx, package_id))


@router.post("/price-opening", summary="Two-file: open the price envelopes of the bids that passed (Pokja)")
async def open_prices(package_id: str, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await evaluating.open_prices(ctx, package_id))


@router.post(
    "/second-stage", summary="Two-stage: invite the bidders who passed the first stage to their second offer (Pokja)"
)
async def invite_second_stage(package_id: str, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await evaluating.invite_second_stage(ctx, package_id))


@router.put("/evaluations/{vendor_id}", summary="Record the Pokja's judgement of one bid")
async def judge(package_id: str, vendor_id: str, body: JudgementIn, ctx: UserCtx) -> dict[str, Any]:
    await evaluating.judge(ctx, package_id, vendor_id, body)
    return await evaluation_view(package_id, ctx)


@router.get("/evaluation", summary="The evaluation so far (the package's officials, after opening)")
async def evaluation_view(package_id: str, ctx: UserCtx) -> dict[str, Any]:
    pkg = await get_package(ctx.session, package_id)
    assert ctx.principal is not None
    if not is_official(ctx.principal, pkg):
        raise ProblemError(403, "Forbidden", "Only the package's officials see the evaluation.", slug="forbidden")
    if Status(pkg["status"]) in SEALED_STATUSES:
        raise ProblemError(409, "Sealed", "The bids are sealed until opening.", slug="sealed")
    outcome, leader, opened = await evaluating.outcome_of(ctx, pkg)
    results = {r.vendor_id: r for r in outcome.results}
    return {
        "package_id": package_id,
        "status": pkg["status"],
        "pending": outcome.pending,
        "leading_bidder": leader,
        "winner": outcome.winner,
        "reserves": outcome.reserves,
        "failure": outcome.failure,
        "bids": [
            {
                "vendor_id": o["vendor_id"],
                "received_at": o["received_at"],
                "receipt_sha256": o["receipt_sha256"],
                "receipt_verified": o["receipt_verified"],
                "documents": o["documents"],
                "offered_price": o["offered_price"],
                "items": o["items"],
                "judgement": o["judgement"],
                "corrected_price": results[o["vendor_id"]].corrected_price,
                "passed": results[o["vendor_id"]].passed,
                "reasons": results[o["vendor_id"]].reasons,
                "low_price": results[o["vendor_id"]].low_price,
                "total_score": results[o["vendor_id"]].total_score,
                "rank": results[o["vendor_id"]].rank,
            }
            for o in opened
        ],
    }


@router.post(
    "/winner",
    summary="Approve and announce the winner the evaluation determined (Pokja); opens the objection period",
    description="Each Pokja member who calls this approves the determined outcome; it is announced once more than "
    "half the members approved the same outcome (202 until then; a Pokja of one account decides alone).",
)
async def announce_winner(package_id: str, ctx: UserCtx, response: Response) -> dict[str, Any]:
    out = await detail(ctx, await evaluating.announce_winner(ctx, package_id))
    if out["status"] == Status.EVALUATION:
        response.status_code = status.HTTP_202_ACCEPTED
    return out


@router.post("/objections", status_code=status.HTTP_201_CREATED, summary="Object (sanggah) to the result (participant)")
async def file_objection(package_id: str, body: ObjectionIn, ctx: UserCtx) -> dict[str, Any]:
    row = await evaluating.file_objection(ctx, package_id, body)
    return {k: row[k] for k in ("id", "package_id", "vendor_id", "reason", "filed_at", "answer_due_at")}


@router.post("/objections/{objection_id}/answer", summary="Answer an objection (Pokja)")
async def answer_objection(package_id: str, objection_id: str, body: ObjectionAnswerIn, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await evaluating.answer_objection(ctx, package_id, objection_id, body))


@router.post(
    "/appeals",
    status_code=status.HTTP_201_CREATED,
    summary="Appeal (sanggah banding) a rejected objection, construction works only (the objector)",
)
async def file_appeal(package_id: str, body: AppealIn, ctx: UserCtx) -> dict[str, Any]:
    row = await evaluating.file_appeal(ctx, package_id, body)
    keys = ("id", "package_id", "objection_id", "vendor_id", "guarantee_amount", "guarantee_required", "filed_at")
    return {k: row[k] for k in (*keys, "answer_due_at")}


@router.post(
    "/appeals/{appeal_id}/answer",
    summary="Answer an appeal (the PA/KPA-level official: TENDER_OBJECTION_ESCALATION_ROLE)",
)
async def answer_appeal(package_id: str, appeal_id: str, body: AppealAnswerIn, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await evaluating.answer_appeal(ctx, package_id, appeal_id, body))


@router.post("/award", summary="Issue the award letter (SPPBJ) after the objection period (PPK)")
async def award(package_id: str, body: AwardIn, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await evaluating.award(ctx, package_id, body))
