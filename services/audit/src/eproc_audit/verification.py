"""Recomputes the hash chain from the database and reports the first bad entry.

It streams: entries are read in ranges of sequence numbers (``seq BETWEEN first AND last ORDER BY
seq``, ``batch_size`` entries each), each range in its own short read-only transaction on one
connection, so memory stays flat whatever the log's length and verification never blocks the
appender. What it finds:

- a changed entry (its bytes no longer give its stored hash, or the next entry's link breaks);
- a deleted entry (a range holding fewer rows than numbers: a gap; a deleted tail shows against
  the head row and against any signed checkpoint beyond the end);
- an inserted or re-ordered entry (the hash binds the previous hash and the sequence number; an
  entry numbered below 1 lies outside the chain and is named as such);
- query columns that disagree with the hashed bytes (``deep``: a changed ``package_id`` would
  hide an event from a timeline);
- a checkpoint whose signature is bad or whose head hash is not the chain's hash at that entry
  (this is what catches a log rewritten *with* recomputed hashes).

Speed: per entry, one SHA-256 over ``prev || seq || canonical`` of the bytes as stored; nothing is
re-serialised. In ``chain_only`` the rows come from the driver as plain tuples of (hash, canonical)
(``eproc_audit.driver_rows``) and a range's sequence numbers are not even read: the primary key
makes them unique, so a range with as many rows as numbers holds each number once, in order, and
the hash binds each number. Only a range that does not check out is read again with its numbers,
to name the first bad entry exactly. ``deep`` adds a JSON parse per entry.

With a :class:`~eproc_audit.verify_pool.VerifierPool` of several processes, the chain is first checked in
contiguous segments by worker processes, each from the stored hash before it; only if that finds
something wrong does the single walk above run, so that the report names the first bad entry exactly as
it always did (``eproc_audit.verify_pool`` says why the segments prove the whole chain).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import URL, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from eproc_audit.canonical import GENESIS
from eproc_audit.driver_rows import fetch_rows
from eproc_audit.models import checkpoints, log_entries, log_head, signing_keys
from eproc_audit.refs import derive
from eproc_audit.signing import verify_checkpoint

if TYPE_CHECKING:
    from eproc_audit.verify_pool import VerifierPool

log = logging.getLogger(__name__)

Problem = Literal[
    "hash_mismatch",
    "missing_entries",
    "unexpected_entry",
    "index_mismatch",
    "checkpoint_mismatch",
    "checkpoint_signature",
    "checkpoint_unknown_key",
    "truncated",
    "head_mismatch",
]

INDEX_COLUMNS = [c for c in log_entries.c if c.name not in ("seq", "hash", "canonical")]
L = log_entries.c
SQLITE_MMAP_BYTES = 1 << 30


class BadEntry(BaseModel):
    seq: int = Field(description="The first log entry (sequence number) that does not check out.")
    problem: Problem
    detail: str


class VerificationReport(BaseModel):
    ok: bool
    head_seq: int = Field(description="The head verified against (read when verification began).")
    head_hash: str
    entries_checked: int
    checkpoints_checked: int
    bytes_hashed: int
    mode: Literal["deep", "chain_only"]
    first_bad: BadEntry | None = None
    elapsed_ms: float


class _Found(Exception):
    """The first bad entry: ends the walk."""

    def __init__(self, bad: BadEntry) -> None:
        self.bad = bad


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


HASH_MISMATCH = (
    "the entry's bytes and the previous hash do not give its stored hash: this entry was changed, or one was "
    "inserted, removed or moved just before it"
)


def link_chain_only(prev: bytes, seq: int, rows: Sequence[Sequence[Any]]) -> tuple[bytes, int, int]:
    """Links rows ``(hash, canonical)`` numbered from ``seq``: returns the last good hash, how many rows link
    and the bytes hashed. The hot loop: one SHA-256 and one comparison per row, nothing else."""
    sha256 = hashlib.sha256
    n = seq - 1
    hashed = 0
    for stored, canonical in rows:
        n += 1
        hashed += len(canonical)
        digest = sha256(prev + n.to_bytes(8, "big") + canonical).digest()
        if digest.hex() != stored:
            return prev, n - seq, hashed + 40 * (n - seq + 1)
        prev = digest
    return prev, n - seq + 1, hashed + 40 * (n - seq + 1)


def link_deep(prev: bytes, seq: int, rows: Sequence[Sequence[Any]]) -> tuple[bytes, int, int, BadEntry | None]:
    """As :func:`link_chain_only`, for rows ``(hash, canonical, *INDEX_COLUMNS)``; also re-derives the query
    columns from the hashed bytes."""
    hashed = 0
    for i, row in enumerate(rows):
        n, stored, canonical = seq + i, row[0], row[1]
        hashed += 40 + len(canonical)
        digest = hashlib.sha256(prev + n.to_bytes(8, "big") + canonical).digest()
        if digest.hex() != stored:
            return prev, i, hashed, BadEntry(seq=n, problem="hash_mismatch", detail=HASH_MISMATCH)
        derived = asdict(derive(json.loads(canonical)))
        for column, value in zip(INDEX_COLUMNS, row[2:], strict=True):
            if _utc(value) != _utc(derived[column.name]):
                detail = f"column {column.name} is {value!r} but the hashed event says {derived[column.name]!r}"
                return prev, i, hashed, BadEntry(seq=n, problem="index_mismatch", detail=detail)
        prev = digest
    return prev, len(rows), hashed, None


def entry_columns(*, deep: bool, with_seq: bool) -> list[Any]:
    return [*([L.seq] if with_seq else []), L.hash, L.canonical, *(INDEX_COLUMNS if deep else [])]


async def read_range(
    conn: AsyncConnection, first: int, last: int, *, deep: bool, with_seq: bool = False
) -> Sequence[Sequence[Any]]:
    """Entries ``first`` to ``last`` in order, in one short read-only transaction: ``(hash, canonical)``, plus the
    query columns when ``deep``, preceded by ``seq`` when ``with_seq``."""
    stmt = select(*entry_columns(deep=deep, with_seq=with_seq)).where(L.seq.between(first, last)).order_by(L.seq)
    async with conn.begin():
        if deep:
            # Dates and the like need SQLAlchemy's result processing; deep is bound by json.loads anyway.
            return (await conn.execute(stmt)).all()
        return await fetch_rows(conn, stmt)


@dataclass
class _Checkpoint:
    seq: int
    id: int
    head_hash: str
    signed_at: str
    key_id: str
    signature: str
    stored: str | None = None  # the log's hash at ``seq``, when asked for (``with_stored``)


async def _checkpoints(
    conn: AsyncConnection, upto: int, batch: int, *, with_stored: bool = False
) -> AsyncIterator[_Checkpoint]:
    """Checkpoints up to entry ``upto`` in (seq, id) order, in keyset batches (there is one per interval);
    ``with_stored`` also reads the log's hash at each checkpoint's entry."""
    c = checkpoints.c
    after: tuple[int, int] | None = None
    while True:
        stmt = (
            select(c.seq, c.id, c.head_hash, c.signed_at, c.key_id, c.signature, *([L.hash] if with_stored else []))
            .where(c.seq <= upto)
            .order_by(c.seq, c.id)
            .limit(batch)
        )
        if with_stored:
            stmt = stmt.select_from(checkpoints.outerjoin(log_entries, L.seq == c.seq))
        if after is not None:
            stmt = stmt.where(tuple_(c.seq, c.id) > tuple_(*after))
        async with conn.begin():
            rows = [_Checkpoint(*row) for row in (await conn.execute(stmt)).all()]
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = (rows[-1].seq, rows[-1].id)


class _Walk:
    """One verification: the chain walked range by range, checkpoints checked where they fall."""

    def __init__(self, head_seq: int, keys: dict[str, Any], cps: AsyncIterator[_Checkpoint], deep: bool) -> None:
        self.head_seq = head_seq
        self.keys = keys
        self.cps = cps
        self.deep = deep
        self.next_cp: _Checkpoint | None = None
        self.prev = GENESIS
        self.checked = 0
        self.checkpoints = 0
        self.bytes = 0

    async def start(self) -> None:
        self.next_cp = await anext(self.cps, None)

    async def rows(self, conn: AsyncConnection, first: int, last: int, *, with_seq: bool) -> Sequence[Sequence[Any]]:
        return await read_range(conn, first, last, deep=self.deep, with_seq=with_seq)

    async def range(self, conn: AsyncConnection, first: int, last: int) -> None:
        """Entries ``first`` to ``last`` (all exist if the log is intact); raises :class:`_Found`."""
        rows = await self.rows(conn, first, last, with_seq=False)
        if len(rows) == last - first + 1:
            await self.link(first, rows)
            return
        # Fewer rows than numbers: read the range again with its numbers to find the gap.
        numbered = await self.rows(conn, first, last, with_seq=True)
        present = [row[0] for row in numbered]
        gap = next((first + i for i, seq in enumerate(present) if seq != first + i), first + len(present))
        await self.link(first, [row[1:] for row in numbered[: gap - first]])
        following = next((seq for seq in present if seq > gap), None)
        if following is None:
            async with conn.begin():
                following = await conn.scalar(select(func.min(L.seq)).where(L.seq > gap, L.seq <= self.head_seq))
        if following is None:
            detail = f"the head says entry {self.head_seq} exists; entries {gap} to {self.head_seq} are missing"
        else:
            detail = f"entries {gap} to {following - 1} are missing"
        raise _Found(BadEntry(seq=gap, problem="missing_entries", detail=detail))

    async def link(self, first: int, rows: Sequence[Sequence[Any]]) -> None:
        """Entries ``first``, ``first + 1``, ... are ``rows``: check their links, then the checkpoints among
        them, in the order the entries come (an entry's own problem before its checkpoint's)."""
        bad: BadEntry | None = None
        if self.deep:
            prev, good, hashed, bad = link_deep(self.prev, first, rows)
        else:
            prev, good, hashed = link_chain_only(self.prev, first, rows)
            if good < len(rows):
                bad = BadEntry(seq=first + good, problem="hash_mismatch", detail=HASH_MISMATCH)
        self.bytes += hashed
        await self.checkpoints_upto(first, rows, first + good - 1)
        self.checked = first - 1 + good
        if bad is not None:
            raise _Found(bad)
        self.prev = prev

    async def checkpoints_upto(self, first: int, rows: Sequence[Sequence[Any]], last_good: int) -> None:
        while self.next_cp is not None and self.next_cp.seq <= last_good:
            cp = self.next_cp
            at = cp.seq
            # Every entry before this checkpoint checked out (an entry's own problem is raised after this).
            self.checked = max(first, at) - 1
            if at < first:
                detail = f"a checkpoint names entry {at}, which the chain does not hold in order"
                raise _Found(BadEntry(seq=at, problem="checkpoint_mismatch", detail=detail))
            bad = checkpoint_problem(cp, rows[at - first][0], self.keys)
            if bad is not None:
                raise _Found(bad)
            self.checkpoints += 1
            self.next_cp = await anext(self.cps, None)


def checkpoint_problem(cp: _Checkpoint, stored: str, keys: dict[str, Any]) -> BadEntry | None:
    """What is wrong with a checkpoint at an entry whose links check out and whose stored hash is ``stored``."""
    at = cp.seq
    jwk = keys.get(cp.key_id)
    if jwk is None:
        return BadEntry(seq=at, problem="checkpoint_unknown_key", detail=f"unknown key {cp.key_id}")
    fields = {"seq": at, "head_hash": cp.head_hash, "signed_at": cp.signed_at}
    if not verify_checkpoint(jwk, **fields, key_id=cp.key_id, signature=cp.signature):
        return BadEntry(seq=at, problem="checkpoint_signature", detail="the checkpoint's signature is invalid")
    if cp.head_hash != stored:
        detail = (
            f"the checkpoint signed {cp.signed_at} says the hash here was {cp.head_hash}; the chain gives "
            f"{stored}: the log was rewritten up to here"
        )
        return BadEntry(seq=at, problem="checkpoint_mismatch", detail=detail)
    return None


async def verify_chain(
    sessions: async_sessionmaker[AsyncSession],
    *,
    batch_size: int = 10_000,
    deep: bool = True,
    pool: VerifierPool | None = None,
) -> VerificationReport:
    """Verifies the log against its head as read now. ``pool``: worker processes that check the chain in
    segments first (``None``: everything in this process)."""
    started = time.perf_counter()
    async with sessions() as session:
        engine = session.bind  # (no connection is opened for this)
    assert isinstance(engine, AsyncEngine), "verify_chain needs sessions bound to one engine"
    # One connection for the whole walk, each read in its own short transaction.
    async with engine.connect() as conn:
        await tune(conn)
        async with conn.begin():
            # One snapshot: a checkpoint is only ever made from a committed head, so one beyond it means a cut tail.
            head = (await conn.execute(select(log_head.c.seq, log_head.c.hash).where(log_head.c.id == 1))).one()
            last_checkpoint = await conn.scalar(select(func.max(checkpoints.c.seq)))
            lowest = await conn.scalar(select(func.min(L.seq)))
            keys = {row.key_id: row.public_jwk for row in (await conn.execute(select(signing_keys))).all()}
        walk = _Walk(head.seq, keys, _checkpoints(conn, head.seq, batch_size), deep)
        intact = None
        if pool is not None and _before_walk(head.seq, last_checkpoint, lowest) is None:
            intact = await _in_segments(conn, pool, engine.url, head.seq, head.hash, keys, batch_size, deep)
        if intact is not None:
            bad = None
            walk.checked, walk.checkpoints, walk.bytes = intact
        else:
            bad = await _verify(conn, walk, head.seq, head.hash, last_checkpoint, lowest, batch_size)
    return VerificationReport(
        ok=bad is None,
        head_seq=head.seq,
        head_hash=head.hash,
        entries_checked=walk.checked,
        checkpoints_checked=walk.checkpoints,
        bytes_hashed=walk.bytes,
        mode="deep" if deep else "chain_only",
        first_bad=bad,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )


async def tune(conn: AsyncConnection) -> None:
    """SQLite: read the file through a memory map on this connection (fewer system calls and copies per page);
    the connection is the verifier's own, so nothing else is affected."""
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        await conn.commit()


async def _in_segments(
    conn: AsyncConnection,
    pool: VerifierPool,
    url: URL,
    head_seq: int,
    head_hash: str,
    keys: dict[str, Any],
    batch_size: int,
    deep: bool,
) -> tuple[int, int, int] | None:
    """(entries, checkpoints, bytes hashed) of a log the pool's processes found intact, checkpoints and head
    included. ``None`` when the single walk must run instead: the pool does not apply (one worker, a log of
    one range, an in-memory database), or something does not check out and the walk is to name it."""
    segments = pool.segments(url, head_seq, batch_size)
    if not segments:
        return None
    # The workers hash while this process checks the checkpoints' signatures against the stored hashes.
    chain_task = asyncio.ensure_future(pool.check(url, segments, batch_size=batch_size, deep=deep))
    try:
        checkpoints_ok = await _checkpoints_clear(conn, head_seq, keys, batch_size)
    except BaseException:
        chain_task.cancel()
        raise
    chain = await chain_task
    if chain is None:
        return None
    if not chain.intact or chain.end_hash != head_hash or checkpoints_ok is None:
        log.info("the audit log does not check out in segments; walking it in one process to name the first bad entry")
        return None
    return chain.entries, checkpoints_ok, chain.bytes_hashed


async def _checkpoints_clear(conn: AsyncConnection, upto: int, keys: dict[str, Any], batch: int) -> int | None:
    """How many checkpoints up to entry ``upto`` hold against the log's stored hashes, if all do; the segments
    check that those stored hashes are the chain's."""
    count = 0
    async with aclosing(_checkpoints(conn, upto, batch, with_stored=True)) as cps:
        async for cp in cps:
            if cp.seq < 1 or cp.stored is None or checkpoint_problem(cp, cp.stored, keys) is not None:
                return None
            count += 1
    return count


def _before_walk(head_seq: int, last_checkpoint: int | None, lowest: int | None) -> BadEntry | None:
    if last_checkpoint is not None and last_checkpoint > head_seq:
        detail = f"a signed checkpoint covers entry {last_checkpoint} but the log's head is entry {head_seq}"
        return BadEntry(seq=head_seq + 1, problem="truncated", detail=detail)
    if lowest is not None and lowest < 1:
        detail = f"an entry is numbered {lowest}, outside the chain (which starts at 1): it was inserted or renumbered"
        return BadEntry(seq=lowest, problem="unexpected_entry", detail=detail)
    return None


async def _verify(
    conn: AsyncConnection,
    walk: _Walk,
    head_seq: int,
    head_hash: str,
    last_checkpoint: int | None,
    lowest: int | None,
    batch_size: int,
) -> BadEntry | None:
    early = _before_walk(head_seq, last_checkpoint, lowest)
    if early is not None:
        return early
    try:
        await walk.start()
        for first in range(1, head_seq + 1, batch_size):
            await walk.range(conn, first, min(head_seq, first + batch_size - 1))
        if walk.next_cp is not None:
            at = walk.next_cp.seq
            detail = f"a checkpoint names entry {at}, which the chain does not hold in order"
            raise _Found(BadEntry(seq=at, problem="checkpoint_mismatch", detail=detail))
    except _Found as found:
        return found.bad
    if walk.prev.hex() != head_hash:
        return BadEntry(
            seq=head_seq, problem="head_mismatch", detail="the head row's hash is not the chain's last hash"
        )
    return None
