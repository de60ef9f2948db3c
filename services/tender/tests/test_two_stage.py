"""Two-stage bids (dua tahap) through HTTP with the clock: technical offers first, then revised offers with prices
from those who passed."""

from __future__ import annotations

import json

import pytest
from tender_test_support import (
    DEADLINE,
    SECOND_DEADLINE,
    Tender,
    announced_package,
    at,
    bid,
    ok,
    problem,
    register,
    two_stage_schedule,
)

from eproc_shared.testing import eventually

SECRET = 912_345_678


def first_offer(**extra: object) -> dict[str, object]:
    return {"declaration": True, **extra}


# A whole flow: second-round bids and the time-driven close of their window: both databases.
@pytest.mark.databases("sqlite", "postgres")
async def test_a_two_stage_tender_opens_prices_only_from_second_offers_of_those_who_passed(tender: Tender) -> None:
    t = tender
    package_id = await announced_package(t, schedule=two_stage_schedule(), envelope_system="two_stage")
    pokja = t.pokja()
    await register(t, package_id, "s1", "s2", "s3")

    # The first stage takes no price.
    t.at(at(2, 10))
    problem(await t.vendor("s1").post(f"/packages/{package_id}/bids", json=bid(900_000_000)), 422, "price")
    for vendor_id in ("s1", "s2", "s3"):
        ok(await t.vendor(vendor_id).post(f"/packages/{package_id}/bids", json=first_offer()), 201)

    t.at(DEADLINE)
    opened = ok(await pokja.post(f"/packages/{package_id}/opening"))
    assert opened["status"] == "technical_evaluation"
    assert opened["opened_prices"] == []
    problem(await pokja.post(f"/packages/{package_id}/price-opening"), 409)  # two-stage: no price envelope here
    problem(await pokja.post(f"/packages/{package_id}/second-stage"), 409)  # not all judged
    for vendor_id in ("s1", "s2"):
        ok(
            await pokja.put(
                f"/packages/{package_id}/evaluations/{vendor_id}",
                json={"administrative_passed": True, "technical_passed": True},
            )
        )
    ok(
        await pokja.put(
            f"/packages/{package_id}/evaluations/s3",
            json={"administrative_passed": True, "technical_passed": False, "technical_reason": "Metode tidak layak"},
        )
    )
    invited = ok(await pokja.post(f"/packages/{package_id}/second-stage"))
    assert invited["status"] == "second_stage"
    (event,) = await t.events("tender.second_stage_invited.v1")
    assert event["invited_vendor_ids"] == ["s1", "s2"]

    # Second offers: revised technical offer and price, only from those invited, inside the second window.
    problem(await t.vendor("s1").post(f"/packages/{package_id}/bids", json=first_offer()), 409)  # not yet open
    t.at(at(9, 10))
    problem(await t.vendor("s3").post(f"/packages/{package_id}/bids", json=bid(800_000_000)), 403)
    problem(await t.vendor("s1").post(f"/packages/{package_id}/bids", json=first_offer()), 422, "price")
    revised = ok(
        await t.vendor("s1").post(
            f"/packages/{package_id}/bid-documents", params={"name": "teknis-perbaikan.pdf"}, content=b"%PDF revisi"
        ),
        201,
    )
    receipt = ok(
        await t.vendor("s1").post(
            f"/packages/{package_id}/bids", json=bid(SECRET, technical_document_ids=[revised["document_id"]])
        ),
        201,
    )
    for reader in (pokja, t.ppk(), t.admin(), t.public(), t.vendor("s1")):
        assert str(SECRET) not in (await reader.get(f"/packages/{package_id}")).text
    assert str(SECRET) not in (await pokja.get(f"/packages/{package_id}/evaluation")).text
    assert ok(await pokja.get(f"/packages/{package_id}"))["bids_received"] == 1

    t.at(SECOND_DEADLINE)
    await eventually(lambda: t.status_is(package_id, "second_stage_closed"), timeout_s=10)
    problem(await t.vendor("s2").post(f"/packages/{package_id}/bids", json=bid(700_000_000)), 409)
    priced = ok(await pokja.post(f"/packages/{package_id}/price-opening"))
    assert priced["status"] == "evaluation"
    assert {p["vendor_id"]: p["price"] for p in priced["opened_prices"]} == {"s1": SECRET}
    evaluation = ok(await pokja.get(f"/packages/{package_id}/evaluation"))
    bids = {b["vendor_id"]: b for b in evaluation["bids"]}
    assert bids["s1"]["receipt_sha256"] == receipt["receipt_sha256"]
    assert bids["s1"]["receipt_verified"]
    assert any(d.get("name") == "teknis-perbaikan.pdf" and d["intact"] for d in bids["s1"]["documents"])
    assert bids["s2"]["judgement"]["administrative_reason"] == "no second-stage offer"
    assert bids["s3"]["offered_price"] is None
    ok(await pokja.put(f"/packages/{package_id}/evaluations/s1", json={"qualification_passed": True}))
    winner = ok(await pokja.post(f"/packages/{package_id}/winner"))
    assert winner["winner"]["vendor_id"] == "s1"
    opened_events = await t.events("tender.bids_opened.v1")
    assert [e["envelope"] for e in opened_events] == ["technical", "price"]
    assert str(SECRET) not in json.dumps(opened_events[0])
