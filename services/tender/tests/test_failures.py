"""Every way a tender fails, cancellation, re-tender, and objections inside and outside their windows."""

from __future__ import annotations

from datetime import timedelta

from tender_test_support import DEADLINE, START, Tender, announced_package, at, bid, ok, problem, register
from test_full_tender import outbox


async def _opened_with(t: Tender, bids: dict[str, int]) -> str:
    package_id = await announced_package(t)
    await register(t, package_id, *bids)
    t.at(at(2, 10))
    for vendor_id, price in bids.items():
        ok(await t.vendor(vendor_id).post(f"/packages/{package_id}/bids", json=bid(price)), 201)
    t.at(DEADLINE)
    if bids:
        ok(await t.pokja().post(f"/packages/{package_id}/opening"))
    return package_id


async def _pass_all(t: Tender, package_id: str, vendors: list[str]) -> None:
    for vendor_id in vendors:
        ok(
            await t.pokja().put(
                f"/packages/{package_id}/evaluations/{vendor_id}",
                json={"administrative_passed": True, "technical_passed": True},
            )
        )


async def _failure(t: Tender, package_id: str) -> dict[str, object]:
    detail = ok(await t.public().get(f"/packages/{package_id}"))
    assert detail["status"] == "failed"
    failed = [e["payload"] for e in await outbox(t) if e["type"] == "tender.failed.v1"]
    assert failed[-1]["package_id"] == package_id
    return detail["failure"]


async def test_no_bids_fails_at_opening_and_the_package_is_retendered(tender: Tender) -> None:
    t = tender
    package_id = await _opened_with(t, {})
    ok(await t.pokja().post(f"/packages/{package_id}/opening"))
    assert (await _failure(t, package_id))["code"] == "no_bids"
    problem(await t.ppk(opd="dispora").post(f"/packages/{package_id}/retender"), 403)
    again = ok(await t.ppk().post(f"/packages/{package_id}/retender"), 201)
    assert again["status"] == "draft"
    assert again["retender_of"] == package_id
    assert again["hps"] == 1_000_000_000
    problem(await t.ppk().post(f"/packages/{package_id}/retender"), 409)  # once only
    problem(await t.public().get(f"/packages/{again['id']}"), 404)  # drafts are not public


async def test_all_bids_above_hps_fail(tender: Tender) -> None:
    t = tender
    package_id = await _opened_with(t, {"a1": 1_000_000_001, "a2": 1_200_000_000})
    await _pass_all(t, package_id, ["a1", "a2"])
    ok(await t.pokja().post(f"/packages/{package_id}/winner"))
    assert (await _failure(t, package_id))["code"] == "all_above_hps"


async def test_nobody_passing_evaluation_fails(tender: Tender) -> None:
    t = tender
    package_id = await _opened_with(t, {"n1": 900_000_000})
    ok(
        await t.pokja().put(
            f"/packages/{package_id}/evaluations/n1",
            json={
                "administrative_passed": False,
                "administrative_reason": "Jaminan penawaran tidak ada",
                "technical_passed": True,
            },
        )
    )
    ok(await t.pokja().post(f"/packages/{package_id}/winner"))
    assert (await _failure(t, package_id))["code"] == "no_bid_passed"


async def test_an_upheld_objection_can_fail_the_tender_and_late_objections_are_refused(tender: Tender) -> None:
    t = tender
    package_id = await _opened_with(t, {"o1": 900_000_000, "o2": 950_000_000})
    await _pass_all(t, package_id, ["o1", "o2"])
    ok(await t.pokja().put(f"/packages/{package_id}/evaluations/o1", json={"qualification_passed": True}))
    t.at(at(9, 10))
    announced = ok(await t.pokja().post(f"/packages/{package_id}/winner"))
    ends = announced["winner"]["objection_ends_at"]
    assert ends.startswith((at(9, 10) + timedelta(days=t.settings.objection_days)).strftime("%Y-%m-%dT%H:%M"))

    # Only participants object; a reason is required; the last millisecond of the window still counts.
    problem(
        await t.vendor("outsider").post(
            f"/packages/{package_id}/objections", json={"reason": "Saya keberatan sekali."}
        ),
        403,
    )
    problem(await t.vendor("o2").post(f"/packages/{package_id}/objections", json={"reason": "x"}), 422, "reason")
    t.at(at(9, 10) + timedelta(days=t.settings.objection_days) - timedelta(milliseconds=1))
    objection = ok(
        await t.vendor("o2").post(
            f"/packages/{package_id}/objections", json={"reason": "Pemenang tidak memenuhi syarat SBU."}
        ),
        201,
    )
    t.at(at(9, 10) + timedelta(days=t.settings.objection_days))
    problem(
        await t.vendor("o2").post(f"/packages/{package_id}/objections", json={"reason": "Keberatan kedua terlambat."}),
        409,
    )
    problem(
        await t.pokja("pokja-2").post(
            f"/packages/{package_id}/objections/{objection['id']}/answer",
            json={"answer": "Sanggah diterima seluruhnya.", "upheld": True, "consequence": "fail"},
        ),
        403,
    )
    problem(
        await t.pokja().post(
            f"/packages/{package_id}/objections/{objection['id']}/answer",
            json={"answer": "Sanggah diterima seluruhnya.", "upheld": True},
        ),
        422,
        "consequence",
    )
    ok(
        await t.pokja().post(
            f"/packages/{package_id}/objections/{objection['id']}/answer",
            json={"answer": "Sanggah diterima seluruhnya.", "upheld": True, "consequence": "fail"},
        )
    )
    assert (await _failure(t, package_id))["code"] == "objection_upheld"
    answered = [e["payload"] for e in await outbox(t) if e["type"] == "tender.objection_answered.v1"]
    assert answered[0]["late"] is False


async def test_collusion_and_cancellation_need_a_reason_and_the_right_official(tender: Tender) -> None:
    t = tender
    package_id = await _opened_with(t, {"k1": 900_000_000})
    problem(
        await t.pokja().post(f"/packages/{package_id}/failure", json={"reason_code": "collusion", "reason": "x"}),
        422,
        "reason",
    )
    ok(
        await t.pokja().post(
            f"/packages/{package_id}/failure",
            json={"reason_code": "collusion", "reason": "Dokumen penawaran identik antar peserta."},
        )
    )
    assert (await _failure(t, package_id))["code"] == "collusion"

    t.at(START)  # a new package, scheduled from the start again
    other = await announced_package(t)
    problem(await t.pokja().post(f"/packages/{other}/cancellation", json={"reason": "Anggaran dialihkan."}), 403)
    problem(
        await t.ppk(opd="dispora").post(f"/packages/{other}/cancellation", json={"reason": "Anggaran dialihkan."}), 403
    )
    cancelled = ok(
        await t.ppk().post(f"/packages/{other}/cancellation", json={"reason": "Anggaran dialihkan ke prioritas lain."})
    )
    assert cancelled["status"] == "cancelled"
    problem(await t.ppk().post(f"/packages/{other}/cancellation", json={"reason": "Anggaran dialihkan lagi."}), 409)
    assert any(e["type"] == "tender.cancelled.v1" for e in await outbox(t))
