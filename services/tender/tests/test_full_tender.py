"""A tender from draft to award through real HTTP, real tokens and the injected clock; sealed until opening."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from tender_test_support import (
    DEADLINE,
    Tender,
    announced_package,
    at,
    bid,
    ok,
    problem,
    register,
    window,
)

from eproc_shared.testing import eventually

SECRET_PRICES = (987_654_321, 861_234_567, 1_234_567_890)


# Every table and query of the main flow, the package row lock and time-driven closing: on both databases.
@pytest.mark.databases("sqlite", "postgres")
async def test_a_tender_runs_from_announcement_to_award(tender: Tender) -> None:
    t = tender
    package_id = await announced_package(t)
    pokja, ppk, admin, public = t.pokja(), t.ppk(), t.admin(), t.public()

    # Announced: public, with its schedule shown in Jakarta time.
    shown = ok(await public.get(f"/packages/{package_id}"))
    assert shown["status"] == "announced"
    assert shown["bid_deadline_jakarta"].endswith("+07:00")
    listed = ok(await public.get("/packages", params={"opd_id": "dinkes", "q": "puskesmas"}))
    assert [p["id"] for p in listed["items"]] == [package_id]

    # Participation and clarification.
    await register(t, package_id, "v1", "v2", "v3")
    t.at(at(1, 10))
    question = ok(
        await t.vendor("v1").post(f"/packages/{package_id}/questions", json={"question": "Boleh subkon?"}), 201
    )
    assert ok(await public.get(f"/packages/{package_id}"))["questions"] == []  # unanswered: not public yet
    ok(await pokja.post(f"/packages/{package_id}/questions/{question['id']}/answer", json={"answer": "Tidak boleh."}))
    public_questions = ok(await public.get(f"/packages/{package_id}"))["questions"]
    assert [q["answer"] for q in public_questions] == ["Tidak boleh."]
    assert "vendor_id" not in public_questions[0]

    # Addendum: a new document version and a later deadline, which must leave 3 working days.
    ok(await pokja.put(f"/packages/{package_id}/documents/rks.pdf", content=b"%PDF-1.4 RKS v2"), 201)
    too_close = {
        "reason": "Perubahan spesifikasi teknis pekerjaan",
        "documents_changed": True,
        "stages": {"submission": window(at(1, 9), at(4, 10))},
    }
    problem(await pokja.post(f"/packages/{package_id}/addenda", json=too_close), 422, "stages.submission.ends_at")
    moved = DEADLINE + timedelta(hours=1)
    addendum = {
        "reason": "Perubahan spesifikasi teknis pekerjaan",
        "documents_changed": True,
        "stages": {"submission": window(at(1, 9), moved), "opening": window(moved, at(8, 16))},
    }
    detail = ok(await pokja.post(f"/packages/{package_id}/addenda", json=addendum), 201)
    assert detail["addenda"][0]["number"] == 1
    assert [d["name"] for d in detail["documents"] if d["published"]] == ["rks.pdf"]

    # Sealed bids: v1 replaces its bid; v2's items add up to more than its stated price; v3 is above HPS.
    t.at(at(2, 10))
    document = ok(
        await t.vendor("v1").post(
            f"/packages/{package_id}/bid-documents",
            params={"name": "zx-metode.pdf"},
            content=b"%PDF ZXSECRET v1 " * 5000,
        ),
        201,
    )
    first = ok(await t.vendor("v1").post(f"/packages/{package_id}/bids", json=bid(999_000_000)), 201)
    receipt_v1 = ok(
        await t.vendor("v1").post(
            f"/packages/{package_id}/bids",
            json=bid(SECRET_PRICES[0], technical_document_ids=[document["document_id"]]),
        ),
        201,
    )
    assert receipt_v1["receipt_sha256"] != first["receipt_sha256"]
    ok(
        await t.vendor("v2").post(
            f"/packages/{package_id}/bids", json=bid(SECRET_PRICES[1], [(1, 800_000_000), (2, 31_000_000)])
        ),
        201,
    )
    ok(await t.vendor("v3").post(f"/packages/{package_id}/bids", json=bid(SECRET_PRICES[2])), 201)
    assert (
        ok(await t.vendor("v1").get(f"/packages/{package_id}/bids/mine"))["receipt_sha256"]
        == receipt_v1["receipt_sha256"]
    )

    # Before opening nobody sees a price: not the Pokja, admin, PPK, public or the vendors themselves.
    for reader in (pokja, ppk, admin, public, t.vendor("v1"), t.vendor("v2")):
        text = (await reader.get(f"/packages/{package_id}")).text
        assert not any(str(p) in text for p in SECRET_PRICES)
        assert "zx-metode" not in text
    assert ok(await pokja.get(f"/packages/{package_id}"))["bids_received"] == 3
    problem(await pokja.get(f"/packages/{package_id}/evaluation"), 409)
    problem(await pokja.post(f"/packages/{package_id}/opening"), 409)
    await assert_nothing_sealed_in_the_database(t, document["plain_sha256"])

    # The deadline passes: the scheduler closes submission by itself.
    t.at(moved)
    await eventually(lambda: _status_is(t, package_id, "closed"), timeout_s=10)
    problem(await t.vendor("v1").post(f"/packages/{package_id}/bids", json=bid(1)), 409)
    problem(await t.pokja("pokja-2").post(f"/packages/{package_id}/opening"), 403)
    opened = ok(await pokja.post(f"/packages/{package_id}/opening"))
    assert opened["status"] == "evaluation"
    assert sorted(p["price"] for p in opened["opened_prices"]) == sorted(SECRET_PRICES)
    assert all(p["receipt_verified"] for p in opened["opened_prices"])
    evaluation = ok(await pokja.get(f"/packages/{package_id}/evaluation"))
    v1 = next(b for b in evaluation["bids"] if b["vendor_id"] == "v1")
    assert v1["documents"][0]["name"] == "zx-metode.pdf"
    assert v1["documents"][0]["intact"]
    assert v1["documents"][0]["plain_sha256"] == document["plain_sha256"]

    # Evaluation: the Pokja judges, the system corrects, checks HPS and ranks.
    for vendor_id in ("v1", "v2", "v3"):
        ok(
            await pokja.put(
                f"/packages/{package_id}/evaluations/{vendor_id}",
                json={"administrative_passed": True, "technical_passed": True},
            )
        )
    evaluation = ok(await pokja.get(f"/packages/{package_id}/evaluation"))
    by_vendor = {b["vendor_id"]: b for b in evaluation["bids"]}
    assert by_vendor["v2"]["corrected_price"] == 862_000_000  # arithmetic correction from the items
    assert not by_vendor["v3"]["passed"]
    assert "above the HPS" in by_vendor["v3"]["reasons"][0]
    assert evaluation["leading_bidder"] == "v2"
    problem(await pokja.post(f"/packages/{package_id}/winner"), 409)  # qualification not yet proven
    problem(
        await pokja.put(f"/packages/{package_id}/evaluations/v1", json={"qualification_passed": True}), 409
    )  # not the leading bidder: nobody can be picked out of order
    ok(await pokja.put(f"/packages/{package_id}/evaluations/v2", json={"qualification_passed": True}))

    t.at(at(9, 10))
    announced = ok(await pokja.post(f"/packages/{package_id}/winner"))
    assert announced["status"] == "winner_announced"
    assert announced["winner"]["vendor_id"] == "v2"
    assert announced["winner"]["reserves"] == ["v1"]
    assert {r["vendor_id"]: r["rank"] for r in announced["results"]} == {"v2": 1, "v1": 2, "v3": None}

    # Objection period: an objection inside the window is answered; award waits for the period's end.
    objection = ok(
        await t.vendor("v1").post(
            f"/packages/{package_id}/objections", json={"reason": "Harga v2 tidak wajar sama sekali."}
        ),
        201,
    )
    problem(await ppk.post(f"/packages/{package_id}/award", json={}), 409)
    ok(
        await pokja.post(
            f"/packages/{package_id}/objections/{objection['id']}/answer",
            json={"answer": "Harga sudah diklarifikasi dan wajar.", "upheld": False},
        )
    )
    t.at(at(9, 10) + timedelta(days=t.settings.objection_days, milliseconds=1))
    late = {"reason": "Terlambat tetapi tetap keberatan."}
    problem(await t.vendor("v3").post(f"/packages/{package_id}/objections", json=late), 409)
    await eventually(lambda: _status_is(t, package_id, "awardable"), timeout_s=10)
    problem(await t.ppk(opd="dispora").post(f"/packages/{package_id}/award", json={}), 403)
    awarded = ok(await ppk.post(f"/packages/{package_id}/award", json={"sppbj_number": "SPPBJ/001/2026"}))
    assert awarded["status"] == "awarded"

    events = await outbox(t)
    types = [e["type"] for e in events]
    for expected in (
        "tender.announced.v1",
        "tender.amended.v1",
        "tender.participant_registered.v1",
        "tender.question_answered.v1",
        "tender.bid_submitted.v2",
        "tender.bids_opened.v1",
        "tender.evaluated.v1",
        "tender.winner_announced.v1",
        "tender.objection_filed.v1",
        "tender.objection_answered.v1",
        "tender.awarded.v1",
    ):
        assert expected in types, expected
    award = next(e["payload"] for e in events if e["type"] == "tender.awarded.v1")
    assert award["winner"]["vendor_id"] == "v2"
    assert award["awarded_price"] == 862_000_000
    assert award["package"]["hps"] == 1_000_000_000
    assert award["package"]["pagu"] == 1_100_000_000
    assert award["package"]["opd_id"] == "dinkes"
    assert award["ppk_id"] == "ppk-1"
    assert award["package"]["contract_type"] == "unit_price"
    # Before opening, no event carried a price; bid-submitted carries a receipt only.
    before_opening = types.index("tender.bids_opened.v1")
    assert not any(str(p) in json.dumps(e["payload"]) for e in events[:before_opening] for p in SECRET_PRICES)
    submitted = next(e["payload"] for e in events if e["type"] == "tender.bid_submitted.v2")
    assert set(submitted) == {
        "package_id",
        "opd_id",
        "vendor_id",
        "bid_id",
        "received_at",
        "receipt_sha256",
        "replaces_bid_id",
        "round",
        "submitter_address",
        "document_digests",
    }


async def _status_is(t: Tender, package_id: str, status: str) -> bool:
    return await t.status(package_id) == status


async def outbox(t: Tender) -> list[dict[str, object]]:
    rows = await t.sql("SELECT type, payload FROM eproc_outbox ORDER BY id")
    return [{"type": r[0], "payload": r[1] if isinstance(r[1], dict) else json.loads(r[1])} for r in rows]


async def assert_nothing_sealed_in_the_database(t: Tender, document_sha256: str) -> None:
    """Every column of every table, as raw text: no price, no document content in clear, and not the document's
    plaintext SHA-256 either (it would let a reader test guessed files before opening)."""
    tables = [
        "packages",
        "package_stages",
        "package_documents",
        "addenda",
        "participants",
        "questions",
        "bids",
        "bid_documents",
        "opened_bids",
        "objections",
        "eproc_outbox",
    ]
    for table in tables:
        for row in await t.sql(f"SELECT * FROM {table}"):
            for value in row:
                raw = value if isinstance(value, bytes) else str(value).encode()
                for price in SECRET_PRICES:
                    assert str(price).encode() not in raw, f"price {price} in {table}"
                assert b"ZXSECRET" not in raw, f"document content in {table}"
                assert b"zx-metode" not in raw, f"document name in {table}"
                assert document_sha256.encode() not in raw, f"document's plaintext SHA-256 in {table}"
    sealed_files = sorted(Path(t.settings.storage_dir).rglob("*.sealed"))  # noqa: ASYNC240  # a test's few files
    assert sealed_files
    for path in sealed_files:
        assert b"ZXSECRET" not in path.read_bytes()
