"""Pengadaan and penunjukan langsung: invitation, offers, negotiation, qualification and conclusion.

The award itself is the package's ``POST /packages/{id}/award`` (PPK), as for a tender.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from eproc_tender.flows import direct as flow
from eproc_tender.routes.deps import ReaderCtx, UserCtx
from eproc_tender.schemas import PositiveRupiah, Reason, Text, UserId
from eproc_tender.store import get_package

router = APIRouter(prefix="/packages/{package_id}/direct", tags=["direct"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InviteIn(_In):
    vendor_ids: list[UserId] = Field(min_length=1, max_length=20)


class OfferIn(_In):
    price: PositiveRupiah
    note: Text | None = None


class ProposalIn(_In):
    vendor_id: UserId
    price: PositiveRupiah
    note: Text | None = None


class QualifyIn(_In):
    vendor_id: UserId
    qualified: bool
    reason: Reason | None = None


class ConcludeIn(_In):
    vendor_id: UserId


async def _view(ctx: Any, package_id: str) -> dict[str, Any]:
    return await flow.view(ctx, await get_package(ctx.session, package_id))


@router.get("", summary="Invitations and negotiation history (the official, the PPK; a vendor: its own)")
async def negotiation(package_id: str, ctx: ReaderCtx) -> dict[str, Any]:
    return await _view(ctx, package_id)


@router.post("/invitations", summary="Invite vendors (Pejabat Pengadaan; penunjukan langsung: exactly one)")
async def invite(package_id: str, body: InviteIn, ctx: UserCtx) -> dict[str, Any]:
    await flow.invite(ctx, package_id, list(body.vendor_ids))
    return await _view(ctx, package_id)


@router.post("/offers", status_code=201, summary="Offer or lower a price (invited vendor)")
async def offer(package_id: str, body: OfferIn, ctx: UserCtx) -> dict[str, Any]:
    await flow.offer(ctx, package_id, body.price, body.note)
    return await _view(ctx, package_id)


@router.post("/proposals", status_code=201, summary="Propose a lower price in negotiation (Pejabat Pengadaan)")
async def propose(package_id: str, body: ProposalIn, ctx: UserCtx) -> dict[str, Any]:
    await flow.negotiate(ctx, package_id, body.vendor_id, body.price, body.note)
    return await _view(ctx, package_id)


@router.put("/qualification", summary="Judge an invited vendor's qualification (Pejabat Pengadaan)")
async def qualify(package_id: str, body: QualifyIn, ctx: UserCtx) -> dict[str, Any]:
    await flow.qualify(ctx, package_id, body.vendor_id, body.qualified, body.reason)
    return await _view(ctx, package_id)


@router.post("/conclusion", summary="Conclude with a qualified vendor at its latest price (Pejabat Pengadaan)")
async def conclude(package_id: str, body: ConcludeIn, ctx: UserCtx) -> dict[str, Any]:
    await flow.conclude(ctx, package_id, body.vendor_id)
    return await _view(ctx, package_id)
