"""The chain checked in segments by worker processes, on SQLite and PostgreSQL.

An intact log verifies with the same report as the single walk. Whatever is wrong in the *second* segment
(a changed, deleted or missing entry, a rewritten tail only a checkpoint catches, a head that does not
match), the segments find it and the single walk then names the first bad entry: the report is exactly the
single walk's. Tampering is done with raw SQL, as someone with database access would.
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from audit_test_support import Chain, Issuer, LogDb
from sqlalchemy import make_url

from eproc_audit.canonical import canonical_bytes, entry_hash
from eproc_audit.main import create_app
from eproc_audit.settings import AuditSettings, default_workers
from eproc_audit.verification import VerificationReport, verify_chain
from eproc_audit.verify_pool import SegmentCheck, VerifierPool, plan_segments, shareable
from eproc_shared.auth import install_auth
from eproc_shared.db import session_factory
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import serve, start_group_at_end

BATCH = 4  # 13 entries in segments 1-4, 5-8 and 9-13 (at least a range each)


async def log_of_13(db: LogDb) -> Chain:
    """13 entries with signed checkpoints at 6 (second segment) and 10 (third)."""
    chain = Chain(db)
    await chain.add(6)
    await chain.checkpoint()
    await chain.add(4, prefix="MID")
    await chain.checkpoint()
    await chain.add(3, prefix="LATE")
    return chain


def same_but_time(report: VerificationReport) -> dict[str, Any]:
    return report.model_dump(exclude={"elapsed_ms"})


async def compare(db: LogDb, pool: VerifierPool, *, deep: bool, parallel_ran: bool = True) -> VerificationReport:
    """Verifies with one process (workers=1) and with the pool's two: the reports must be the same."""
    sessions = session_factory(db.engine, readonly=True)
    runs = pool.stats.runs
    single = await verify_chain(sessions, batch_size=BATCH, deep=deep)
    parallel = await verify_chain(sessions, batch_size=BATCH, deep=deep, pool=pool)
    assert pool.stats.runs == runs + (1 if parallel_ran else 0), "the segments were (not) checked in the workers"
    assert same_but_time(parallel) == same_but_time(single)
    return parallel


def found_in(pool: VerifierPool) -> list[tuple[int, int, bool]]:
    """What each segment of the last parallel check found."""
    return [(s.first, s.last, s.ok) for s in pool.stats.last]


def first_bad(report: VerificationReport) -> tuple[int, str]:
    assert report.first_bad is not None, report
    return report.first_bad.seq, report.first_bad.problem


@pytest.mark.parametrize("deep", [False, True], ids=["chain_only", "deep"])
async def test_an_intact_log_verifies_in_segments_with_the_single_walks_report(
    log_db: LogDb, verifier_pool: VerifierPool, deep: bool
) -> None:
    await log_of_13(log_db)
    report = await compare(log_db, verifier_pool, deep=deep)
    assert report.ok, report
    assert (report.entries_checked, report.checkpoints_checked, report.head_seq) == (13, 2, 13)
    assert found_in(verifier_pool) == [(1, 4, True), (5, 8, True), (9, 13, True)]
    segments = verifier_pool.stats.last
    for earlier, later in pairwise(segments):
        assert later.start_hash == earlier.end_hash, "each segment started from the hash the one before ended on"
    assert segments[-1].end_hash == report.head_hash
    assert sum(s.entries for s in segments) == 13
    assert sum(s.bytes_hashed for s in segments) == report.bytes_hashed


@pytest.mark.parametrize("deep", [False, True], ids=["chain_only", "deep"])
async def test_a_changed_entry_in_the_second_segment(log_db: LogDb, verifier_pool: VerifierPool, deep: bool) -> None:
    chain = await log_of_13(log_db)
    doc = json.loads(await chain.canonical(7))
    doc["event"]["data"]["vendor_id"] = "V-FRIEND"
    await log_db.sql("UPDATE audit_log SET canonical = :c WHERE seq = 7", c=canonical_bytes(doc))
    report = await compare(log_db, verifier_pool, deep=deep)
    assert (*first_bad(report), report.entries_checked, report.checkpoints_checked) == (7, "hash_mismatch", 6, 1)
    assert found_in(verifier_pool) == [(1, 4, True), (5, 8, False), (9, 13, True)]


async def test_a_changed_query_column_in_the_second_segment(log_db: LogDb, verifier_pool: VerifierPool) -> None:
    await log_of_13(log_db)
    await log_db.sql("UPDATE audit_log SET package_id = 'PKG-OTHER' WHERE seq = 8")
    report = await compare(log_db, verifier_pool, deep=True)
    assert first_bad(report) == (8, "index_mismatch")
    assert found_in(verifier_pool) == [(1, 4, True), (5, 8, False), (9, 13, True)]
    assert (await compare(log_db, verifier_pool, deep=False)).ok


async def test_a_deleted_entry_in_the_second_segment(log_db: LogDb, verifier_pool: VerifierPool) -> None:
    await log_of_13(log_db)
    await log_db.sql("DELETE FROM audit_log WHERE seq = 6")
    report = await compare(log_db, verifier_pool, deep=False)
    assert report.first_bad is not None
    missing = {"seq": 6, "problem": "missing_entries", "detail": "entries 6 to 6 are missing"}
    assert report.first_bad.model_dump() == missing
    assert found_in(verifier_pool) == [(1, 4, True), (5, 8, False), (9, 13, True)]


async def test_a_deleted_tail_against_the_head_and_then_the_checkpoints(
    log_db: LogDb, verifier_pool: VerifierPool
) -> None:
    await log_of_13(log_db)
    await log_db.sql("DELETE FROM audit_log WHERE seq > 6")
    report = await compare(log_db, verifier_pool, deep=False)
    assert first_bad(report) == (7, "missing_entries")
    assert report.first_bad.detail == "the head says entry 13 exists; entries 7 to 13 are missing"  # type: ignore[union-attr]
    assert found_in(verifier_pool) == [(1, 4, True), (5, 8, False), (9, 13, False)]
    # Moving the head back too: the checkpoint at 10 shows the cut before any segment is checked.
    last = (await log_db.rows("SELECT hash FROM audit_log WHERE seq = 6"))[0][0]
    await log_db.sql("UPDATE audit_log_head SET seq = 6, hash = :h", h=last)
    report = await compare(log_db, verifier_pool, deep=False, parallel_ran=False)
    assert first_bad(report) == (7, "truncated")


async def test_a_rewritten_log_is_caught_by_a_checkpoint_in_the_second_segment(
    log_db: LogDb, verifier_pool: VerifierPool
) -> None:
    """Hashes recomputed from entry 5 on: every segment links, only the checkpoint at 6 tells."""
    chain = await log_of_13(log_db)
    doc = json.loads(await chain.canonical(5))
    doc["event"]["data"]["vendor_id"] = "V-FRIEND"
    await log_db.sql(
        "UPDATE audit_log SET canonical = :c, vendor_id = 'V-FRIEND' WHERE seq = 5", c=canonical_bytes(doc)
    )
    await chain.rehash_from(5)
    for deep in (False, True):
        report = await compare(log_db, verifier_pool, deep=deep)
        assert first_bad(report) == (6, "checkpoint_mismatch")
        assert (report.entries_checked, report.checkpoints_checked) == (5, 0)
        assert found_in(verifier_pool) == [(1, 4, True), (5, 8, True), (9, 13, True)]
    # A forged signature is found too (the checkpoint at 6 made to match needs the private key).
    forged = (await log_db.rows("SELECT hash FROM audit_log WHERE seq = 6"))[0][0]
    await log_db.sql("UPDATE audit_checkpoints SET head_hash = :h WHERE seq = 6", h=forged)
    report = await compare(log_db, verifier_pool, deep=False)
    assert first_bad(report) == (6, "checkpoint_signature")


async def test_a_forged_hash_at_a_segments_boundary(log_db: LogDb, verifier_pool: VerifierPool) -> None:
    """The second segment starts from the stored hash of entry 4 whatever it is, and links from a forged one
    when the forger recomputed the rest from it: the first segment still finds entry 4."""
    chain = await log_of_13(log_db)
    prev = bytes.fromhex("ab" * 32)
    await log_db.sql("UPDATE audit_log SET hash = :h WHERE seq = 4", h=prev.hex())
    for seq in range(5, 14):
        prev = entry_hash(prev, seq, await chain.canonical(seq))
        await log_db.sql("UPDATE audit_log SET hash = :h WHERE seq = :s", h=prev.hex(), s=seq)
    await log_db.sql("UPDATE audit_log_head SET hash = :h", h=prev.hex())
    report = await compare(log_db, verifier_pool, deep=False)
    assert (*first_bad(report), report.entries_checked) == (4, "hash_mismatch", 3)
    assert found_in(verifier_pool) == [(1, 4, False), (5, 8, True), (9, 13, True)]


async def test_a_head_that_is_not_the_chains_last_hash(log_db: LogDb, verifier_pool: VerifierPool) -> None:
    await log_of_13(log_db)
    await log_db.sql("UPDATE audit_log_head SET hash = :h", h="cd" * 32)
    report = await compare(log_db, verifier_pool, deep=False)
    assert first_bad(report) == (13, "head_mismatch")
    assert found_in(verifier_pool) == [(1, 4, True), (5, 8, True), (9, 13, True)]


async def test_entries_beyond_the_head_read_at_the_start_are_not_verified(
    log_db: LogDb, verifier_pool: VerifierPool
) -> None:
    """An appender that has written entry 14 but not yet moved the head: no segment reads it."""
    chain = await log_of_13(log_db)
    await log_db.sql(
        "INSERT INTO audit_log (seq, hash, canonical, event_id, source, type, topic, received_at) "
        "VALUES (14, :h, :c, :i, '/test/producer', 'x.y.v1', 'eproc.test.internal', :r)",
        h="ef" * 32,
        c=b"{}",
        i=str(uuid.uuid4()),
        r=chain.now(),
    )
    report = await compare(log_db, verifier_pool, deep=False)
    assert report.ok, report
    assert report.entries_checked == 13
    assert found_in(verifier_pool) == [(1, 4, True), (5, 8, True), (9, 13, True)]


async def test_workers_that_die_are_replaced_and_the_log_verified_meanwhile(log_db: LogDb) -> None:
    await log_of_13(log_db)
    pool = VerifierPool(2)
    try:
        report = await compare(log_db, pool, deep=False)
        assert report.ok
        workers = pool.processes
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        report = await compare(log_db, pool, deep=False, parallel_ran=False)  # the single walk, this once
        assert report.ok
        assert pool.stats.broken == 1
        report = await compare(log_db, pool, deep=False)
        assert report.ok
        assert pool.stats.broken == 0
        assert pool.processes
        assert not set(pool.processes) & set(workers)
    finally:
        pool.close()


def test_segments_are_about_equal_and_only_shared_databases_are_split() -> None:
    assert plan_segments(13, 4, 8) == [(1, 4), (5, 8), (9, 13)]
    assert plan_segments(100, 10, 3) == [(1, 33), (34, 66), (67, 100)]
    assert plan_segments(7, 4, 8) == []  # not two segments of at least 4
    assert plan_segments(0, 4, 2) == []
    assert VerifierPool(2).segments(make_url("sqlite+aiosqlite:///a.db"), 30_000, 10_000) == [
        (1 + 3750 * k, 3750 * (k + 1)) for k in range(8)
    ]
    assert VerifierPool(1).segments(make_url("sqlite+aiosqlite:///a.db"), 30_000, 10_000) == []
    assert VerifierPool(2).segments(make_url("sqlite+aiosqlite://"), 30_000, 10_000) == []
    assert shareable(make_url("sqlite+aiosqlite:///var/audit.db"))
    assert shareable(make_url("postgresql+asyncpg://audit@db/audit"))
    assert not shareable(make_url("sqlite+aiosqlite://"))
    assert not shareable(make_url("sqlite+aiosqlite:///:memory:"))
    assert not shareable(make_url("sqlite+aiosqlite:///file:audit?mode=memory&uri=true"))


async def test_the_service_starts_its_workers_at_the_first_verification_and_stops_them_on_shutdown(
    broker: BrokerSettings, issuer: Issuer, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    settings = AuditSettings(
        database_url=database_url,
        broker=broker,
        log_consumer_group=f"audit-log-test-{uuid.uuid4().hex[:8]}",
        dev_signing_key_file=str(tmp_path / "audit-key.pem"),
        checkpoint_interval_s=3600,
        verify_batch_size=2,
        verify_workers=2,
    )
    await start_group_at_end(broker, settings.log_consumer_group)
    app = create_app(settings)
    install_auth(app, issuer.verifier())
    pool: VerifierPool = app.state.verifier_pool
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert pool.processes == [], "no worker starts with the service"
        chain = Chain(LogDb(database_url, app.state.runtime.engine))
        await chain.add(7)
        response = await client.get("/verify", params={"mode": "chain_only"}, headers=issuer.headers("a", "admin"))
        assert response.status_code == 200, response.text
        assert response.json()["ok"] is True
        assert response.json()["entries_checked"] >= 7
        assert pool.stats.runs == 1
        assert all(isinstance(s, SegmentCheck) and s.ok for s in pool.stats.last)
        workers = pool.processes
        assert len(workers) == 2
    assert pool.processes == []
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # stopped and reaped


def test_the_default_worker_count_keeps_within_a_cgroup_cpu_quota(tmp_path: Path) -> None:
    cpus = len(os.sched_getaffinity(0))
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("max 100000\n")  # no quota
    assert default_workers(str(cpu_max)) == cpus
    cpu_max.write_text("100000 100000\n")  # a Kubernetes limit of one CPU
    assert default_workers(str(cpu_max)) == 1
    cpu_max.write_text("50000 100000\n")  # half a CPU still gets one worker
    assert default_workers(str(cpu_max)) == 1
    cpu_max.write_text(f"{(cpus + 4) * 100000} 100000\n")  # a quota above the CPUs it may run on
    assert default_workers(str(cpu_max)) == cpus
    assert default_workers(str(tmp_path / "absent")) == cpus  # no cgroup v2
