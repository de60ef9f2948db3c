"""The public event feed: public-topic entries only, in log order, resumed by cursor without gaps or
repeats while events keep arriving through the broker."""

from __future__ import annotations

import asyncio
from typing import Any

import flows
from audit_test_support import Service


async def test_cursor_resumes_without_gaps_or_duplicates_under_concurrent_writes(service: Service) -> None:
    run = flows.run_id()
    public_ids: list[str] = []

    async def writer() -> None:
        for i in range(30):
            f = flows.facts(f"F{i}-{run}", f"opd-{run}")
            public_ids.append((await flows.publish(service, flows.announced(f, bidding_days=14), f.package_id)).id)
            await flows.publish(service, flows.bid(f.package_id, f.opd_id, f"V-{run}", "a"), f.package_id)

    writing = asyncio.create_task(writer())
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(2000):
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        response = await service.client.get("/public/events", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        # Full pages are final and cacheable for good; the head page must be fetched again.
        full = len(body["items"]) == 7
        assert response.headers["cache-control"] == ("public, max-age=31536000, immutable" if full else "no-cache")
        seen.extend(body["items"])
        assert body["next_cursor"], "the feed always gives a cursor to resume from"
        cursor = body["next_cursor"]
        mine = {e["id"] for e in seen} & set(public_ids)
        if writing.done() and len(mine) == 30:
            break
        if not body["items"]:
            await asyncio.sleep(0.1)
    await writing
    seqs = [e["seq"] for e in seen]
    assert seqs == sorted(set(seqs)), "log order, no repeats"
    assert {e["topic"] for e in seen} <= {"eproc.tender.public", "eproc.vendor.public", "eproc.contract.public"}
    # Each package is its own partition key, so the log's order across them is the broker's, not the sender's.
    assert sorted(e["id"] for e in seen if e["id"] in set(public_ids)) == sorted(public_ids)
    # Nothing was skipped: the feed holds exactly the public entries of the log up to where it stopped.
    everything = await service.entries()
    public = [e["seq"] for e in everything if e["type"] == "tender.announced.v1" and e["seq"] <= seqs[-1]]
    assert set(public) <= set(seqs)
    assert not [e for e in seen if e["type"] == "tender.bid_submitted.v1"], "internal events never appear"
    assert (await service.client.get("/public/events", params={"cursor": "bad"})).status_code == 400
