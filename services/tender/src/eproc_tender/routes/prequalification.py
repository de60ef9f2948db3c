"""Prakualifikasi: qualification data, the Pokja's judgement, and the shortlist that invites the bidders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from eproc_tender.flows import prequalification
from eproc_tender.routes.deps import UserCtx
from eproc_tender.schemas import PrequalificationJudgementIn, QualificationIn
from eproc_tender.views import detail

router = APIRouter(prefix="/packages/{package_id}", tags=["prakualifikasi"])


@router.put("/qualification", summary="Send or replace the vendor's qualification data (registered vendor)")
async def submit_qualification(package_id: str, body: QualificationIn, ctx: UserCtx) -> dict[str, Any]:
    row = await prequalification.submit(ctx, package_id, body)
    return {k: row[k] for k in ("package_id", "vendor_id", "qualification_submitted_at")}


@router.put("/prequalification/{vendor_id}", summary="Judge one applicant's qualification (Pokja)")
async def judge(package_id: str, vendor_id: str, body: PrequalificationJudgementIn, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await prequalification.judge(ctx, package_id, vendor_id, body))


@router.post("/shortlist", summary="Announce who passed prakualifikasi; they are invited to bid (Pokja)")
async def announce_shortlist(package_id: str, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await prequalification.announce_shortlist(ctx, package_id))
