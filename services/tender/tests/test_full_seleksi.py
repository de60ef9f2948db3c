"""A seleksi (consultancy, two-file, quality and cost) through HTTP with the clock, including an upheld objection."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from tender_test_support import DEADLINE, Tender, announced_package, at, bid, ok, problem, register
from test_full_tender import outbox

from eproc_shared.testing import eventually

SELEKSI = {
    "name": "Konsultan Perencana Gedung Kantor Kecamatan",
    "procurement_type": "jasa_konsultansi",
    "method": "seleksi",
    "envelope_system": "two_file",
    "evaluation_system": "quality_cost",
    "technical_weight": 80,
    "price_weight": 20,
    "contract_type": "lump_sum",
    "pagu": 600_000_000,
    "hps": 500_000_000,
    "hps_items": [],
    "kbli_codes": ["71102"],
}
C3_PRICE = 433_333_333


# A whole flow: its own queries (two envelopes, scores, re-evaluation) and time-driven award: both databases.
@pytest.mark.databases("sqlite", "postgres")
async def test_a_seleksi_runs_with_two_envelopes_scores_and_an_upheld_objection(tender: Tender) -> None:
    t = tender
    package_id = await announced_package(t, **SELEKSI)
    pokja, ppk, public = t.pokja(), t.ppk(), t.public()
    await register(t, package_id, "c1", "c2", "c3")
    t.at(at(2, 10))
    ok(await t.vendor("c1").post(f"/packages/{package_id}/bids", json=bid(450_000_000)), 201)
    ok(await t.vendor("c2").post(f"/packages/{package_id}/bids", json=bid(380_000_000)), 201)
    ok(await t.vendor("c3").post(f"/packages/{package_id}/bids", json=bid(C3_PRICE)), 201)

    t.at(DEADLINE)
    opened = ok(await pokja.post(f"/packages/{package_id}/opening"))
    assert opened["status"] == "technical_evaluation"
    assert opened["opened_prices"] == []  # two-file: prices stay sealed through the technical evaluation
    problem(await pokja.post(f"/packages/{package_id}/price-opening"), 409)
    problem(await pokja.put(f"/packages/{package_id}/evaluations/c1", json={"price_reasonable": True}), 409)
    for vendor_id, score in (("c1", 90), ("c2", 70)):
        ok(
            await pokja.put(
                f"/packages/{package_id}/evaluations/{vendor_id}",
                json={"administrative_passed": True, "technical_passed": True, "technical_score": score},
            )
        )
    problem(
        await pokja.put(
            f"/packages/{package_id}/evaluations/c3", json={"administrative_passed": True, "technical_passed": False}
        ),
        422,
        "technical_reason",
    )
    ok(
        await pokja.put(
            f"/packages/{package_id}/evaluations/c3",
            json={"administrative_passed": True, "technical_passed": False, "technical_reason": "Metodologi lemah"},
        )
    )
    priced = ok(await pokja.post(f"/packages/{package_id}/price-opening"))
    assert priced["status"] == "evaluation"
    assert {p["vendor_id"]: p["price"] for p in priced["opened_prices"]} == {"c1": 450_000_000, "c2": 380_000_000}
    # The failed bid's price envelope was never opened: its price is nowhere.
    assert str(C3_PRICE) not in json.dumps(await outbox(t))
    assert str(C3_PRICE) not in (await pokja.get(f"/packages/{package_id}/evaluation")).text

    evaluation = ok(await pokja.get(f"/packages/{package_id}/evaluation"))
    assert any("c2: price clarification" in p for p in evaluation["pending"])  # 76% of HPS: flagged
    ok(
        await pokja.put(
            f"/packages/{package_id}/evaluations/c2",
            json={"price_reasonable": True, "price_reason": "Rincian biaya personel wajar"},
        )
    )
    evaluation = ok(await pokja.get(f"/packages/{package_id}/evaluation"))
    scores = {b["vendor_id"]: b["total_score"] for b in evaluation["bids"]}
    assert scores == {"c1": 88.89, "c2": 76.0, "c3": None}
    assert evaluation["leading_bidder"] == "c1"
    ok(await pokja.put(f"/packages/{package_id}/evaluations/c1", json={"qualification_passed": True}))
    first = ok(await pokja.post(f"/packages/{package_id}/winner"))
    assert first["winner"]["vendor_id"] == "c1"
    assert first["winner"]["reserves"] == ["c2"]
    assert public_results(ok(await public.get(f"/packages/{package_id}"))) == {"c1": 1, "c2": 2, "c3": None}

    # c2 objects; the Pokja upholds it and re-evaluates: the technical score of c1 was wrong.
    objection = ok(
        await t.vendor("c2").post(
            f"/packages/{package_id}/objections", json={"reason": "Nilai teknis c1 tidak sesuai dokumen."}
        ),
        201,
    )
    t.at(at(12, 10))  # past the objection period, but an objection is still open: no award yet
    problem(await ppk.post(f"/packages/{package_id}/award", json={}), 409)
    assert await t.status(package_id) == "winner_announced"
    # The Pokja's answer period is over too: the objection is escalated (TENDER_OBJECTION_ESCALATION_ROLE).
    upheld = {"answer": "Sanggah diterima, evaluasi ulang.", "upheld": True, "consequence": "re_evaluate"}
    problem(await pokja.post(f"/packages/{package_id}/objections/{objection['id']}/answer", json=upheld), 409)
    ok(await t.admin().post(f"/packages/{package_id}/objections/{objection['id']}/answer", json=upheld))
    assert await t.status(package_id) == "evaluation"
    assert "results" not in ok(await public.get(f"/packages/{package_id}"))
    ok(await pokja.put(f"/packages/{package_id}/evaluations/c1", json={"technical_score": 60}))
    evaluation = ok(await pokja.get(f"/packages/{package_id}/evaluation"))
    assert evaluation["leading_bidder"] == "c2"
    ok(await pokja.put(f"/packages/{package_id}/evaluations/c2", json={"qualification_passed": True}))
    second = ok(await pokja.post(f"/packages/{package_id}/winner"))
    assert second["winner"]["vendor_id"] == "c2"

    t.at(at(12, 10) + timedelta(days=t.settings.objection_days))
    await eventually(lambda: _awardable(t, package_id), timeout_s=10)
    ok(await ppk.post(f"/packages/{package_id}/award", json={}))
    award = [e["payload"] for e in await outbox(t) if e["type"] == "tender.awarded.v1"]
    assert len(award) == 1
    assert award[0]["winner"]["vendor_id"] == "c2"
    assert award[0]["low_price"] is True
    assert award[0]["performance_guarantee_base"] == 500_000_000  # under 80% of HPS: guarantee on the HPS


def public_results(detail: dict[str, object]) -> dict[str, object]:
    return {r["vendor_id"]: r["rank"] for r in detail["results"]}  # type: ignore[attr-defined, index]


async def _awardable(t: Tender, package_id: str) -> bool:
    return await t.status(package_id) == "awardable"
