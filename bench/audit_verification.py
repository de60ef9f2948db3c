"""Audit verification: the audit service's chain verification (eproc_audit.verification) versus raw SHA-256
over the same bytes (prev hash || seq || canonical entry, as the chain defines), same machine, same run.

A log of realistic entries (tender and contract events) is appended with the service's own writer into a
migrated SQLite database; then verified in `chain_only` mode (the hash chain, what the ratio compares) and
in `deep` mode (also re-derives every query column), and the same bytes are hashed in a plain loop (one
thread: the baseline is what one core does).

Verification runs as the service runs it: with a pool of the service's default number of worker processes
(AUDIT_VERIFY_WORKERS, the CPUs available) that check the chain in segments. The service keeps its pool
warm, so the figures that count are taken after one warm-up call; that first (cold) call, which starts the
worker processes, is timed and recorded too, and so is verification in one process (workers=1) for
comparison. For the record, it also times reading the rows alone (plain `sqlite3`, the same columns the
verifier reads): in one Python thread, verification costs about reading plus hashing."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import sqlite3
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import save, verdict
from sqlalchemy import insert, select, update

from eproc_audit.canonical import GENESIS, canonical_bytes, entry_document, entry_hash
from eproc_audit.log_writer import append
from eproc_audit.models import log_entries, log_head
from eproc_audit.refs import derive
from eproc_audit.settings import AuditSettings
from eproc_audit.verification import verify_chain
from eproc_audit.verify_pool import VerifierPool
from eproc_shared.consumer import RawEvent
from eproc_shared.db import create_engine, session_factory, upgrade

MIGRATIONS = Path(sys.modules["eproc_audit"].__file__).parent / "migrations"  # type: ignore[arg-type]


def event(index: int) -> RawEvent:
    package = f"pkg-{index // 20}"
    data = {
        "package_id": package,
        "vendor_id": f"vendor-{index % 97}",
        "opd_id": "dinas-pupr",
        "fiscal_year": 2026,
        "receipt_sha256": hashlib.sha256(str(index).encode()).hexdigest(),
        "received_at": datetime.now(UTC).isoformat(),
        "note": "Rehabilitasi saluran drainase " * 4,
    }
    value = json.dumps(data).encode()
    attributes = {
        "id": str(uuid.uuid4()),
        "source": "/eproc/tender",
        "type": "tender.bid_submitted.v1",
        "specversion": "1.0",
        "time": datetime.now(UTC).isoformat(),
        "subject": package,
        "datacontenttype": "application/json",
    }
    return RawEvent(
        id=attributes["id"],
        source=attributes["source"],
        type=attributes["type"],
        time=attributes["time"],
        subject=package,
        key=package,
        data=data,
        attributes=attributes,
        topic="eproc.tender.internal",
        partition=index % 6,
        offset=index,
        value=value,
    )


def entry_rows(start: int, stop: int) -> list[tuple[bytes, dict[str, Any]]]:
    """Canonical bytes and query columns of events ``start`` to ``stop - 1``, as the writer makes them (run in
    worker processes: pure-Python canonicalisation costs about 0.25 ms an entry)."""
    out = []
    for index in range(start, stop):
        raw = event(index)
        document = entry_document(
            attributes=raw.attributes,
            data=raw.data,
            value=raw.value,
            key=raw.key,
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            received_at=datetime.now(UTC),
        )
        canonical = canonical_bytes(document)
        out.append((canonical, derive(json.loads(canonical)).columns()))
    return out


async def build(url: str, entries: int, appended: int) -> float:
    """The first ``appended`` entries through the service's writer (timed: the appender's own rate), the rest
    computed with the same functions and inserted in bulk (the writer's one-transaction-per-event pace would
    make a large log take minutes to build); their canonical bytes are made in worker processes, and chained
    and inserted here in order."""
    engine = create_engine(url)
    await upgrade(engine, MIGRATIONS)
    sessions = session_factory(engine)
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        for index in range(appended):
            await append(session, event(index), datetime.now(UTC))
    append_s = time.perf_counter() - started
    async with sessions() as session, session.begin():
        head = (await session.execute(select(log_head.c.seq, log_head.c.hash).where(log_head.c.id == 1))).one()
        seq, prev = head.seq, bytes.fromhex(head.hash)
        starts = range(appended, entries, 5000)
        with ProcessPoolExecutor(mp_context=multiprocessing.get_context("spawn")) as executor:
            for chunk in executor.map(entry_rows, starts, [min(entries, start + 5000) for start in starts]):
                rows = []
                for canonical, columns in chunk:
                    seq += 1
                    prev = entry_hash(prev, seq, canonical)
                    rows.append({"seq": seq, "hash": prev.hex(), "canonical": canonical} | columns)
                await session.execute(insert(log_entries), rows)
        await session.execute(update(log_head).where(log_head.c.id == 1).values(seq=seq, hash=prev.hex()))
    await engine.dispose()
    return appended / append_s


async def measure(url: str, repeats: int, workers: int) -> dict[str, Any]:
    engine = create_engine(url)
    sessions = session_factory(engine, readonly=True)
    async with sessions() as session:
        rows = (
            await session.execute(select(log_entries.c.seq, log_entries.c.canonical).order_by(log_entries.c.seq))
        ).all()
    payloads = [(seq, bytes(canonical)) for seq, canonical in rows]
    del rows

    def raw() -> tuple[float, int, str]:
        started = time.perf_counter()
        prev, hashed = GENESIS, 0
        for seq, canonical in payloads:
            message = prev + seq.to_bytes(8, "big") + canonical
            hashed += len(message)
            prev = hashlib.sha256(message).digest()
        return time.perf_counter() - started, hashed, prev.hex()

    def read() -> float:
        database = url.split("///", 1)[1]
        started = time.perf_counter()
        with sqlite3.connect(database) as conn:
            conn.execute("SELECT hash, canonical FROM audit_log ORDER BY seq").fetchall()
        return time.perf_counter() - started

    async def verify(deep: bool, pool: VerifierPool | None) -> float:
        started = time.perf_counter()
        report = await verify_chain(sessions, deep=deep, pool=pool)
        seconds = time.perf_counter() - started
        assert report.ok, report.first_bad
        assert report.head_hash == head, "both computed the same chain"
        return seconds

    _, hashed, head = raw()
    pool = VerifierPool(workers)
    try:
        cold = await verify(False, pool)  # starts the worker processes, as a service's first verification does
        best: dict[str, float] = dict.fromkeys(("raw", "read", "chain_only", "chain_only_1_process"), float("inf"))
        for _ in range(repeats):
            best["raw"] = min(best["raw"], raw()[0])
            best["read"] = min(best["read"], read())
            best["chain_only"] = min(best["chain_only"], await verify(False, pool))
            best["chain_only_1_process"] = min(best["chain_only_1_process"], await verify(False, None))
        best["deep"] = await verify(True, pool)  # once: tens of times slower than chain_only
        segments = len(pool.stats.last)
    finally:
        pool.close()
    await engine.dispose()
    entries = len(payloads)
    return {
        "entries": entries,
        "bytes": hashed,
        "workers": workers,
        "segments": segments,
        "seconds": {k: round(v, 4) for k, v in best.items()},
        "entries_per_s": {k: round(entries / v) for k, v in best.items()},
        "mb_per_s": {k: round(hashed / v / 1e6, 1) for k, v in best.items()},
        "cold_first_call_s": round(cold, 4),
        "ratio_chain_only": round(best["raw"] / best["chain_only"], 3),
        "ratio_chain_only_1_process": round(best["raw"] / best["chain_only_1_process"], 3),
        "ratio_chain_only_cold": round(best["raw"] / cold, 3),
        "ratio_deep": round(best["raw"] / best["deep"], 3),
    }


async def profile(url: str) -> str:
    from pyinstrument import Profiler

    engine = create_engine(url)
    profiler = Profiler()
    profiler.start()
    await verify_chain(session_factory(engine, readonly=True), deep=False)
    profiler.stop()
    await engine.dispose()
    return profiler.output_text(unicode=True, color=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--workers", type=int, default=None, help="verifier processes (default: the service's, AUDIT_VERIFY_WORKERS)"
    )
    parser.add_argument(
        "--profile", type=Path, help="write a pyinstrument profile of one chain_only verification in one process"
    )
    args = parser.parse_args()
    workers = args.workers or AuditSettings().verify_workers
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/audit.db"
        started = time.perf_counter()
        append_rate = asyncio.run(build(url, args.entries, min(args.entries, 2000)))
        build_s = time.perf_counter() - started
        result = asyncio.run(measure(url, args.repeats, workers))
        if args.profile:
            args.profile.parent.mkdir(parents=True, exist_ok=True)
            args.profile.write_text(asyncio.run(profile(url)))
            print(f"profile written to {args.profile}")
    result |= {"append_per_s": round(append_rate), "build_s": round(build_s, 1), "target_ratio": 0.5}

    def plot(figure: object) -> None:
        axes = figure.add_subplot(1, 1, 1)  # type: ignore[attr-defined]
        modes = ["raw", "chain_only", "chain_only_1_process", "deep"]
        labels = [
            "raw SHA-256\n(baseline, 1 thread)",
            f"verify chain_only\n({result['workers']} processes)",
            "verify chain_only\n(1 process)",
            f"verify deep\n({result['workers']} processes)",
        ]
        values = [result["entries_per_s"][m] for m in modes]  # type: ignore[index]
        axes.bar(labels, values, color=["grey", "tab:blue", "tab:purple", "tab:cyan"])
        axes.set_ylabel("entries per second")
        axes.set_title(f"Audit chain verification, {result['entries']} entries (ratio {result['ratio_chain_only']})")

    save("audit_verification", result, plot)
    workers = result["workers"]
    print("Audit verification")
    print(f"  {result['entries']} entries, {result['bytes'] / 1e6:.1f} MB hashed (log built in {result['build_s']} s)")
    print(f"  (the service's appender, one event per transaction: {result['append_per_s']} entries/s)")
    described = {
        "raw": "raw SHA-256 over the same bytes, one thread (baseline)",
        "read": "reading the rows alone, plain sqlite3, one thread",
        "chain_only": f"verify chain_only, {workers} worker processes (service default), warm pool",
        "chain_only_1_process": "verify chain_only, one process (workers=1)",
        "deep": f"verify deep, {workers} worker processes, warm pool (one run)",
    }
    for mode, what in described.items():
        rate, mb = result["entries_per_s"][mode], result["mb_per_s"][mode]
        print(f"  {rate:>9} entries/s {mb:>7} MB/s  {what}")
    print(
        f"  first (cold) call with {workers} workers, starting them: {result['cold_first_call_s']} s "
        f"(ratio {result['ratio_chain_only_cold']})"
    )
    print(verdict(f"ratio chain_only ({workers} processes, warm) / raw SHA-256", result["ratio_chain_only"], 0.5))
    print(f"  (one process: ratio {result['ratio_chain_only_1_process']}; deep: ratio {result['ratio_deep']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
