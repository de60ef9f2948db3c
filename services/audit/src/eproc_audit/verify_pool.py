"""Worker processes that check the hash chain in segments, for :func:`eproc_audit.verification.verify_chain`.

One Python thread must both read the entries and hash them, and on SQLite reading costs about as much
as hashing; ``hashlib`` keeps the GIL for inputs under 2 KiB, so threads do not help. Processes do:
entries 1 to head are cut into contiguous segments (a few per worker), and a worker opens its own engine
on the same database and links a segment exactly as the single walk does (ranges of at most
``batch_size``), starting from the *stored* hash of the entry just before the segment (the zero hash for
the first).

Why the segments prove the whole chain: a worker compares every digest it computes with the stored hash,
so when segment k-1 checks out, the stored hash of its last entry *is* the chain's hash there; segment k
started from that stored hash, and the parent also checks that the hash segment k started from is the one
segment k-1 ended on (they were read in different transactions). Every range must hold as many rows as
numbers, as in the walk. So every segment checking out, joined, is the walk checking out. When anything
does not check out the caller runs the single walk, which names the first bad entry; the segments only
ever say "all intact".

The pool is created lazily (no process starts until a log of at least two segments is verified), kept
warm for the next verification, and closed by its owner: the service on shutdown, the CLI when done. Worker
processes are *spawned*, never forked: the service runs threads (aiosqlite runs each connection in one)
whose locks a fork would copy in whatever state they are in.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import pairwise

from sqlalchemy import URL, select
from sqlalchemy.ext.asyncio import AsyncEngine

from eproc_audit.canonical import GENESIS
from eproc_audit.models import log_entries
from eproc_audit.verification import link_chain_only, link_deep, read_range, tune
from eproc_shared.db import create_engine

log = logging.getLogger(__name__)


def shareable(url: URL) -> bool:
    """Whether other processes reach the same database through ``url``: not an in-memory SQLite database."""
    if url.get_backend_name() != "sqlite":
        return True
    database = url.database or ""
    return database not in ("", ":memory:") and "mode=memory" not in database and url.query.get("mode") != "memory"


# Segments per worker: a worker that finishes early takes the next one, so a core busy with something else
# (another service, another verification) slows the check by its share rather than holding up half of it.
SEGMENTS_PER_WORKER = 4
# Workers that die this many times in a row (out of memory, or a program that starts the pool from an
# unguarded main module, which every spawned worker then re-runs) are not started again.
GIVE_UP_AFTER = 3
# A segment costs a task round trip and one extra query (well under a millisecond): below this many entries
# (or one range, if that is smaller) it is not worth it.
SMALLEST_SEGMENT = 1000


def plan_segments(head_seq: int, smallest: int, parts: int) -> list[tuple[int, int]]:
    """Entries 1 to ``head_seq`` as at most ``parts`` contiguous segments of about equal length, each of at
    least ``smallest`` entries; fewer than two is no plan."""
    parts = min(parts, head_seq // max(1, smallest))
    if parts < 2:
        return []
    starts = [1 + head_seq * k // parts for k in range(parts)] + [head_seq + 1]
    return [(starts[k], starts[k + 1] - 1) for k in range(parts)]


@dataclass(frozen=True)
class SegmentCheck:
    """What one worker found in entries ``first`` to ``last``."""

    first: int
    last: int
    ok: bool  # every range had as many rows as numbers and every entry linked (and, deep, matched its columns)
    start_hash: str  # the stored hash it started from (of entry first - 1; the zero hash for entry 1)
    end_hash: str  # the hash of its last entry as computed (when ok)
    entries: int
    bytes_hashed: int


class _Worker:
    """A worker process's event loop and engine, kept from one segment to the next (a new loop, engine and
    connection cost a few milliseconds a segment); the engine keeps one idle connection while the pool
    lives, and is replaced when a segment names another database."""

    loop: asyncio.AbstractEventLoop | None = None
    url: str | None = None
    engine: AsyncEngine | None = None

    @classmethod
    async def engine_for(cls, url: str) -> AsyncEngine:
        if cls.engine is None or cls.url != url:
            if cls.engine is not None:
                with suppress(Exception):  # e.g. a test's database, dropped since
                    await cls.engine.dispose()
            cls.engine, cls.url = create_engine(url, pool_size=1), url
        return cls.engine


def check_segment(url: str, first: int, last: int, batch_size: int, deep: bool) -> SegmentCheck:
    """Runs in a worker process."""
    if _Worker.loop is None:
        _Worker.loop = asyncio.new_event_loop()
    return _Worker.loop.run_until_complete(_check_segment(url, first, last, batch_size, deep))


async def _check_segment(url: str, first: int, last: int, batch_size: int, deep: bool) -> SegmentCheck:
    engine = await _Worker.engine_for(url)
    async with engine.connect() as conn:
        if not conn.info.get("tuned"):
            await tune(conn)
            conn.info["tuned"] = True
        prev = GENESIS
        if first > 1:
            async with conn.begin():
                stored = await conn.scalar(select(log_entries.c.hash).where(log_entries.c.seq == first - 1))
            try:
                prev = bytes.fromhex(stored)
            except (TypeError, ValueError):
                return SegmentCheck(first, last, False, str(stored), "", 0, 0)
        start_hash, entries, hashed = prev.hex(), 0, 0
        for low in range(first, last + 1, batch_size):
            high = min(last, low + batch_size - 1)
            rows = await read_range(conn, low, high, deep=deep)
            if len(rows) != high - low + 1:
                return SegmentCheck(first, last, False, start_hash, "", entries, hashed)
            if deep:
                prev, good, n, _ = link_deep(prev, low, rows)
            else:
                prev, good, n = link_chain_only(prev, low, rows)
            entries, hashed = entries + good, hashed + n
            if good < len(rows):
                return SegmentCheck(first, last, False, start_hash, "", entries, hashed)
        return SegmentCheck(first, last, True, start_hash, prev.hex(), entries, hashed)


@dataclass(frozen=True)
class ChainCheck:
    intact: bool  # every segment checked out and each started where the one before ended
    end_hash: str  # the chain's hash at the last entry (when intact)
    entries: int
    bytes_hashed: int
    segments: tuple[SegmentCheck, ...]


@dataclass
class PoolStats:
    """Counts since the pool was made (what a test or an operator can look at)."""

    runs: int = 0
    segments: int = 0
    clean_segments: int = 0
    broken: int = 0  # times the workers died since the last check that completed
    last: tuple[SegmentCheck, ...] = field(default=())


class VerifierPool:
    """``workers`` processes checking chain segments; started on first use, kept until :meth:`close`."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("a verifier pool needs at least one worker")
        self.workers = workers
        self.stats = PoolStats()
        self._executor: ProcessPoolExecutor | None = None

    def segments(self, url: URL, head_seq: int, batch_size: int) -> list[tuple[int, int]]:
        """The segments to check in parallel, or none (then verify in one process)."""
        if self.workers < 2 or not shareable(url) or self.stats.broken >= GIVE_UP_AFTER:
            return []
        return plan_segments(head_seq, min(batch_size, SMALLEST_SEGMENT), self.workers * SEGMENTS_PER_WORKER)

    async def check(
        self, url: URL, segments: list[tuple[int, int]], *, batch_size: int, deep: bool
    ) -> ChainCheck | None:
        """Checks the segments, each worker taking the next one when done. ``None`` if the pool broke (a worker
        died): the caller then verifies in one process, and the next call starts new workers."""
        loop = asyncio.get_running_loop()
        target = url.render_as_string(hide_password=False)
        try:
            executor = self._start()
            futures = [
                loop.run_in_executor(executor, check_segment, target, first, last, batch_size, deep)
                for first, last in segments
            ]
            found = tuple(await asyncio.gather(*futures))
        except BrokenExecutor:
            self.stats.broken += 1
            log.warning(
                "a chain verification worker died; verifying in one process%s",
                " from now on" if self.stats.broken >= GIVE_UP_AFTER else "",
                exc_info=True,
            )
            self._discard()
            return None
        self.stats.broken = 0
        self.stats.runs += 1
        self.stats.segments += len(found)
        self.stats.clean_segments += sum(s.ok for s in found)
        self.stats.last = found
        joined = all(later.start_hash == earlier.end_hash for earlier, later in pairwise(found))
        return ChainCheck(
            intact=all(s.ok for s in found) and joined and found[0].start_hash == GENESIS.hex(),
            end_hash=found[-1].end_hash,
            entries=sum(s.entries for s in found),
            bytes_hashed=sum(s.bytes_hashed for s in found),
            segments=found,
        )

    @property
    def processes(self) -> list[int]:
        """Process ids of the running workers (none before the first use or after :meth:`close`)."""
        executor = self._executor
        return sorted(getattr(executor, "_processes", None) or {}) if executor is not None else []

    def close(self) -> None:
        """Stops the workers (after the segments they are checking); the pool starts new ones if used again."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self._executor

    def _discard(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
