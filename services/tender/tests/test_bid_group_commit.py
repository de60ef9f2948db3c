"""Sealed bids are prepared in a read snapshot and written in group commits (flows/bid_writer.py): many at once
are all stored, each replacement names the bid it replaces, and a bid prepared from a package that changed
meanwhile is judged again from the package as it now is."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import event, text
from tender_test_support import Tender, announced_package, at, bid, ok, problem, register

VENDORS = [f"g{i}" for i in range(12)]
BIDS_EACH = 3


@pytest.mark.databases("sqlite", "postgres")
async def test_concurrent_bids_are_all_stored_in_fewer_transactions_and_chain_their_replacements(
    tender: Tender,
) -> None:
    t = tender
    package_id = await announced_package(t)
    await register(t, package_id, *VENDORS)
    t.at(at(3, 10))
    clients = {v: t.vendor(v) for v in VENDORS}

    writes = 0

    def on_begin(connection: Any) -> None:
        nonlocal writes
        if not connection.get_execution_options().get("eproc_readonly", False):
            writes += 1

    engine = t.runtime.engine.sync_engine
    event.listen(engine, "begin", on_begin)
    try:
        answers = await asyncio.gather(
            *(
                clients[v].post(f"/packages/{package_id}/bids", json=bid(900_000_000 + 1000 * i + n))
                for n in range(BIDS_EACH)
                for i, v in enumerate(VENDORS)
            )
        )
    finally:
        event.remove(engine, "begin", on_begin)
    receipts = [ok(a, 201) for a in answers]
    assert len({r["bid_id"] for r in receipts}) == len(VENDORS) * BIDS_EACH
    assert writes < len(receipts), f"{writes} write transactions for {len(receipts)} bids: no group commit"

    rows = await t.sql(
        "SELECT id, vendor_id, receipt_sha256 FROM bids WHERE package_id = :p ORDER BY seq", p=package_id
    )
    assert sorted(r.id for r in rows) == sorted(r["bid_id"] for r in receipts), "every accepted bid is stored"
    assert {r.id: r.receipt_sha256 for r in rows} == {r["bid_id"]: r["receipt_sha256"] for r in receipts}

    events = {e["bid_id"]: e for e in await t.events("tender.bid_submitted.v2")}
    stored: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        stored[row.vendor_id].append(row.id)
    for vendor, ids in stored.items():
        # In the order the bids were stored, each replaces the one before; the first replaces none.
        assert [events[i]["replaces_bid_id"] for i in ids] == [None, *ids[:-1]], vendor
        mine = ok(await clients[vendor].get(f"/packages/{package_id}/bids/mine"))
        assert mine["bid_id"] == ids[-1]
    assert len(events) == len(rows)


@pytest.mark.databases("sqlite", "postgres")
async def test_a_bid_prepared_from_a_package_that_changed_is_judged_on_the_package_as_it_now_is(
    tender: Tender,
) -> None:
    t = tender
    package_id = await announced_package(t)
    await register(t, package_id, "c1", "c2")
    t.at(at(3, 10))
    vendor = t.vendor("c1")
    # This bid leaves the package as the bid path keeps it between requests.
    ok(await vendor.post(f"/packages/{package_id}/bids", json=bid(950_000_000)), 201)

    ok(await t.ppk().post(f"/packages/{package_id}/cancellation", json={"reason": "Anggaran dialihkan."}))
    assert await t.status(package_id) == "cancelled"

    body = problem(await vendor.post(f"/packages/{package_id}/bids", json=bid(940_000_000)), 409)
    assert body["type"].rsplit("/", 1)[1] == "wrong-state"
    problem(await t.vendor("c2").post(f"/packages/{package_id}/bids", json=bid(930_000_000)), 409)
    rows = await t.sql("SELECT vendor_id FROM bids WHERE package_id = :p", p=package_id)
    assert [r.vendor_id for r in rows] == ["c1"], "nothing was stored after the cancellation"
    payloads = await t.events("tender.bid_submitted.v2")
    assert [json.dumps(p["vendor_id"]) for p in payloads if p["package_id"] == package_id] == ['"c1"']


async def test_the_write_checks_the_participant_the_read_took_on_trust(tender: Tender) -> None:
    t = tender
    package_id = await announced_package(t)
    await register(t, package_id, "r1")
    t.at(at(3, 10))
    vendor = t.vendor("r1")
    ok(await vendor.post(f"/packages/{package_id}/bids", json=bid(950_000_000)), 201)
    # The bid path now remembers r1 as a participant. Its registration goes (by hand, as no route does this):
    async with t.runtime.sessions() as session, session.begin():
        await session.execute(
            text("DELETE FROM participants WHERE package_id = :p AND vendor_id = 'r1'"), {"p": package_id}
        )
    body = problem(await vendor.post(f"/packages/{package_id}/bids", json=bid(940_000_000)), 403)
    assert body["type"].rsplit("/", 1)[1] == "not-a-participant"
    assert len(await t.sql("SELECT id FROM bids WHERE package_id = :p", p=package_id)) == 1
