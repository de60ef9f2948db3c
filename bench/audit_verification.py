"""Audit verification: the audit service's chain verification (eproc_audit.verification) versus raw SHA-256
over the same bytes (prev hash || seq || canonical entry, as the chain defines), same machine, same run.

A log of realistic entries (tender and contract events) is appended with the service's own writer into a
migrated SQLite database; then verified in `chain_only` mode (the hash chain, what the ratio compares) and
in `deep` mode (also re-derives every query column), and the same bytes are hashed in a plain loop. For the
record, it also times reading the rows alone (plain `sqlite3`, the same columns the verifier reads): in one
Python thread, verification costs about reading plus hashing."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from common import save, verdict
from sqlalchemy import insert, select, update

from eproc_audit.canonical import GENESIS, canonical_bytes, entry_document, entry_hash
from eproc_audit.log_writer import append
from eproc_audit.models import log_entries, log_head
from eproc_audit.refs import derive
from eproc_audit.verification import verify_chain
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


async def build(url: str, entries: int, appended: int) -> float:
    """The first ``appended`` entries through the service's writer (timed: the appender's own rate), the rest
    computed with the same functions and inserted in bulk (the writer's one-transaction-per-event pace would
    make a large log take minutes to build)."""
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
        for start in range(appended, entries, 5000):
            rows = []
            for index in range(start, min(entries, start + 5000)):
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
                seq += 1
                prev = entry_hash(prev, seq, canonical)
                rows.append(
                    {"seq": seq, "hash": prev.hex(), "canonical": canonical} | derive(json.loads(canonical)).columns()
                )
            await session.execute(insert(log_entries), rows)
        await session.execute(update(log_head).where(log_head.c.id == 1).values(seq=seq, hash=prev.hex()))
    await engine.dispose()
    return appended / append_s


async def measure(url: str, repeats: int) -> dict[str, object]:
    engine = create_engine(url)
    sessions = session_factory(engine, readonly=True)
    async with sessions() as session:
        rows = (
            await session.execute(select(log_entries.c.seq, log_entries.c.canonical).order_by(log_entries.c.seq))
        ).all()
    payloads = [(seq, bytes(canonical)) for seq, canonical in rows]

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

    best: dict[str, float] = {
        "raw": float("inf"),
        "read": float("inf"),
        "chain_only": float("inf"),
        "deep": float("inf"),
    }
    hashed = 0
    for _ in range(repeats):
        seconds, hashed, head = raw()
        best["raw"] = min(best["raw"], seconds)
        best["read"] = min(best["read"], read())
        for mode, deep in (("chain_only", False), ("deep", True)):
            started = time.perf_counter()
            report = await verify_chain(sessions, deep=deep)
            best[mode] = min(best[mode], time.perf_counter() - started)
            assert report.ok, report.first_bad
            assert report.head_hash == head, "both computed the same chain"
    await engine.dispose()
    entries = len(payloads)
    return {
        "entries": entries,
        "bytes": hashed,
        "seconds": {k: round(v, 4) for k, v in best.items()},
        "entries_per_s": {k: round(entries / v) for k, v in best.items()},
        "mb_per_s": {k: round(hashed / v / 1e6, 1) for k, v in best.items()},
        "ratio_chain_only": round(best["raw"] / best["chain_only"], 3),
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
    parser.add_argument("--entries", type=int, default=30_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of one chain_only verification")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/audit.db"
        append_rate = asyncio.run(build(url, args.entries, min(args.entries, 2000)))
        result = asyncio.run(measure(url, args.repeats))
        if args.profile:
            args.profile.parent.mkdir(parents=True, exist_ok=True)
            args.profile.write_text(asyncio.run(profile(url)))
            print(f"profile written to {args.profile}")
    result |= {"append_per_s": round(append_rate), "target_ratio": 0.5}

    def plot(figure: object) -> None:
        axes = figure.add_subplot(1, 1, 1)  # type: ignore[attr-defined]
        modes = ["raw", "chain_only", "deep"]
        labels = ["raw SHA-256 (baseline)", "verify chain_only", "verify deep"]
        values = [result["entries_per_s"][m] for m in modes]  # type: ignore[index]
        axes.bar(labels, values, color=["grey", "tab:blue", "tab:cyan"])
        axes.set_ylabel("entries per second")
        axes.set_title(f"Audit chain verification, {result['entries']} entries (ratio {result['ratio_chain_only']})")

    save("audit_verification", result, plot)
    print("Audit verification")
    print(f"  {result['entries']} entries, {result['bytes'] / 1e6:.1f} MB hashed")
    print(f"  (the service's appender, one event per transaction: {result['append_per_s']} entries/s)")
    for mode in ("raw", "read", "chain_only", "deep"):
        print(f"  {mode:>10}: {result['entries_per_s'][mode]:>9} entries/s  {result['mb_per_s'][mode]:>7} MB/s")
    print(verdict("ratio chain_only / raw SHA-256", result["ratio_chain_only"], 0.5))
    print(f"  (deep mode, also re-deriving every query column: ratio {result['ratio_deep']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
