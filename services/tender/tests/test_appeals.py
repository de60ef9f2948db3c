"""Objection answer periods enforced, and appeals (sanggah banding) for construction works, through HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tender_test_support import DEADLINE, Tender, announced_package, at, bid, ok, problem, register
from test_failures import _opened_with, _pass_all


async def _winner_announced(t: Tender, **bids: int) -> str:
    package_id = await _opened_with(t, bids)
    await _pass_all(t, package_id, list(bids))
    leader = min(bids, key=bids.__getitem__)
    ok(await t.pokja().put(f"/packages/{package_id}/evaluations/{leader}", json={"qualification_passed": True}))
    t.at(at(9, 10))
    ok(await t.pokja().post(f"/packages/{package_id}/winner"))
    return package_id


def _guarantee(amount: int) -> dict[str, object]:
    return {"number": "JB-2026-0001", "issuer": "Bank Jabar Banten", "amount": amount}


REJECT = {"answer": "Sanggah tidak beralasan, ditolak.", "upheld": False}


# A whole flow: appeals and the periods the award waits for: both databases.
@pytest.mark.databases("sqlite", "postgres")
async def test_construction_appeals_need_the_guarantee_hold_the_award_and_are_answered_above_the_pokja(
    tender: Tender,
) -> None:
    t = tender
    package_id = await _winner_announced(t, a1=900_000_000, a2=950_000_000, a3=960_000_000)
    pokja, admin, ppk = t.pokja(), t.admin(), t.ppk()
    objections = {}
    t.at(at(9, 11))
    for vendor_id in ("a2", "a3"):
        objections[vendor_id] = ok(
            await t.vendor(vendor_id).post(
                f"/packages/{package_id}/objections", json={"reason": "Pemenang tidak memenuhi syarat SBU."}
            ),
            201,
        )["id"]
    appeal = {"objection_id": objections["a2"], "reason": "Jawaban sanggah keliru.", "guarantee": _guarantee(10**7)}
    problem(await t.vendor("a2").post(f"/packages/{package_id}/appeals", json=appeal), 409)  # not answered yet
    t.at(at(9, 12))
    for objection_id in objections.values():
        ok(await pokja.post(f"/packages/{package_id}/objections/{objection_id}/answer", json=REJECT))

    # 1% of the HPS (1,000,000,000) is 10,000,000: one Rupiah less is refused; only the objector appeals its own.
    short = {**appeal, "guarantee": _guarantee(9_999_999)}
    problem(await t.vendor("a2").post(f"/packages/{package_id}/appeals", json=short), 422, "guarantee.amount")
    problem(await t.vendor("a3").post(f"/packages/{package_id}/appeals", json=appeal), 422, "objection_id")
    t.at(at(10, 10))
    filed = ok(await t.vendor("a2").post(f"/packages/{package_id}/appeals", json=appeal), 201)
    assert filed["guarantee_required"] == 10_000_000
    problem(await t.vendor("a2").post(f"/packages/{package_id}/appeals", json=appeal), 409)  # once per objection

    # The objection period ends, but the appeal is open: no award.
    t.at(at(14, 10))
    problem(await ppk.post(f"/packages/{package_id}/award", json={}), 409)
    assert await t.status(package_id) == "winner_announced"
    # a3's appeal period (5 days after the answer) is over.
    t.at(at(14, 12))
    late = {"objection_id": objections["a3"], "reason": "Banding terlambat sekali.", "guarantee": _guarantee(10**7)}
    problem(await t.vendor("a3").post(f"/packages/{package_id}/appeals", json=late), 409)

    problem(await pokja.post(f"/packages/{package_id}/appeals/{filed['id']}/answer", json=REJECT), 403)
    answered = ok(await admin.post(f"/packages/{package_id}/appeals/{filed['id']}/answer", json=REJECT))
    assert answered["status"] == "awardable"
    ok(await ppk.post(f"/packages/{package_id}/award", json={}))
    (event,) = await t.events("tender.appeal_answered.v1")
    assert event["guarantee_forfeited"] is True
    assert event["late"] is False
    assert event["answered_by"] == "admin-1"
    (filed_event,) = await t.events("tender.appeal_filed.v1")
    assert filed_event["guarantee_amount"] == 10_000_000


async def test_a_late_objection_answer_is_refused_to_the_pokja_escalated_and_awaited(tender: Tender) -> None:
    t = tender
    package_id = await _barang_winner(t)
    pokja, admin = t.pokja(), t.admin()
    t.at(at(9, 11))
    objection = ok(
        await t.vendor("b2").post(
            f"/packages/{package_id}/objections", json={"reason": "Spesifikasi b1 tidak sesuai."}
        ),
        201,
    )
    due = at(9, 11) + timedelta(days=t.settings.objection_answer_days)
    t.at(due)  # the end of the answer period is exclusive
    problem(await pokja.post(f"/packages/{package_id}/objections/{objection['id']}/answer", json=REJECT), 409)
    problem(await admin.post(f"/packages/{package_id}/appeals", json={}), 422)
    # Past the objection period the award still waits for the unanswered objection.
    t.at(at(20, 10))
    assert await t.status(package_id) == "winner_announced"
    problem(await t.ppk().post(f"/packages/{package_id}/award", json={}), 409)
    answered = ok(await admin.post(f"/packages/{package_id}/objections/{objection['id']}/answer", json=REJECT))
    assert answered["status"] == "awardable"  # goods: no appeal period to wait for
    (event,) = await t.events("tender.objection_answered.v1")
    assert event["late"] is True
    appeal = {"objection_id": objection["id"], "reason": "Banding untuk barang.", "guarantee": _guarantee(10**7)}
    problem(await t.vendor("b2").post(f"/packages/{package_id}/appeals", json=appeal), 409)  # not construction


async def _barang_winner(t: Tender) -> str:
    package_id = await announced_package(t, procurement_type="barang", name="Pengadaan Alat Kesehatan")
    await register(t, package_id, "b1", "b2")
    t.at(at(2, 10))
    ok(await t.vendor("b1").post(f"/packages/{package_id}/bids", json=bid(900_000_000)), 201)
    ok(await t.vendor("b2").post(f"/packages/{package_id}/bids", json=bid(950_000_000)), 201)
    t.at(DEADLINE)
    ok(await t.pokja().post(f"/packages/{package_id}/opening"))
    await _pass_all(t, package_id, ["b1", "b2"])
    ok(await t.pokja().put(f"/packages/{package_id}/evaluations/b1", json={"qualification_passed": True}))
    t.at(at(9, 10))
    ok(await t.pokja().post(f"/packages/{package_id}/winner"))
    return package_id
