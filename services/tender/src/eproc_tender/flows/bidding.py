"""Sealed bids: documents, submission, replacement, withdrawal, receipts.

The submission path is the one that must hold the deadline rush. A bid is prepared in a read snapshot (the
package, what time did to it, the participant, its documents; then sealed) without the write lock, and written
by :mod:`eproc_tender.flows.bid_writer` in a group commit with the other bids waiting, each with its outbox row.
Bids are append-only (a replacement or withdrawal is a new row), so an accepted bid is never overwritten or lost.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eproc_shared.events.types import tender as ev
from eproc_shared.outbox import Outbox
from eproc_shared.problems import FieldProblem, ProblemError
from eproc_shared.telemetry import current_trace_headers
from eproc_tender.clock import Clock
from eproc_tender.domain import DomainError
from eproc_tender.domain.machine import Action, Status
from eproc_tender.domain.rules import EnvelopeSystem, Qualification
from eproc_tender.domain.sealing import document_digest, seal, sha256_hex
from eproc_tender.flows.bid_writer import BidWriter, PreparedBid
from eproc_tender.flows.files import store_sealed
from eproc_tender.flows.participation import require_participant, vendor_of
from eproc_tender.models import bid_documents, bids, opened_bids, participants
from eproc_tender.schemas import BidDocumentReceipt, BidIn, Receipt
from eproc_tender.settings import TenderSettings
from eproc_tender.store import Ctx, PackageSnapshots, act, emit, get_package, peek


def envelope_aad(package_id: str, vendor_id: str, envelope: str) -> bytes:
    # Binds a sealed envelope to its package, vendor and role: it cannot be replayed onto another bid.
    return f"{package_id}|{vendor_id}|{envelope}".encode()


def document_aad(package_id: str, vendor_id: str, document_id: str) -> bytes:
    return f"{package_id}|{vendor_id}|document|{document_id}".encode()


async def upload_document(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    settings: TenderSettings,
    clock: Clock,
    principal: Any,
    package_id: str,
    chunks: AsyncIterator[bytes],
    name: str,
    content_type: str,
) -> BidDocumentReceipt:
    """Checks in a short transaction, streams without holding one (so a slow upload never blocks the deadline's
    writers), then records the document in a second short transaction judged at the time the upload ended."""

    async def check(now: datetime) -> tuple[str, bytes]:
        async with sessions() as session, session.begin():
            ctx = Ctx(session=session, outbox=outbox, settings=settings, now=now, principal=principal)
            vendor_id = vendor_of(ctx)
            pkg, _ = await act(ctx, package_id, Action.SUBMIT_BID, shared=True)
            await require_participant(ctx, package_id, vendor_id)
            return vendor_id, pkg["public_key"]

    vendor_id, public_key = await check(clock.now())
    document_id = str(uuid.uuid4())
    path = Path(settings.storage_dir) / "bids" / package_id / f"{document_id}.sealed"
    sealer = await store_sealed(chunks, path, settings.max_document_bytes)
    meta = {
        "data_key": sealer.data_key.hex(),
        "name": name,
        "content_type": content_type,
        "plain_sha256": sealer.plain_hash.hexdigest(),
    }
    sealed_meta = seal(public_key, json.dumps(meta).encode(), document_aad(package_id, vendor_id, document_id))
    cipher_hash = sealer.cipher_hash.hexdigest()
    # Only the keyed digest rests beside the document: a bare plaintext hash would let whoever reads the table
    # or the internal topic test guessed files before opening.
    digest = document_digest(settings.kek_bytes(), package_id, sealer.plain_hash.digest())
    try:
        await check(clock.now())
        async with sessions() as session, session.begin():
            await session.execute(
                insert(bid_documents).values(
                    id=document_id,
                    package_id=package_id,
                    vendor_id=vendor_id,
                    size=sealer.size,
                    cipher_sha256=cipher_hash,
                    plain_digest=digest,
                    sealed_meta=sealed_meta,
                    path=str(path),
                    uploaded_at=clock.now(),
                )
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return BidDocumentReceipt(
        document_id=document_id, size=sealer.size, cipher_sha256=cipher_hash, plain_sha256=meta["plain_sha256"]
    )


async def _documents(
    ctx: Ctx, package_id: str, vendor_id: str, ids: list[str], field: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The listed documents as the sealed envelope lists them (id, ciphertext hash, size), and their keyed
    plaintext digests in the same order (kept out of the envelope, whose format opening reads)."""
    if not ids:
        return [], []
    if len(set(ids)) != len(ids):
        raise DomainError("duplicate-document", "A document is listed twice.", field=field)
    stmt = select(
        bid_documents.c.id, bid_documents.c.cipher_sha256, bid_documents.c.size, bid_documents.c.plain_digest
    ).where(
        bid_documents.c.id.in_(ids), bid_documents.c.package_id == package_id, bid_documents.c.vendor_id == vendor_id
    )
    found = {r["id"]: dict(r) for r in (await ctx.session.execute(stmt)).mappings()}
    for index, document_id in enumerate(ids):
        if document_id not in found:
            raise DomainError(
                "unknown-document", "No such document of yours for this package.", field=f"{field}.{index}"
            )
    digests = [found[i].pop("plain_digest") or "" for i in ids]
    return [found[i] for i in ids], digests


def bid_round(status: Status) -> int:
    return 2 if status is Status.SECOND_STAGE else 1


async def require_second_stage_invitation(ctx: Ctx, package_id: str, vendor_id: str) -> None:
    stmt = select(opened_bids.c.judgement).where(
        opened_bids.c.package_id == package_id, opened_bids.c.vendor_id == vendor_id
    )
    judgement = (await ctx.session.execute(stmt)).scalar_one_or_none() or {}
    if not (judgement.get("administrative_passed") and judgement.get("technical_passed")):
        raise ProblemError(
            403, "Forbidden", "Only bidders who passed the first stage send a second offer.", slug="not-invited"
        )


async def prepare(ctx: Ctx, package_id: str, body: BidIn, snapshots: PackageSnapshots | None = None) -> PreparedBid:
    """Everything a bid needs before it is written, read in ``ctx``'s snapshot (no write lock): the package and
    what time did to it, the participant, the listed documents; then both envelopes sealed. The write
    (:mod:`eproc_tender.flows.bid_writer`) stores it only if the package's revision is still the one read here,
    and checks the participant again. With ``snapshots`` keeping the package and the vendor, and no documents
    listed, nothing is read from the database here at all (the session opens no connection).
    """
    vendor_id = vendor_of(ctx)
    pkg, status = await peek(ctx, package_id, Action.SUBMIT_BID, snapshots)
    if snapshots is None or not snapshots.is_entrant(package_id, vendor_id):
        await require_participant(ctx, package_id, vendor_id, pkg)
        if snapshots is not None:
            snapshots.add_entrant(package_id, vendor_id)
    round_ = bid_round(status)
    if round_ == 2:
        await require_second_stage_invitation(ctx, package_id, vendor_id)
    if pkg["envelope_system"] == EnvelopeSystem.TWO_STAGE and round_ == 1:
        # The first stage of a two-stage package is the administrative and technical offer only.
        for name, value in (
            ("price", body.price),
            ("items", body.items),
            ("price_document_ids", body.price_document_ids),
        ):
            if value:
                raise DomainError(
                    "price-in-first-stage",
                    "The first stage takes no price: it comes with the second offer.",
                    field=name,
                )
    elif body.price is None:
        raise DomainError("price-required", "A bid states its price.", field="price")
    if body.items and sum(i.quantity * i.unit_price for i in body.items) <= 0:
        raise DomainError("items-empty", "Priced items add up to nothing.", field="items")
    technical_docs, technical_digests = await _documents(
        ctx, package_id, vendor_id, body.technical_document_ids, "technical_document_ids"
    )
    price_docs, price_digests = await _documents(
        ctx, package_id, vendor_id, body.price_document_ids, "price_document_ids"
    )
    if {d["id"] for d in technical_docs} & {d["id"] for d in price_docs}:
        raise DomainError("document-in-both", "A document belongs to one envelope only.", field="price_document_ids")
    technical = json.dumps({"declaration": body.declaration, "documents": technical_docs}).encode()
    price = json.dumps(
        {"price": body.price, "items": [i.model_dump() for i in body.items], "documents": price_docs}
    ).encode()
    technical_sealed = seal(pkg["public_key"], technical, envelope_aad(package_id, vendor_id, "technical"))
    price_sealed = seal(pkg["public_key"], price, envelope_aad(package_id, vendor_id, "price"))
    return PreparedBid(
        revision=pkg["revision"],
        needs_invitation=Qualification(pkg["qualification"]) is Qualification.PRA,
        row={
            "id": str(uuid.uuid4()),
            "package_id": package_id,
            "vendor_id": vendor_id,
            "withdrawn": False,
            "round": round_,
            "received_at": ctx.now,
            "technical_sealed": technical_sealed,
            "price_sealed": price_sealed,
            "receipt_sha256": sha256_hex(technical_sealed + price_sealed),
        },
        opd_id=pkg["opd_id"],
        submitter_address=ctx.client_address,
        document_digests=technical_digests + price_digests,
        trace=current_trace_headers(),
    )


#: How often a bid is prepared again when its package keeps changing under it before the write.
PREPARE_ATTEMPTS = 5


async def submit(
    read: Callable[[], AbstractAsyncContextManager[Ctx]],
    writer: BidWriter,
    snapshots: PackageSnapshots,
    package_id: str,
    body: BidIn,
) -> Receipt:
    """Prepare the bid in a read snapshot from ``read`` (the package as ``snapshots`` keeps it, if it does), then
    have ``writer`` store it (in a group commit). If the package changed in between, prepare it again from the
    database: from the new state it is accepted or refused as it deserves. The time that counts stays the
    request's (``Ctx.now``)."""
    for _ in range(PREPARE_ATTEMPTS):
        async with read() as ctx:
            prepared = await prepare(ctx, package_id, body, snapshots)
        receipt = await writer.write(prepared)
        if receipt is not None:
            return receipt
        snapshots.drop(package_id)
    raise ProblemError(
        503, "Service unavailable", "The package kept changing while the bid was written; send it again."
    )


async def lock_participant(ctx: Ctx, package_id: str, vendor_id: str) -> None:
    """PostgreSQL: the vendor's bids are written one change at a time (the bid writer takes the same lock)."""
    c = participants.c
    stmt = select(c.vendor_id).where(c.package_id == package_id, c.vendor_id == vendor_id).with_for_update()
    await ctx.session.execute(stmt)


async def latest_bid(ctx: Ctx, package_id: str, vendor_id: str, round_: int | None = None) -> RowMapping | None:
    stmt = (
        select(bids.c.id, bids.c.withdrawn, bids.c.received_at, bids.c.receipt_sha256, bids.c.vendor_id)
        .where(bids.c.package_id == package_id, bids.c.vendor_id == vendor_id)
        .order_by(bids.c.seq.desc())
        .limit(1)
    )
    if round_ is not None:
        stmt = stmt.where(bids.c.round == round_)
    return (await ctx.session.execute(stmt)).mappings().first()


async def withdraw(ctx: Ctx, package_id: str) -> Receipt:
    vendor_id = vendor_of(ctx)
    pkg, status = await act(ctx, package_id, Action.WITHDRAW_BID, shared=True)
    await lock_participant(ctx, package_id, vendor_id)
    round_ = bid_round(status)
    current = await latest_bid(ctx, package_id, vendor_id, round_)
    if current is None or current["withdrawn"]:
        raise ProblemError(404, "Not found", "You have no bid to withdraw.", slug="not-found")
    bid_id = str(uuid.uuid4())
    await ctx.session.execute(
        insert(bids).values(
            id=bid_id, package_id=package_id, vendor_id=vendor_id, withdrawn=True, round=round_, received_at=ctx.now
        )
    )
    await emit(
        ctx,
        package_id,
        ev.TenderBidWithdrawn(package_id=package_id, opd_id=pkg["opd_id"], vendor_id=vendor_id, withdrawn_at=ctx.now),
    )
    return Receipt(
        bid_id=bid_id,
        package_id=package_id,
        vendor_id=vendor_id,
        received_at=ctx.now,
        receipt_sha256="",
        withdrawn=True,
    )


async def my_bid(ctx: Ctx, package_id: str) -> Receipt:
    """The vendor's own receipt (what was sealed stays sealed, to the vendor too, until opening)."""
    vendor_id = vendor_of(ctx)
    await get_package(ctx.session, package_id)
    current = await latest_bid(ctx, package_id, vendor_id)
    if current is None:
        raise ProblemError(404, "Not found", "You have no bid for this package.", slug="not-found")
    return Receipt(
        bid_id=current["id"],
        package_id=package_id,
        vendor_id=vendor_id,
        received_at=current["received_at"],
        receipt_sha256=current["receipt_sha256"] or "",
        withdrawn=current["withdrawn"],
    )


async def participant_names(ctx: Ctx, package_id: str) -> dict[str, RowMapping]:
    rows = (await ctx.session.execute(select(participants).where(participants.c.package_id == package_id))).mappings()
    return {r["vendor_id"]: r for r in rows}


def bad(field: str, message: str) -> ProblemError:
    return ProblemError(
        422,
        "Invalid request",
        message,
        slug="validation",
        errors=[FieldProblem(field=field, location="query", message=message, code="invalid")],
    )
