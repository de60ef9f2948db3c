"""Tender cepat through HTTP with the manual clock: rounds, lowering-only prices, nameless round rankings,
the system's ranking with ties (the price submitted first wins), failure with fewer than two bidders."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from tender_test_support import Tender, at, ok, package_body, problem, window

from eproc_shared.testing import eventually

HPS = 1_000_000_000
ROUNDS = {
    "rounds": [
        window(at(1, 9), at(1, 10)),
        window(at(1, 11), at(1, 12)),
        window(at(1, 13), at(1, 14)),
    ]
}


def cepat_body(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Pengadaan Aspal Hotmix Jalan Lingkungan",
        "method": "tender_cepat",
        "procurement_type": "barang",
        "contract_type": "unit_price",
        "hps_items": [{"description": "Aspal hotmix AC-WC", "unit": "ton", "quantity": 1000, "unit_price": 1_000_000}],
    }
    return package_body(**(values | overrides))


async def auction_package(t: Tender, rounds: dict[str, Any] = ROUNDS) -> str:
    ppk, pokja = t.ppk(), t.pokja()
    package_id = ok(await ppk.post("/packages", json=cepat_body()), 201)["id"]
    ok(await ppk.post(f"/packages/{package_id}/assignment", json={"pokja_id": "pokja-1"}))
    ok(await pokja.put(f"/packages/{package_id}/auction/rounds", json=rounds))
    announced = ok(await pokja.post(f"/packages/{package_id}/announcement"))
    assert announced["status"] == "auction"
    return package_id


async def price(t: Tender, vendor_id: str, package_id: str, amount: int) -> Any:
    return await t.vendor(vendor_id).post(f"/packages/{package_id}/auction/bids", json={"price": amount})


async def closed_rounds(t: Tender, package_id: str, count: int) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        view = ok(await t.public().get(f"/public/packages/{package_id}/auction"))
        return view if sum(r["closed"] for r in view["rounds"]) >= count else None

    return await eventually(check, timeout_s=10)  # type: ignore[no-any-return]


# Ties are broken by stored submission times (and arrival order): both databases.
@pytest.mark.databases("sqlite", "postgres")
async def test_an_auction_in_rounds_lowers_prices_ranks_ties_by_time_and_awards(tender: Tender) -> None:
    t = tender
    for vendor_id in ("a1", "a2", "a3"):
        await t.seed_vendor(vendor_id)
    await t.seed_vendor("x9", kbli_codes=["47611"])  # verified, but not for this package's business field
    package_id = await auction_package(t)
    invited = (await t.events("tender.auction_invited.v1"))[0]
    assert invited["vendor_ids"] == ["a1", "a2", "a3"]

    problem(await price(t, "a1", package_id, 950_000_000), 409)  # before round 1 opens
    t.at(at(1, 9, 5))
    body = problem(await price(t, "x9", package_id, 900_000_000), 403)
    assert body["type"].endswith("not-invited")
    assert problem(await price(t, "a2", package_id, HPS + 1), 422, "price")["errors"][0]["code"] == "above-hps"
    ok(await price(t, "a1", package_id, 950_000_000), 201)
    ok(await price(t, "a2", package_id, 960_000_000), 201)
    raised = problem(await price(t, "a1", package_id, 955_000_000), 422, "price")
    assert raised["errors"][0]["code"] == "price-not-lower"
    assert "950000000" in raised["detail"]
    problem(await price(t, "a1", package_id, 950_000_000), 422, "price")  # the same price is not lower

    t.at(at(1, 10, 30))  # between rounds
    problem(await price(t, "a1", package_id, 940_000_000), 409)
    first = await closed_rounds(t, package_id, 1)
    assert first["rounds"][0]["ranking"] == [
        {"position": 1, "price": 950_000_000},
        {"position": 2, "price": 960_000_000},
    ]
    # Nameless: positions and prices only, and no vendor id or name anywhere in what the public reads.
    assert all(set(s) == {"position", "price"} for r in first["rounds"] for s in r["ranking"] or [])
    assert not any(name in json.dumps(first) for name in ('"a1"', '"a2"', "PT A1", "PT A2"))

    t.at(at(1, 11, 5))
    late = problem(await price(t, "a3", package_id, 800_000_000), 409, "price")
    assert late["type"].endswith("not-in-first-round")
    ok(await price(t, "a2", package_id, 900_000_000), 201)
    t.at(at(1, 11, 20))
    ok(await price(t, "a1", package_id, 900_000_000), 201)  # matches a2's price, later
    t.at(at(1, 12, 30))
    second = await closed_rounds(t, package_id, 2)
    assert second["rounds"][1]["ranking"] == [
        {"position": 1, "price": 900_000_000},
        {"position": 2, "price": 900_000_000},
    ]
    mine = ok(await t.vendor("a1").get(f"/packages/{package_id}/auction"))
    assert [r.get("my_position") for r in mine["rounds"]] == [1, 2, None]  # a2 held 900 000 000 first

    t.at(at(1, 13, 10))
    ok(await price(t, "a1", package_id, 880_000_000), 201)
    t.at(at(1, 13, 20))
    ok(await price(t, "a2", package_id, 880_000_000), 201)
    t.at(at(1, 14))  # the end of the last round is exclusive: now it is over
    problem(await price(t, "a2", package_id, 870_000_000), 409)
    await eventually(lambda: t.status_is(package_id, "awardable"), timeout_s=10)

    public = ok(await t.public().get(f"/public/packages/{package_id}/auction"))
    assert [(r["position"], r["vendor_id"], r["price"]) for r in public["results"]] == [
        (1, "a1", 880_000_000),
        (2, "a2", 880_000_000),
    ]
    closed = await t.events("tender.auction_round_closed.v1")
    assert [(e["round"], [s["price"] for s in e["ranking"]]) for e in closed] == [
        (1, [950_000_000, 960_000_000]),
        (2, [900_000_000, 900_000_000]),
        (3, [880_000_000, 880_000_000]),
    ]
    [concluded] = await t.events("tender.auction_concluded.v1")
    assert (concluded["winner_vendor_id"], concluded["winning_price"], concluded["reserve_vendor_ids"]) == (
        "a1",
        880_000_000,
        ["a2"],
    )
    detail = ok(await t.public().get(f"/public/packages/{package_id}"))
    assert (detail["status"], detail["winner"]["vendor_name"]) == ("awardable", "PT A1")
    assert datetime.fromisoformat(detail["bid_deadline"]) == at(1, 14)  # the last round's end
    # No objection period: the PPK awards at once, with the same award event as a tender.
    ok(await t.ppk().post(f"/packages/{package_id}/award", json={}))
    [award] = await t.events("tender.awarded.v1")
    assert award["package"]["method"] == "tender_cepat"
    assert (award["winner"]["vendor_id"], award["offered_price"], award["awarded_price"]) == (
        "a1",
        950_000_000,
        880_000_000,
    )
    bids = await t.events("tender.auction_bid_submitted.v1")
    assert [(b["vendor_id"], b["round"], b["price"]) for b in bids][:2] == [
        ("a1", 1, 950_000_000),
        ("a2", 1, 960_000_000),
    ]
    assert bids[0]["submitter_address"] == "127.0.0.1"


async def test_package_rules_and_fewer_than_two_bidders_fail(tender: Tender) -> None:
    t = tender
    ppk, pokja = t.ppk(), t.pokja()
    problem(await ppk.post("/packages", json=cepat_body(hps_items=[])), 422, "hps_items")
    problem(await ppk.post("/packages", json=cepat_body(envelope_system="two_file")), 422, "envelope_system")
    package_id = ok(await ppk.post("/packages", json=cepat_body()), 201)["id"]
    ok(await ppk.post(f"/packages/{package_id}/assignment", json={"pokja_id": "pokja-1"}))
    problem(await pokja.post(f"/packages/{package_id}/announcement"), 409)  # no rounds yet
    problem(await pokja.put(f"/packages/{package_id}/schedule", json={"stages": {}}), 409)  # rounds, not stages
    overlapping = {"rounds": [window(at(1, 9), at(1, 11)), window(at(1, 10), at(1, 12))]}
    problem(await pokja.put(f"/packages/{package_id}/auction/rounds", json=overlapping), 422, "rounds.1.starts_at")
    one_round = {"rounds": [window(at(1, 9), at(1, 10))]}
    ok(await pokja.put(f"/packages/{package_id}/auction/rounds", json=one_round))
    await t.seed_vendor("b1")
    problem(await pokja.post(f"/packages/{package_id}/announcement"), 409)  # one qualified vendor is too few
    await t.seed_vendor("b2")
    ok(await pokja.post(f"/packages/{package_id}/announcement"))

    t.at(at(1, 9, 30))
    ok(await price(t, "b1", package_id, 990_000_000), 201)
    t.at(at(1, 10))
    await eventually(lambda: t.status_is(package_id, "failed"), timeout_s=10)
    [failed] = await t.events("tender.failed.v1")
    assert failed["reason_code"] == "other"
    assert "2 bidders" in failed["reason"]
    assert not await t.events("tender.auction_concluded.v1")
    problem(await t.ppk().post(f"/packages/{package_id}/award", json={}), 409)
