"""Group commit for sealed bids: the deadline rush's writes, many bids to one transaction.

A bid is prepared (checked, sealed) in a read snapshot by its request; only the write is queued here. One
writer task takes every bid waiting and writes them together: it checks that each package's ``revision``
is still the one its bid was prepared from (on PostgreSQL holding a shared lock on the package rows, as a
single bid did, and locking the vendors' participant rows, so that no two writers, nor a withdrawal, take
the same bid as the one replaced), finds each vendor's bid being replaced, inserts the bid rows and their
outbox rows, and commits once. Each request answers only after that commit, so no bid is acknowledged that
is not stored.

On SQLite this turns the one-writer-at-a-time limit into one transaction per batch instead of one per bid;
the write lock is held for a handful of statements, not for every bid's reads between them. A bid whose
package changed meanwhile (a schedule changed, the submission window closed) comes back ``None`` and the
request prepares it again from the new state, which then accepts or refuses it. If a batch fails as a whole,
its bids are written one by one, so one bad bid cannot take others down with it. When the service stops,
bids still queued are answered 503 (send again); one whose commit was under way as the stop came may have been
stored all the same, and sending it again only replaces it (the vendor's receipt, ``GET .../bids/mine``, says).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eproc_shared.events.types import tender as ev
from eproc_shared.outbox import Outbox
from eproc_shared.problems import ProblemError
from eproc_tender.flows.participation import participation_problem
from eproc_tender.models import bids, packages, participants
from eproc_tender.schemas import Receipt

log = logging.getLogger(__name__)

#: (package, vendor, round) -> (bid id, withdrawn) of the latest bid
_Latest = dict[tuple[str, str, int], tuple[str, bool]]


@dataclass
class PreparedBid:
    """A sealed bid ready to store, and what its event needs besides the bid it replaces."""

    revision: int
    #: The package qualifies first (prakualifikasi): only invited vendors bid.
    needs_invitation: bool
    row: dict[str, Any]
    opd_id: str
    submitter_address: str | None
    document_digests: list[str]
    #: The request's trace context, so the event continues the request's trace.
    trace: dict[str, str]
    future: asyncio.Future[Receipt | None] = field(init=False, repr=False)

    @property
    def key(self) -> tuple[str, str, int]:
        return self.row["package_id"], self.row["vendor_id"], self.row["round"]

    def receipt(self) -> Receipt:
        r = self.row
        return Receipt(
            bid_id=r["id"],
            package_id=r["package_id"],
            vendor_id=r["vendor_id"],
            received_at=r["received_at"],
            receipt_sha256=r["receipt_sha256"],
        )

    def event(self, replaces: str | None) -> ev.TenderBidSubmittedV2:
        r = self.row
        return ev.TenderBidSubmittedV2(
            package_id=r["package_id"],
            opd_id=self.opd_id,
            vendor_id=r["vendor_id"],
            bid_id=r["id"],
            received_at=r["received_at"],
            receipt_sha256=r["receipt_sha256"],
            replaces_bid_id=replaces,
            round=r["round"],
            submitter_address=self.submitter_address,
            document_digests=self.document_digests,
        )


async def _revisions(session: AsyncSession, package_ids: set[str]) -> dict[str, int]:
    # A shared lock (PostgreSQL): the package cannot change until the bids are in, as with a single bid.
    stmt = select(packages.c.id, packages.c.revision).where(packages.c.id.in_(package_ids)).with_for_update(read=True)
    return {row.id: row.revision for row in (await session.execute(stmt)).all()}


async def _participants(session: AsyncSession, batch: list[PreparedBid]) -> dict[tuple[str, str], Any]:
    """The participant rows of the batch's vendors, by (package, vendor). Checked here, in the write, so that the
    read before it can take a vendor it saw registered before on trust. On PostgreSQL they are locked, in one
    order: two batches (other writers, other replicas) or a withdrawal with bids of one vendor then cannot both
    take the same bid as the one replaced."""
    c = participants.c
    stmt = select(c.package_id, c.vendor_id, c.prequalified).where(
        c.package_id.in_({b.row["package_id"] for b in batch}), c.vendor_id.in_({b.key[1] for b in batch})
    )
    if session.bind.dialect.name != "sqlite":
        stmt = stmt.order_by(c.package_id, c.vendor_id).with_for_update()
    return {(r.package_id, r.vendor_id): r._mapping for r in (await session.execute(stmt)).all()}


async def _latest(session: AsyncSession, keys: set[tuple[str, str, int]]) -> _Latest:
    """The latest bid of each (package, vendor, round) among ``keys``: two statements, whatever the batch size."""
    c = bids.c
    newest = (
        select(func.max(c.seq))
        .where(c.package_id.in_({k[0] for k in keys}), c.vendor_id.in_({k[1] for k in keys}))
        .group_by(c.package_id, c.vendor_id, c.round)
    )
    stmt = select(c.package_id, c.vendor_id, c.round, c.id, c.withdrawn).where(c.seq.in_(newest))
    rows = (await session.execute(stmt)).all()
    return {(r.package_id, r.vendor_id, r.round): (r.id, r.withdrawn) for r in rows if (r[0], r[1], r[2]) in keys}


async def write_bids(
    session: AsyncSession, outbox: Outbox, batch: list[PreparedBid]
) -> list[Receipt | ProblemError | None]:
    """Store the bids of ``batch`` in the session's transaction, in order. For each: its receipt; ``None`` if its
    package's revision moved since it was prepared; the problem if its vendor may not (or no longer) take part."""
    revisions = await _revisions(session, {b.row["package_id"] for b in batch})
    fresh = [b for b in batch if revisions.get(b.row["package_id"]) == b.revision]
    outcomes: dict[int, Receipt | ProblemError | None] = {}
    if fresh:
        entrants = await _participants(session, fresh)
        for bid in fresh:
            problem = participation_problem(entrants.get(bid.key[:2]), bid.needs_invitation)
            if problem is not None:
                outcomes[id(bid)] = problem
        fresh = [b for b in fresh if id(b) not in outcomes]
    latest = await _latest(session, {b.key for b in fresh}) if fresh else {}
    events = []
    for bid in fresh:
        previous = latest.get(bid.key)
        replaces = previous[0] if previous is not None and not previous[1] else None
        latest[bid.key] = (bid.row["id"], False)  # a later bid of the same vendor in this batch replaces this one
        package_id = bid.row["package_id"]
        _, row = outbox.row(bid.event(replaces), key=package_id, subject=package_id, trace=bid.trace)
        events.append(row)
    if fresh:
        await session.execute(insert(bids), [b.row for b in fresh])
        await outbox.add_rows(session, events)
    outcomes |= {id(b): b.receipt() for b in fresh}
    return [outcomes.get(id(b)) for b in batch]


class BidWriter:
    """The queue of prepared bids and the task(s) writing them in batches (see the module's note)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], outbox: Outbox, *, max_batch: int = 100, writers: int = 1
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.max_batch = max_batch
        self.writers = writers
        # One queue per writer, a vendor's bids always to the same one: they are written in the order they came.
        self._queues: list[asyncio.Queue[PreparedBid]] = [asyncio.Queue() for _ in range(writers)]
        self._tasks: list[asyncio.Task[None]] = []

    async def write(self, bid: PreparedBid) -> Receipt | None:
        """The bid's receipt once it is committed; ``None`` if its package changed since it was prepared."""
        if not any(not t.done() for t in self._tasks):
            raise ProblemError(503, "Service unavailable", "The service is stopping; send the bid again shortly.")
        bid.future = asyncio.get_running_loop().create_future()
        self._queues[hash(bid.key[:2]) % self.writers].put_nowait(bid)
        # The write goes on if the caller goes away: an accepted bid is stored; the vendor can read its receipt.
        return await asyncio.shield(bid.future)

    def start(self) -> list[asyncio.Task[None]]:
        self._tasks = [
            asyncio.create_task(self._run(queue), name=f"tender-bid-writer-{i}") for i, queue in enumerate(self._queues)
        ]
        return self._tasks

    async def _run(self, queue: asyncio.Queue[PreparedBid]) -> None:
        batch: list[PreparedBid] = []
        try:
            while True:
                batch = [await queue.get()]
                while len(batch) < self.max_batch and not queue.empty():
                    batch.append(queue.get_nowait())
                await self._write(batch)
                batch = []
        finally:
            # Stopping: nothing queued is written any more; each waiting request is told to send again.
            while not queue.empty():
                batch.append(queue.get_nowait())
            for bid in batch:
                if not bid.future.done():
                    bid.future.set_exception(
                        ProblemError(503, "Service unavailable", "The service is stopping; send the bid again.")
                    )

    async def _write(self, batch: list[PreparedBid]) -> None:
        try:
            async with self.sessions() as session, session.begin():
                results = await write_bids(session, self.outbox, batch)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if len(batch) > 1:
                log.warning("a batch of %d bids failed (%s); writing them one by one", len(batch), exc)
                for bid in batch:
                    await self._write([bid])
                return
            if not batch[0].future.done():
                batch[0].future.set_exception(exc)
            return
        for bid, result in zip(batch, results, strict=True):
            if bid.future.done():
                continue
            if isinstance(result, ProblemError):
                bid.future.set_exception(result)
            else:
                bid.future.set_result(result)
