"""The hash chain and its checkpoints on SQLite and PostgreSQL: every kind of tampering, done with raw SQL
as someone with database access would, is found and named at the first bad entry. Every test runs twice:
verified in this process, and with the chain checked in segments by two worker processes first."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from audit_test_support import KEY, Chain, LogDb, raw_event
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eproc_audit.canonical import entry_hash
from eproc_audit.log_writer import append
from eproc_audit.signing import SigningKey
from eproc_audit.verification import HASH_MISMATCH, VerificationReport
from eproc_audit.verify_pool import VerifierPool


@pytest.fixture(autouse=True, params=[1, 2], ids=["1-process", "2-processes"])
def workers(request: pytest.FixtureRequest, verifier_pool: VerifierPool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Chain, "pool", verifier_pool if request.param == 2 else None)


def bad(report: VerificationReport) -> tuple[int, str]:
    assert not report.ok, report
    assert report.first_bad is not None
    return report.first_bad.seq, report.first_bad.problem


async def test_an_untouched_chain_verifies_in_batches(log_db: LogDb) -> None:
    chain = Chain(log_db)
    assert (await chain.verify()).ok  # the empty log
    assert await chain.add(10) == list(range(1, 11))
    await chain.checkpoint()
    await chain.add(3)
    report = await chain.verify(batch_size=4)
    assert report.ok, report
    assert (report.entries_checked, report.head_seq, report.checkpoints_checked) == (13, 13, 1)
    assert report.bytes_hashed > 13 * 40
    assert (await chain.verify(deep=False)).ok


async def test_replays_add_nothing(log_db: LogDb) -> None:
    chain = Chain(log_db)
    event = raw_event("vendor.verified.v1", {"vendor_id": "V-1", "verified_by": "verifier-1"}, key="V-1")
    async with chain.sessions() as session, session.begin():
        assert await append(session, event, chain.now()) == 1
    head = await log_db.rows("SELECT seq, hash FROM audit_log_head")
    for _ in range(2):
        async with chain.sessions() as session, session.begin():
            assert await append(session, event, chain.now()) is None
    assert await log_db.rows("SELECT seq, hash FROM audit_log_head") == head
    assert (await log_db.rows("SELECT count(*) FROM audit_log"))[0][0] == 1


async def test_a_changed_entry_is_found(log_db: LogDb) -> None:
    chain = Chain(log_db)
    await chain.add(8)
    doc = json.loads(await chain.canonical(5))
    doc["event"]["data"]["vendor_id"] = "V-FRIEND"
    await log_db.sql(
        "UPDATE audit_log SET canonical = :c WHERE seq = 5", c=json.dumps(doc, separators=(",", ":")).encode()
    )
    assert bad(await chain.verify()) == (5, "hash_mismatch")
    assert bad(await chain.verify(deep=False)) == (5, "hash_mismatch")


async def test_a_changed_hash_is_found(log_db: LogDb) -> None:
    chain = Chain(log_db)
    await chain.add(6)
    await log_db.sql("UPDATE audit_log SET hash = :h WHERE seq = 3", h="ab" * 32)
    assert bad(await chain.verify()) == (3, "hash_mismatch")


async def test_a_deleted_entry_is_found(log_db: LogDb) -> None:
    chain = Chain(log_db)
    await chain.add(8)
    await log_db.sql("DELETE FROM audit_log WHERE seq = 4")
    assert bad(await chain.verify()) == (4, "missing_entries")
    # Renumbering the rest to close the gap breaks the chain instead.
    await log_db.sql("UPDATE audit_log SET seq = -seq WHERE seq > 4")
    await log_db.sql("UPDATE audit_log SET seq = -seq - 1 WHERE seq < 0")
    assert bad(await chain.verify()) == (4, "hash_mismatch")


async def test_a_deleted_tail_is_found_against_the_head_and_the_checkpoints(log_db: LogDb) -> None:
    chain = Chain(log_db)
    await chain.add(8)
    await chain.checkpoint()
    await log_db.sql("DELETE FROM audit_log WHERE seq > 6")
    assert bad(await chain.verify()) == (7, "missing_entries")
    # Moving the head back too does not help: a signed checkpoint names entry 8.
    last = (await log_db.rows("SELECT hash FROM audit_log WHERE seq = 6"))[0][0]
    await log_db.sql("UPDATE audit_log_head SET seq = 6, hash = :h", h=last)
    assert bad(await chain.verify()) == (7, "truncated")


async def test_an_inserted_entry_is_found_even_with_a_correct_hash(log_db: LogDb) -> None:
    chain = Chain(log_db)
    await chain.add(6)
    await log_db.sql("UPDATE audit_log SET seq = -seq WHERE seq >= 4")
    await log_db.sql("UPDATE audit_log SET seq = -seq + 1 WHERE seq < 0")
    forged = raw_event("tender.bid_submitted.v1", {"package_id": "PKG-0", "vendor_id": "V-LATE"}, key="PKG-0")
    from eproc_audit.canonical import canonical_bytes, entry_document

    canonical = canonical_bytes(
        entry_document(
            attributes=forged.attributes,
            data=forged.data,
            value=forged.value,
            key=forged.key,
            topic=forged.topic,
            partition=0,
            offset=99,
            received_at=chain.now(),
        )
    )
    prev = bytes.fromhex((await log_db.rows("SELECT hash FROM audit_log WHERE seq = 3"))[0][0])
    await log_db.sql(
        "INSERT INTO audit_log (seq, hash, canonical, event_id, source, type, topic, received_at, package_id) "
        "VALUES (4, :h, :c, :i, '/test/producer', 'tender.bid_submitted.v1', 'eproc.test.internal', :r, 'PKG-0')",
        h=entry_hash(prev, 4, canonical).hex(),
        c=canonical,
        i=forged.id,
        r=chain.now(),
    )
    seq, problem = bad(await chain.verify(deep=False))
    assert (seq, problem) == (5, "hash_mismatch")  # the entry after the insertion no longer links


async def test_reordered_entries_are_found(log_db: LogDb) -> None:
    chain = Chain(log_db)
    await chain.add(6)
    await log_db.sql("UPDATE audit_log SET seq = -1 WHERE seq = 3")
    await log_db.sql("UPDATE audit_log SET seq = 3 WHERE seq = 4")
    await log_db.sql("UPDATE audit_log SET seq = 4 WHERE seq = -1")
    assert bad(await chain.verify()) == (3, "hash_mismatch")


async def test_a_changed_query_column_is_found(log_db: LogDb) -> None:
    chain = Chain(log_db)
    await chain.add(5)
    await log_db.sql("UPDATE audit_log SET package_id = 'PKG-OTHER' WHERE seq = 2")
    seq, problem = bad(await chain.verify())
    assert (seq, problem) == (2, "index_mismatch")
    assert "package_id" in (await chain.verify()).first_bad.detail  # type: ignore[union-attr]
    assert (await chain.verify(deep=False)).ok  # chain-only checks the hashed bytes, not the columns


async def test_a_rewritten_chain_with_recomputed_hashes_is_caught_by_the_checkpoint(log_db: LogDb) -> None:
    chain = Chain(log_db)
    await chain.add(5)
    checkpoint = await chain.checkpoint()
    assert checkpoint is not None
    assert checkpoint["seq"] == 5
    await chain.add(3)
    doc = json.loads(await chain.canonical(2))
    doc["event"]["data"]["vendor_id"] = "V-FRIEND"
    from eproc_audit.canonical import canonical_bytes

    await log_db.sql(
        "UPDATE audit_log SET canonical = :c, vendor_id = 'V-FRIEND' WHERE seq = 2", c=canonical_bytes(doc)
    )
    await chain.rehash_from(2)
    assert bad(await chain.verify()) == (5, "checkpoint_mismatch")
    # Forging the checkpoint to match needs the private key.
    new_head = (await log_db.rows("SELECT hash FROM audit_log WHERE seq = 5"))[0][0]
    await log_db.sql("UPDATE audit_checkpoints SET head_hash = :h", h=new_head)
    assert bad(await chain.verify()) == (5, "checkpoint_signature")


async def test_a_checkpoint_is_signed_once_per_head_and_checks_with_the_public_key(log_db: LogDb) -> None:
    chain = Chain(log_db)
    assert await chain.checkpoint() is None  # nothing to sign in an empty log
    await chain.add(2)
    first = await chain.checkpoint()
    assert first is not None
    assert await chain.checkpoint() is None  # the head did not move
    from eproc_audit.signing import verify_checkpoint

    fields = {k: first[k] for k in ("seq", "head_hash", "signed_at", "key_id", "signature")}
    assert verify_checkpoint(KEY.jwk, **fields)
    assert not verify_checkpoint(KEY.jwk, **{**fields, "seq": 1})
    other = SigningKey.from_private(Ed25519PrivateKey.generate())
    assert not verify_checkpoint({**other.jwk, "kid": KEY.key_id}, **fields)
    staged = await log_db.rows("SELECT type, topic FROM eproc_outbox")
    assert staged == [("audit.checkpoint_signed.v1", "eproc.audit.public")]


async def test_payloads_json_canonicalisation_cannot_hold_are_logged_as_bytes(log_db: LogDb) -> None:
    chain = Chain(log_db)
    event = raw_event("tender.awarded.v1", {"package_id": "PKG-9", "value": 2**60}, key="PKG-9")
    async with chain.sessions() as session, session.begin():
        assert await append(session, event, chain.now()) == 1
    doc = json.loads(await chain.canonical(1))
    assert "data" not in doc["event"]
    assert doc["event"]["data_base64"]
    assert (await chain.verify()).ok


async def _cli(*args: str) -> tuple[int, str]:
    script = Path(sys.executable).parent / "eproc-verify-audit"
    proc = await asyncio.create_subprocess_exec(
        str(script), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode() + err.decode()


async def test_the_console_script_reports_the_first_bad_entry(log_db: LogDb) -> None:
    chain = Chain(log_db)
    await chain.add(5)
    code, out = await _cli("--database-url", log_db.url, "--batch-size", "2")
    assert code == 0, out
    assert json.loads(out)["ok"] is True
    assert json.loads(out)["entries_checked"] == 5
    await log_db.sql("DELETE FROM audit_log WHERE seq = 2")
    code, out = await _cli("--database-url", log_db.url, "--chain-only")
    assert code == 1, out
    assert json.loads(out)["first_bad"] == {
        "seq": 2,
        "problem": "missing_entries",
        "detail": "entries 2 to 2 are missing",
    }


async def test_both_modes_name_the_same_first_bad_entry_across_range_boundaries(log_db: LogDb) -> None:
    """chain_only reads ranges without their sequence numbers; whatever is wrong, it re-reads the range and names
    the same entry and problem as deep, also when a gap spans ranges."""
    chain = Chain(log_db)
    await chain.add(12)
    await chain.checkpoint()

    async def both() -> set[tuple[int, str, str]]:
        found = set()
        for deep in (True, False):
            report = await chain.verify(deep=deep, batch_size=4)
            assert report.first_bad is not None
            found.add((report.first_bad.seq, report.first_bad.problem, report.first_bad.detail))
            assert report.entries_checked == report.first_bad.seq - 1
        assert len(found) == 1, found
        return found

    assert {(r.ok, r.entries_checked) for r in [await chain.verify(deep=d) for d in (True, False)]} == {(True, 12)}
    await log_db.sql("UPDATE audit_log SET hash = :h WHERE seq = 6", h="ab" * 32)
    assert await both() == {(6, "hash_mismatch", HASH_MISMATCH)}
    await chain.rehash_from(1)
    await log_db.sql("UPDATE audit_log SET seq = -1 WHERE seq = 9")
    await log_db.sql("UPDATE audit_log SET seq = 9 WHERE seq = 10")
    await log_db.sql("UPDATE audit_log SET seq = 10 WHERE seq = -1")
    assert await both() == {(9, "hash_mismatch", HASH_MISMATCH)}
    await log_db.sql("UPDATE audit_log SET seq = -1 WHERE seq = 9")
    await log_db.sql("UPDATE audit_log SET seq = 9 WHERE seq = 10")
    await log_db.sql("UPDATE audit_log SET seq = 10 WHERE seq = -1")
    await log_db.sql("DELETE FROM audit_log WHERE seq IN (4, 5, 6)")  # ranges are 1-4, 5-8, 9-12
    assert await both() == {(4, "missing_entries", "entries 4 to 6 are missing")}
    await log_db.sql("DELETE FROM audit_log WHERE seq > 3")
    assert await both() == {(4, "missing_entries", "the head says entry 12 exists; entries 4 to 12 are missing")}


async def test_an_entry_numbered_outside_the_chain_is_found(log_db: LogDb) -> None:
    chain = Chain(log_db)
    await chain.add(3)
    await log_db.sql("UPDATE audit_log SET seq = 0 WHERE seq = 1")
    assert bad(await chain.verify(deep=False)) == (0, "unexpected_entry")
