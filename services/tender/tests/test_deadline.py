"""The bid deadline is judged by the server clock, under concurrent submissions; every accepted bid is opened."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from tender_test_support import DEADLINE, Tender, announced_package, at, bid, ok, problem, register

VENDORS = [f"d{i}" for i in range(8)]


# Concurrent writers under the package lock, and millisecond times stored and compared: both databases.
@pytest.mark.databases("sqlite", "postgres")
async def test_one_millisecond_early_is_accepted_and_one_late_refused_under_concurrency(tender: Tender) -> None:
    t = tender
    package_id = await announced_package(t)
    await register(t, package_id, *VENDORS)
    clients = {v: t.vendor(v) for v in VENDORS}

    t.at(DEADLINE - timedelta(milliseconds=1))
    early = await asyncio.gather(
        *(clients[v].post(f"/packages/{package_id}/bids", json=bid(900_000_000 + i)) for i, v in enumerate(VENDORS))
    )
    receipts = {v: ok(r, 201) for v, r in zip(VENDORS, early, strict=True)}
    assert {datetime.fromisoformat(r["received_at"]) for r in receipts.values()} == {
        DEADLINE - timedelta(milliseconds=1)
    }

    for late_by in (timedelta(0), timedelta(milliseconds=1)):
        t.at(DEADLINE + late_by)
        late = await asyncio.gather(
            *(clients[v].post(f"/packages/{package_id}/bids", json=bid(800_000_000)) for v in VENDORS),
            clients["d0"].delete(f"/packages/{package_id}/bids/mine"),
        )
        for response in late:
            body = problem(response, 409)
            # Either the stage window refuses it or, once time has closed the package, its state does.
            assert body["type"].rsplit("/", 1)[1] in ("outside-stage", "wrong-state"), body

    # Every bid accepted before the deadline is the one opened, unchanged.
    opened = ok(await t.pokja().post(f"/packages/{package_id}/opening"))
    assert {p["vendor_id"]: p["price"] for p in opened["opened_prices"]} == {
        v: 900_000_000 + i for i, v in enumerate(VENDORS)
    }
    assert all(p["receipt_verified"] for p in opened["opened_prices"])


async def test_withdrawal_before_the_deadline_removes_the_bid_from_opening(tender: Tender) -> None:
    t = tender
    package_id = await announced_package(t)
    await register(t, package_id, "w1", "w2")
    t.at(at(3, 10))
    ok(await t.vendor("w1").post(f"/packages/{package_id}/bids", json=bid(910_000_000)), 201)
    ok(await t.vendor("w2").post(f"/packages/{package_id}/bids", json=bid(920_000_000)), 201)
    assert ok(await t.vendor("w2").delete(f"/packages/{package_id}/bids/mine"))["withdrawn"] is True
    problem(await t.vendor("w2").delete(f"/packages/{package_id}/bids/mine"), 404)
    # A vendor cannot bid before the submission stage opens, nor without registering.
    problem(await t.vendor("stranger").post(f"/packages/{package_id}/bids", json=bid(1)), 403)
    t.at(DEADLINE)
    opened = ok(await t.pokja().post(f"/packages/{package_id}/opening"))
    assert [p["vendor_id"] for p in opened["opened_prices"]] == ["w1"]
    # The withdrawn bid is still in the database (append-only), just not counted.
    rows = await t.sql("SELECT vendor_id, withdrawn FROM bids WHERE package_id = :p ORDER BY seq", p=package_id)
    assert [(r[0], bool(r[1])) for r in rows] == [("w1", False), ("w2", False), ("w2", True)]
