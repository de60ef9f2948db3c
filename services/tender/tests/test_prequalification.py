"""Prakualifikasi through HTTP with the clock: qualification first, the shortlist invites, only the invited bid."""

from __future__ import annotations

import pytest
from tender_test_support import (
    DEADLINE,
    Tender,
    announced_package,
    at,
    bid,
    ok,
    package_body,
    prequalification_schedule,
    problem,
    register,
    standard_schedule,
)

from eproc_shared.testing import eventually

PRA_SELEKSI = {
    "name": "Konsultan Manajemen Konstruksi RSUD",
    "procurement_type": "jasa_konsultansi",
    "method": "seleksi",
    "qualification": "pra",
    "contract_type": "lump_sum",
    "pagu": 600_000_000,
    "hps": 500_000_000,
    "hps_items": [],
    "kbli_codes": ["71102"],
}


# A whole flow: qualification data and the time-driven end of the qualification stage: both databases.
@pytest.mark.databases("sqlite", "postgres")
async def test_a_prequalified_seleksi_invites_only_the_vendors_who_pass(tender: Tender) -> None:
    t = tender
    ppk, pokja, public = t.ppk(), t.pokja(), t.public()
    # A prakualifikasi schedule needs its qualification stages; a pasca one is refused with the missing stage.
    draft = ok(await ppk.post("/packages", json=package_body(**PRA_SELEKSI)), 201)["id"]
    ok(await ppk.post(f"/packages/{draft}/assignment", json={"pokja_id": "pokja-1"}))
    problem(await pokja.put(f"/packages/{draft}/schedule", json=standard_schedule()), 422, "stages.qualification")
    late_results = prequalification_schedule()
    late_results["stages"]["qualification_evaluation"]["ends_at"] = at(5, 10).isoformat()
    problem(
        await pokja.put(f"/packages/{draft}/schedule", json=late_results),
        422,
        "stages.qualification_evaluation.ends_at",
    )

    package_id = await announced_package(t, schedule=prequalification_schedule(), **PRA_SELEKSI)
    assert ok(await public.get(f"/packages/{package_id}"))["status"] == "prequalification"
    await register(t, package_id, "p1", "p2", "p3")
    statement = {"statement": "SBU konsultan, 3 proyek MK sejenis, 5 tenaga ahli.", "declaration": True}
    problem(await t.vendor("outsider").put(f"/packages/{package_id}/qualification", json=statement), 409)
    ok(await t.vendor("p1").put(f"/packages/{package_id}/qualification", json=statement))
    ok(await t.vendor("p2").put(f"/packages/{package_id}/qualification", json=statement))
    problem(await t.vendor("p1").post(f"/packages/{package_id}/bids", json=bid(400_000_000)), 409)  # no bids yet

    # The qualification stage ends: the scheduler moves the package to the Pokja's qualification evaluation.
    t.at(at(3, 16))
    await eventually(lambda: t.status_is(package_id, "prequalification_evaluation"), timeout_s=10)
    problem(await t.vendor("p3").put(f"/packages/{package_id}/qualification", json=statement), 409)
    problem(await pokja.post(f"/packages/{package_id}/shortlist"), 409)  # p1 and p2 not judged yet
    problem(await pokja.put(f"/packages/{package_id}/prequalification/p2", json={"passed": False}), 422, "reason")
    problem(await pokja.put(f"/packages/{package_id}/prequalification/p3", json={"passed": True}), 409)  # no data
    problem(await t.pokja("pokja-2").put(f"/packages/{package_id}/prequalification/p1", json={"passed": True}), 403)
    ok(await pokja.put(f"/packages/{package_id}/prequalification/p1", json={"passed": True}))
    ok(
        await pokja.put(
            f"/packages/{package_id}/prequalification/p2", json={"passed": False, "reason": "Pengalaman tidak sejenis"}
        )
    )
    before = ok(await t.vendor("p2").get(f"/packages/{package_id}"))["participants"]
    assert all("prequalified" not in p for p in before)  # nothing shown before the announcement

    t.at(at(4, 10))
    shortlisted = ok(await pokja.post(f"/packages/{package_id}/shortlist"))
    assert shortlisted["status"] == "invited"
    seen = {p["vendor_id"]: p for p in ok(await public.get(f"/packages/{package_id}"))["participants"]}
    assert {v: p["prequalified"] for v, p in seen.items()} == {"p1": True, "p2": False, "p3": False}
    assert all("prequalification_reason" not in p for p in seen.values())  # reasons are not public
    own = {p["vendor_id"]: p for p in ok(await t.vendor("p2").get(f"/packages/{package_id}"))["participants"]}
    assert own["p2"]["prequalification_reason"] == "Pengalaman tidak sejenis"
    (announced,) = await t.events("tender.prequalification_announced.v1")
    assert [v["vendor_id"] for v in announced["passed"]] == ["p1"]
    assert sorted(v["vendor_id"] for v in announced["not_passed"]) == ["p2", "p3"]
    assert "Pengalaman" not in str(announced)

    # Only the invited bid; nobody registers any more.
    t.at(at(5, 10))
    problem(await t.vendor("p2").post(f"/packages/{package_id}/bids", json=bid(300_000_000)), 403)
    problem(await t.vendor("p2").post(f"/packages/{package_id}/questions", json={"question": "Boleh ikut?"}), 403)
    await t.seed_vendor("late")
    problem(await t.vendor("late").post(f"/packages/{package_id}/participants"), 409)
    ok(await t.vendor("p1").post(f"/packages/{package_id}/bids", json=bid(450_000_000)), 201)

    # Qualification was proven before the bids: after opening and evaluation the winner needs no further proof.
    t.at(DEADLINE)
    ok(await pokja.post(f"/packages/{package_id}/opening"))
    ok(
        await pokja.put(
            f"/packages/{package_id}/evaluations/p1", json={"administrative_passed": True, "technical_passed": True}
        )
    )
    announced_winner = ok(await pokja.post(f"/packages/{package_id}/winner"))
    assert announced_winner["status"] == "winner_announced"
    assert announced_winner["winner"]["vendor_id"] == "p1"


async def test_prequalification_with_nobody_passing_fails_and_a_tender_must_justify_it(tender: Tender) -> None:
    t = tender
    problem(await t.ppk().post("/packages", json=package_body(qualification="pra")), 422, "complexity_reason")
    complex_tender = {"qualification": "pra", "complexity_reason": "Struktur bentang lebar dengan risiko tinggi."}
    package_id = await announced_package(t, schedule=prequalification_schedule(), **complex_tender)
    await register(t, package_id, "q1")
    t.at(at(4, 10))
    failed = ok(await t.pokja().post(f"/packages/{package_id}/shortlist"))  # q1 sent no qualification data
    assert failed["status"] == "failed"
    assert failed["failure"]["code"] == "no_bid_passed"
