"""Participation, questions and sealed bids."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status

from eproc_shared.auth import CurrentPrincipal
from eproc_shared.service_app import Runtime
from eproc_tender.flows import bidding, participation
from eproc_tender.routes.deps import Snapshots, UserCtx, UserReadCtx, UserReads, Writer, clock_of
from eproc_tender.schemas import AnswerIn, BidDocumentReceipt, BidIn, QuestionIn, Receipt
from eproc_tender.settings import TenderSettings

router = APIRouter(prefix="/packages/{package_id}", tags=["participation and bids"])


@router.post("/participants", status_code=status.HTTP_201_CREATED, summary="Register for a package (vendor)")
async def register(package_id: str, ctx: UserCtx) -> dict[str, Any]:
    row = await participation.register(ctx, package_id)
    return {k: row[k] for k in ("package_id", "vendor_id", "vendor_name", "registered_at")}


@router.post("/questions", status_code=status.HTTP_201_CREATED, summary="Ask a clarification question (participant)")
async def ask(package_id: str, body: QuestionIn, ctx: UserCtx) -> dict[str, Any]:
    row = await participation.ask(ctx, package_id, body)
    return {k: row[k] for k in ("id", "question", "asked_at")}


@router.post("/questions/{question_id}/answer", summary="Answer a question (Pokja); answers are public")
async def answer(package_id: str, question_id: str, body: AnswerIn, ctx: UserCtx) -> dict[str, Any]:
    return await participation.answer(ctx, package_id, question_id, body)


@router.post(
    "/bid-documents",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a bid document (raw body, streamed and encrypted as it arrives)",
)
async def upload_bid_document(
    package_id: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: Runtime,
    name: Annotated[str, Query(min_length=1, max_length=200)],
    content_type: Annotated[str, Header(max_length=100)] = "application/octet-stream",
) -> BidDocumentReceipt:
    settings = runtime.settings
    assert isinstance(settings, TenderSettings)
    return await bidding.upload_document(
        runtime.sessions,
        runtime.outbox,
        settings,
        clock_of(request),
        principal,
        package_id,
        request.stream(),
        name,
        content_type,
    )


@router.post("/bids", status_code=status.HTTP_201_CREATED, summary="Submit or replace the sealed bid (vendor)")
async def submit_bid(package_id: str, body: BidIn, reads: UserReads, writer: Writer, snapshots: Snapshots) -> Receipt:
    return await bidding.submit(reads, writer, snapshots, package_id, body)


@router.delete("/bids/mine", summary="Withdraw the bid before the deadline (vendor)")
async def withdraw_bid(package_id: str, ctx: UserCtx) -> Receipt:
    return await bidding.withdraw(ctx, package_id)


@router.get("/bids/mine", summary="The vendor's own bid receipt")
async def my_bid(package_id: str, ctx: UserReadCtx) -> Receipt:
    return await bidding.my_bid(ctx, package_id)
