"""Recomputes the hash chain from the database and reports the first bad entry.

It streams: entries are read in keyset batches (``seq > last ORDER BY seq LIMIT n``), each batch
in its own short read-only transaction, so memory stays flat whatever the log's length and
verification never blocks the appender. What it finds:

- a changed entry (its bytes no longer give its stored hash, or the next entry's link breaks);
- a deleted entry (a gap in the sequence; a deleted tail shows against the head row and against
  any signed checkpoint beyond the end);
- an inserted or re-ordered entry (the hash binds the previous hash and the sequence number);
- query columns that disagree with the hashed bytes (``deep``: a changed ``package_id`` would
  hide an event from a timeline);
- a checkpoint whose signature is bad or whose head hash is not the chain's hash at that entry
  (this is what catches a log rewritten *with* recomputed hashes).

Speed: per entry, one SHA-256 over ``prev || seq || canonical`` of bytes read as stored; nothing
is re-serialised. ``deep`` adds a JSON parse per entry; ``chain_only`` is the mode to compare with
raw SHA-256 over the same bytes (``bytes_hashed`` in the report).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eproc_audit.canonical import GENESIS
from eproc_audit.models import checkpoints, log_entries, log_head, signing_keys
from eproc_audit.refs import derive
from eproc_audit.signing import verify_checkpoint

Problem = Literal[
    "hash_mismatch",
    "missing_entries",
    "index_mismatch",
    "checkpoint_mismatch",
    "checkpoint_signature",
    "checkpoint_unknown_key",
    "truncated",
    "head_mismatch",
]

INDEX_COLUMNS = [c for c in log_entries.c if c.name not in ("seq", "hash", "canonical")]


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


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


async def _keyset(
    sessions: async_sessionmaker[AsyncSession], columns: list[Any], keys: list[Any], upto: int, batch: int
) -> AsyncIterator[Any]:
    """Rows in ascending order of ``keys`` (unique together; the first is a sequence number <= ``upto``)."""
    after: tuple[Any, ...] | None = None
    while True:
        stmt = select(*columns).where(keys[0] <= upto).order_by(*keys).limit(batch)
        if after is not None:
            stmt = stmt.where(tuple_(*keys) > tuple_(*after))
        async with sessions() as session:
            rows = (await session.execute(stmt)).all()
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = tuple(rows[-1]._mapping[key.key] for key in keys)


async def verify_chain(
    sessions: async_sessionmaker[AsyncSession], *, batch_size: int = 2000, deep: bool = True
) -> VerificationReport:
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        # One snapshot: a checkpoint is only ever made from a committed head, so one beyond it means a cut tail.
        head = (await session.execute(select(log_head.c.seq, log_head.c.hash).where(log_head.c.id == 1))).one()
        last_checkpoint = await session.scalar(select(func.max(checkpoints.c.seq)))
        keys = {row.key_id: row.public_jwk for row in (await session.execute(select(signing_keys))).all()}
    state = {"entries": 0, "checkpoints": 0, "bytes": 0}

    def report(bad: BadEntry | None) -> VerificationReport:
        return VerificationReport(
            ok=bad is None,
            head_seq=head.seq,
            head_hash=head.hash,
            entries_checked=state["entries"],
            checkpoints_checked=state["checkpoints"],
            bytes_hashed=state["bytes"],
            mode="deep" if deep else "chain_only",
            first_bad=bad,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    if last_checkpoint is not None and last_checkpoint > head.seq:
        return report(
            BadEntry(
                seq=head.seq + 1,
                problem="truncated",
                detail=f"a signed checkpoint covers entry {last_checkpoint} but the log's head is entry {head.seq}",
            )
        )
    cps = _keyset(
        sessions,
        [
            checkpoints.c.seq,
            checkpoints.c.id,
            checkpoints.c.head_hash,
            checkpoints.c.signed_at,
            checkpoints.c.key_id,
            checkpoints.c.signature,
        ],
        [checkpoints.c.seq, checkpoints.c.id],
        head.seq,
        batch_size,
    )
    next_cp = await anext(cps, None)
    columns = [log_entries.c.seq, log_entries.c.hash, log_entries.c.canonical, *(INDEX_COLUMNS if deep else [])]
    prev, expected = GENESIS, 1
    sha256 = hashlib.sha256
    async for row in _keyset(sessions, columns, [log_entries.c.seq], head.seq, batch_size):
        seq, stored, canonical = row[0], row[1], row[2]
        if seq != expected:
            return report(
                BadEntry(seq=expected, problem="missing_entries", detail=f"entries {expected} to {seq - 1} are missing")
            )
        state["bytes"] += 40 + len(canonical)
        digest = sha256(prev + seq.to_bytes(8, "big") + canonical).digest()
        if digest.hex() != stored:
            return report(
                BadEntry(
                    seq=seq,
                    problem="hash_mismatch",
                    detail="the entry's bytes and the previous hash do not give its stored hash: this entry was "
                    "changed, or one was inserted, removed or moved just before it",
                )
            )
        if deep:
            derived = asdict(derive(json.loads(canonical)))
            for column, value in zip(INDEX_COLUMNS, row[3:], strict=True):
                if _utc(value) != _utc(derived[column.name]):
                    return report(
                        BadEntry(
                            seq=seq,
                            problem="index_mismatch",
                            detail=f"column {column.name} is {value!r} but the hashed event says "
                            f"{derived[column.name]!r}",
                        )
                    )
        while next_cp is not None and next_cp.seq == seq:
            jwk = keys.get(next_cp.key_id)
            if jwk is None:
                return report(
                    BadEntry(seq=seq, problem="checkpoint_unknown_key", detail=f"unknown key {next_cp.key_id}")
                )
            if not verify_checkpoint(
                jwk,
                seq=next_cp.seq,
                head_hash=next_cp.head_hash,
                signed_at=next_cp.signed_at,
                key_id=next_cp.key_id,
                signature=next_cp.signature,
            ):
                return report(
                    BadEntry(seq=seq, problem="checkpoint_signature", detail="the checkpoint's signature is invalid")
                )
            if next_cp.head_hash != stored:
                return report(
                    BadEntry(
                        seq=seq,
                        problem="checkpoint_mismatch",
                        detail=f"the checkpoint signed {next_cp.signed_at} says the hash here was "
                        f"{next_cp.head_hash}; the chain gives {stored}: the log was rewritten up to here",
                    )
                )
            state["checkpoints"] += 1
            next_cp = await anext(cps, None)
        if next_cp is not None and next_cp.seq < seq:
            return report(
                BadEntry(
                    seq=next_cp.seq,
                    problem="checkpoint_mismatch",
                    detail=f"a checkpoint names entry {next_cp.seq}, which the chain does not hold in order",
                )
            )
        state["entries"] += 1
        prev, expected = digest, expected + 1
    if expected - 1 != head.seq:
        return report(
            BadEntry(
                seq=expected,
                problem="missing_entries",
                detail=f"the head says entry {head.seq} exists; entries {expected} to {head.seq} are missing",
            )
        )
    if prev.hex() != head.hash:
        return report(
            BadEntry(seq=head.seq, problem="head_mismatch", detail="the head row's hash is not the chain's last hash")
        )
    return report(None)
