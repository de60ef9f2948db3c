"""Tender cepat: the Pokja's rounds, the invited vendors' prices, and the auction as the public follows it.

Announcement (which invites the qualified vendors) and award are the package's usual
``POST /packages/{id}/announcement`` and ``POST /packages/{id}/award``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from eproc_tender.domain.schedule import Window
from eproc_tender.flows import auction as flow
from eproc_tender.routes.deps import ReaderCtx, UserCtx
from eproc_tender.schemas import PositiveRupiah, WindowIn
from eproc_tender.views import detail

router = APIRouter(prefix="/packages/{package_id}/auction", tags=["tender cepat"])


class RoundsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rounds: list[WindowIn] = Field(min_length=1, max_length=10, description="Each round's window, in order.")


class AuctionBidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price: PositiveRupiah


@router.put("/rounds", summary="Set the rounds of the reverse auction before announcement (Pokja)")
async def set_rounds(package_id: str, body: RoundsIn, ctx: UserCtx) -> dict[str, Any]:
    rounds = [Window(w.starts_at, w.ends_at) for w in body.rounds]
    return await detail(ctx, await flow.set_rounds(ctx, package_id, rounds))


@router.post(
    "/bids", status_code=status.HTTP_201_CREATED, summary="Offer or lower the price inside a round (invited vendor)"
)
async def place_bid(package_id: str, body: AuctionBidIn, ctx: UserCtx) -> dict[str, Any]:
    return await flow.bid(ctx, package_id, body.price)


@router.get("", summary="The auction: rounds, each closed round's ranking without names, results once concluded")
async def read_auction(package_id: str, ctx: ReaderCtx) -> dict[str, Any]:
    return await flow.read(ctx, package_id)


public_alias = APIRouter(prefix="/public/packages/{package_id}/auction", tags=["public"])
public_alias.add_api_route("", read_auction, methods=["GET"], summary="The auction (public path)")
