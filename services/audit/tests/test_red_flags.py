"""Each red flag fired, and not fired, by crafted event sequences through the real broker; the evidence
points at the right log entries; replays change nothing; new flags reach the public SSE stream."""

from __future__ import annotations

import asyncio
import hashlib
import json
from contextlib import suppress
from datetime import timedelta
from typing import Any

import flows
import pytest
from audit_test_support import Service
from flows import T0, publish, republish

from eproc_audit.red_flags import network_address
from eproc_shared.events.envelope import Envelope
from eproc_shared.testing import eventually


async def _flags(service: Service, **params: str) -> list[dict[str, Any]]:
    response = await service.client.get("/public/red-flags", params={**params, "limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def _logged(service: Service, envelopes: list[Envelope[Any]]) -> dict[str, int]:
    """Waits until every envelope is in the log; returns event id -> seq."""

    async def check() -> dict[str, int] | None:
        found = await service.logged(*(e.id for e in envelopes))
        return {e["event_id"]: e["seq"] for e in found} if len(found) == len(envelopes) else None

    return await eventually(check)  # type: ignore[no-any-return]


def _kinds(flags: list[dict[str, Any]]) -> set[str]:
    return {f["kind"] for f in flags}


async def _read_stream(service: Service, into: list[dict[str, Any]], ready: asyncio.Event) -> None:
    async with service.client.stream("GET", "/public/red-flags/stream", timeout=None) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        ready.set()
        event: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line.startswith(("id:", "event:", "data:")):
                name, _, value = line.partition(":")
                event[name] = value.strip()
            elif line == "" and "data" in event:
                into.append({"id": int(event["id"]), "event": event["event"], **json.loads(event["data"])})
                event = {}


async def test_package_flags_fire_on_their_facts_only(service: Service) -> None:
    run = flows.run_id()
    opd = f"dinkes-{run}"
    streamed: list[dict[str, Any]] = []
    ready = asyncio.Event()
    reader = asyncio.create_task(_read_stream(service, streamed, ready))
    await asyncio.wait_for(ready.wait(), 10)
    sent: list[Envelope[Any]] = []

    async def send(payload: Any, key: str) -> Envelope[Any]:
        envelope = await publish(service, payload, key)
        sent.append(envelope)
        return envelope

    # A: 3 days to bid, a single bidder at 99% of HPS, awarded 5 days after the announcement.
    a, fa = f"A-{run}", flows.facts(f"A-{run}", opd)
    a_announced = await send(flows.announced(fa, bidding_days=3), a)
    await send(flows.bid(a, opd, "V1", "1"), a)
    a_opened = await send(flows.opened(a, {"V1": 990_000_000}), a)
    a_winner = await send(flows.winner(a, opd, "V1", {"V1": 990_000_000}, fa.hps), a)
    a_award = await send(flows.awarded(fa, "V1", 990_000_000, days=5), a)
    # B: 14 days, three bidders, V2 and V3 sent byte-identical sealed bids, V2 won though V3 was cheaper.
    b, fb = f"B-{run}", flows.facts(f"B-{run}", opd)
    await send(flows.announced(fb, bidding_days=14), b)
    b_bids = [
        await send(flows.bid(b, opd, "V2", "2"), b),
        await send(flows.bid(b, opd, "V3", "2"), b),
        await send(flows.bid(b, opd, "V4", "4"), b),
    ]
    b_prices = {"V2": 850_000_000, "V3": 800_000_000, "V4": 900_000_000}
    # C: clean (14 days, three bidders, the lowest wins at 85%, awarded after 30 days).
    c, fc = f"C-{run}", flows.facts(f"C-{run}", opd)
    await send(flows.announced(fc, bidding_days=14), c)
    for v, receipt in (("V5", "5"), ("V6", "6"), ("V7", "7")):
        await send(flows.bid(c, opd, v, receipt), c)
    c_prices = {"V5": 850_000_000, "V6": 870_000_000, "V7": 900_000_000}
    await send(flows.opened(c, c_prices), c)
    await send(flows.winner(c, opd, "V5", c_prices, fc.hps), c)
    await send(flows.awarded(fc, "V5", 850_000_000, days=30), c)
    # D: awarded 120 days after the announcement; E: scoring evaluation, so a dearer winner is not flagged.
    d, fd = f"D-{run}", flows.facts(f"D-{run}", opd)
    d_announced = await send(flows.announced(fd, bidding_days=14), d)
    d_award = await send(flows.awarded(fd, "V8", 800_000_000, days=120), d)
    e, fe = f"E-{run}", flows.facts(f"E-{run}", opd, evaluation="scoring")
    await send(flows.announced(fe, bidding_days=14), e)
    await send(flows.winner(e, opd, "V2", {"V2": 850_000_000, "V3": 800_000_000}, fe.hps), e)
    seqs = await _logged(service, sent)

    # Identical sealed bids are not flagged before the bids are opened (nothing about bids is public yet).
    assert "shared_bid_document" not in _kinds(await _flags(service, package_id=b))
    b_open = await send(flows.opened(b, b_prices), b)
    b_winner = await send(flows.winner(b, opd, "V2", b_prices, fb.hps), b)
    await send(flows.awarded(fb, "V2", 850_000_000, days=30), b)
    seqs |= await _logged(service, sent)

    flags_a = {f["kind"]: f for f in await _flags(service, package_id=a)}
    assert set(flags_a) == {"single_bidder", "short_bidding_period", "price_near_hps", "award_too_fast"}
    assert flags_a["single_bidder"]["evidence"] == [seqs[a_opened.id]]
    assert flags_a["short_bidding_period"]["evidence"] == [seqs[a_announced.id]]
    assert flags_a["price_near_hps"]["evidence"] == [seqs[a_winner.id]]
    assert flags_a["price_near_hps"]["vendor_id"] == "V1"
    assert flags_a["award_too_fast"]["evidence"] == sorted([seqs[a_announced.id], seqs[a_award.id]])
    assert "3.0 days" in flags_a["short_bidding_period"]["explanation"]

    flags_b = {f["kind"]: f for f in await _flags(service, package_id=b)}
    assert set(flags_b) == {"shared_bid_document", "winner_not_lowest"}
    shared = flags_b["shared_bid_document"]
    assert shared["evidence"] == sorted([seqs[b_bids[0].id], seqs[b_bids[1].id]])
    assert "V2, V3" in shared["explanation"]
    assert "V4" not in shared["explanation"]
    assert shared["raised_by_seq"] == seqs[b_open.id]
    assert "2" * 64 not in shared["explanation"], "the receipt hash itself is not published"
    assert flags_b["winner_not_lowest"]["evidence"] == [seqs[b_winner.id]]
    assert "V3 offered Rp800,000,000" in flags_b["winner_not_lowest"]["explanation"]

    assert await _flags(service, package_id=c) == []
    assert await _flags(service, package_id=e) == []
    flags_d = await _flags(service, package_id=d)
    assert [(f["kind"], f["evidence"]) for f in flags_d] == [
        ("award_too_slow", sorted([seqs[d_announced.id], seqs[d_award.id]]))
    ]
    v1 = {f["package_id"] for f in await _flags(service, vendor_id="V1")}
    assert {p for p in v1 if p.endswith(run)} == {a}

    # Replays of the same events change nothing: no entry, no flag, no changed fact.
    before = await _flags(service, opd_id=opd)
    entries_before = len(await service.entries())
    replayed = [await republish(service, env) for env in sent]
    marker = await publish(service, flows.amended(c, bidding_days=20), c)
    await _logged(service, [marker])
    assert len(await service.entries()) == entries_before + 1
    assert await _flags(service, opd_id=opd) == before
    assert len(replayed) == len(sent)

    # Every new flag reached the stream, once, in order, with nothing but the public flag fields.
    ids = sorted(f["id"] for f in before)

    async def all_streamed() -> bool:
        return sorted(f["id"] for f in streamed if f["opd_id"] == opd) == ids

    await eventually(all_streamed)
    assert [f["id"] for f in streamed if f["opd_id"] == opd] == ids
    assert all(f["event"] == "red_flag" for f in streamed)
    assert set(streamed[0]) == {"id", "event", *before[0].keys()}
    reader.cancel()
    with suppress(asyncio.CancelledError):
        await reader

    # A reconnecting monitor resumes after the last id it saw.
    resumed: list[dict[str, Any]] = []
    last = ids[-2]
    async with service.client.stream(
        "GET", "/public/red-flags/stream", headers={"Last-Event-ID": str(last)}, params={"opd_id": opd}
    ) as response:
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                resumed.append({"id": int(line[3:])})
                break
    assert resumed == [{"id": ids[-1]}]
    bad = await service.client.get("/public/red-flags", params={"kind": "nope"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "kind"


async def test_vendor_opd_and_contract_flags(service: Service) -> None:
    run = flows.run_id()
    opd, other_opd = f"dispora-{run}", f"dishub-{run}"
    sent: list[Envelope[Any]] = []

    async def send(payload: Any, key: str) -> Envelope[Any]:
        envelope = await publish(service, payload, key)
        sent.append(envelope)
        return envelope

    # Repeat winner: W1 wins 3 tenders at one OPD within a year; W2 wins 2; W1's win elsewhere does not count.
    w1_awards = []
    for i, days in enumerate((10, 100, 200)):
        f = flows.facts(f"R{i}-{run}", opd)
        w1_awards.append(await send(flows.awarded(f, "W1", 800_000_000, days=days), f.package_id))
    for i in range(2):
        f = flows.facts(f"Q{i}-{run}", opd)
        await send(flows.awarded(f, "W2", 800_000_000, days=20 + i), f.package_id)
    f = flows.facts(f"X-{run}", other_opd)
    await send(flows.awarded(f, "W2", 800_000_000, days=30), f.package_id)

    # Split purchases (pengadaan langsung, ceiling Rp200 juta): S1 twice in 10 days for 150 + 100 juta.
    def direct(pid: str, kbli: str, hps: int) -> Any:
        return flows.facts(pid, opd, method="pengadaan_langsung", hps=hps, pagu=hps, kbli=(kbli,))

    s1a, s1b = direct(f"S1a-{run}", "10001", 150_000_000), direct(f"S1b-{run}", "10002", 100_000_000)
    s1a_award = await send(flows.awarded(s1a, "S1", 150_000_000, days=10), s1a.package_id)
    s1b_award = await send(flows.awarded(s1b, "S1", 100_000_000, days=20), s1b.package_id)
    # S2: small purchases whose sum stays under the ceiling; S3: the same sums 60 days apart.
    for pid, vendor, value, days in (
        (f"S2a-{run}", "S2", 50_000_000, 10),
        (f"S2b-{run}", "S2", 60_000_000, 12),
        (f"S3a-{run}", "S3", 150_000_000, 10),
        (f"S3b-{run}", "S3", 100_000_000, 70),
    ):
        f = direct(pid, f"2{pid[:3]}", value)
        await send(flows.awarded(f, vendor, value, days=days), pid)
    # Different vendors, same KBLI, within the window, together above the ceiling.
    k1, k2 = direct(f"K1-{run}", "41011", 120_000_000), direct(f"K2-{run}", "41011", 90_000_000)
    await send(flows.awarded(k1, "KA", 120_000_000, days=40), k1.package_id)
    await send(flows.awarded(k2, "KB", 90_000_000, days=45), k2.package_id)

    # Amendments: +85 juta on 1 miliar (8.5%, 85% of the 10% cap) is flagged; +50 juta (5%) is not.
    c1, c2 = f"C1-{run}", f"C2-{run}"
    await send(flows.signed(c1, f"R0-{run}", opd, "W1", 1_000_000_000), c1)
    c1_amended = await send(
        flows.contract_amended(c1, f"R0-{run}", opd, "W1", original=1_000_000_000, added=85_000_000), c1
    )
    await send(flows.signed(c2, f"R1-{run}", opd, "W1", 1_000_000_000), c2)
    await send(flows.contract_amended(c2, f"R1-{run}", opd, "W1", original=1_000_000_000, added=50_000_000), c2)
    seqs = await _logged(service, sent)

    w1 = await _flags(service, vendor_id="W1", opd_id=opd)  # (the PostgreSQL database outlives one test)
    repeat = [f for f in w1 if f["kind"] == "repeat_winner"]
    assert [(f["package_id"], f["opd_id"]) for f in repeat] == [(f"R2-{run}", opd)]
    assert repeat[0]["evidence"] == sorted(seqs[e.id] for e in w1_awards)
    assert not [f for f in await _flags(service, vendor_id="W2", opd_id=opd) if f["kind"] == "repeat_winner"]

    splits = [f for f in await _flags(service, opd_id=opd) if f["kind"] == "split_purchase"]
    by_package = {(f["package_id"], f["vendor_id"]) for f in splits}
    assert by_package == {(f"S1a-{run}", "S1"), (f"S1b-{run}", "S1"), (f"K1-{run}", None), (f"K2-{run}", None)}
    s1 = next(f for f in splits if f["package_id"] == f"S1b-{run}")
    assert s1["evidence"] == sorted([seqs[s1a_award.id], seqs[s1b_award.id]])
    assert "Rp250,000,000" in s1["explanation"]

    cap = [f for f in w1 if f["kind"] == "amendment_near_cap"]
    assert [(f["contract_id"], f["evidence"]) for f in cap] == [(c1, [seqs[c1_amended.id]])]
    assert "close to" in cap[0]["explanation"]


def test_time_windows_are_exact() -> None:
    """The thresholds are inclusive where the settings say 'at least' (pure rules, no broker needed)."""
    from eproc_audit.red_flags import Package, package_flags
    from eproc_audit.settings import AuditSettings

    settings = AuditSettings()
    exactly = Package("P", "opd", "tender", announced_at=T0, submission_ends_at=T0 + timedelta(days=7))
    assert package_flags(exactly, [], settings) == []
    short = Package("P", "opd", "tender", announced_at=T0, submission_ends_at=T0 + timedelta(days=7, seconds=-1))
    assert [f.kind for f in package_flags(short, [], settings)] == ["short_bidding_period"]
    direct = Package("P", "opd", "pengadaan_langsung", announced_at=T0, submission_ends_at=T0 + timedelta(days=1))
    assert package_flags(direct, [], settings) == [], "direct procurement has no bidding period to judge"
    near = Package("P", "opd", "tender", hps=1_000_000_000, winning_price=980_000_000, winner_seq=1)
    assert [f.kind for f in package_flags(near, [], settings)] == ["price_near_hps"]
    under = Package("P", "opd", "tender", hps=1_000_000_000, winning_price=979_999_999, winner_seq=1)
    assert package_flags(under, [], settings) == []


async def test_shared_submission_metadata(service: Service) -> None:
    """tender.bid_submitted.v2: different vendors' bids from one network address, or with an identical document,
    are flagged per package once the bids are opened; a vendor re-submitting from its own address is not."""
    run = flows.run_id()
    opd = f"dpupr-{run}"
    d = {name: hashlib.sha256(f"{name}-{run}".encode()).hexdigest() for name in ("rab", "metode", "jadwal", "k3")}
    sent: list[Envelope[Any]] = []

    async def send(payload: Any, key: str) -> Envelope[Any]:
        envelope = await publish(service, payload, key)
        sent.append(envelope)
        return envelope

    m, fm = f"M-{run}", flows.facts(f"M-{run}", opd)
    await send(flows.announced(fm, bidding_days=14), m)
    v1_first = await send(flows.bid_v2(m, opd, "V1", address="10.1.2.3", documents=[d["rab"], d["metode"]]), m)
    # V1 replaces its bid from the same address: shares nothing with anyone.
    await send(flows.bid_v2(m, opd, "V1", address="10.1.2.3", documents=[d["rab"], d["jadwal"]]), m)
    # V2 and V3 from one machine (an IPv4-mapped IPv6 spelling of the same address).
    v2 = await send(flows.bid_v2(m, opd, "V2", address="::ffff:10.9.9.9", documents=[d["k3"]]), m)
    v3 = await send(flows.bid_v2(m, opd, "V3", address="10.9.9.9", documents=[]), m)
    # V4 from elsewhere, with V1's cost estimate (the hash as another tool spells it).
    v4 = await send(flows.bid_v2(m, opd, "V4", address="2001:db8::4", documents=[d["metode"].upper()]), m)
    # History: a v1 bid (no metadata) and a v2 bid with byte-identical sealed bytes still meet the receipt check.
    v5 = await send(flows.bid(m, opd, "V5", "7"), m)
    v6 = await send(flows.bid_v2(m, opd, "V6", address=None, documents=[], receipt="7" * 64), m)

    # N: only V7 re-submitting from its own address; V8 elsewhere, with its own document.
    n, fn = f"N-{run}", flows.facts(f"N-{run}", opd)
    await send(flows.announced(fn, bidding_days=14), n)
    await send(flows.bid_v2(n, opd, "V7", address="10.1.2.3", documents=[d["jadwal"]]), n)
    await send(flows.bid_v2(n, opd, "V7", address="10.1.2.3", documents=[d["jadwal"]]), n)
    await send(flows.bid_v2(n, opd, "V8", address="10.1.2.4", documents=[d["k3"]]), n)
    seqs = await _logged(service, sent)
    assert not [f for f in await _flags(service, opd_id=opd) if f["kind"] == "shared_submission_metadata"], (
        "nothing about bids before they are opened"
    )

    prices = {v: 900_000_000 - i for i, v in enumerate(("V1", "V2", "V3", "V4", "V5", "V6"))}
    m_open = await send(flows.opened(m, prices), m)
    await send(flows.opened(n, {"V7": 900_000_000, "V8": 910_000_000}), n)
    seqs |= await _logged(service, sent)

    shared = [f for f in await _flags(service, package_id=m) if f["kind"] == "shared_submission_metadata"]
    by_evidence = {tuple(f["evidence"]): f for f in shared}
    assert set(by_evidence) == {
        tuple(sorted([seqs[v2.id], seqs[v3.id]])),
        tuple(sorted([seqs[v1_first.id], seqs[v4.id]])),
    }
    address = by_evidence[tuple(sorted([seqs[v2.id], seqs[v3.id]]))]
    assert "V2, V3" in address["explanation"]
    assert "network address" in address["explanation"]
    document = by_evidence[tuple(sorted([seqs[v1_first.id], seqs[v4.id]]))]
    assert "V1, V4" in document["explanation"]
    assert "1 identical document" in document["explanation"]
    assert all(f["raised_by_seq"] == seqs[m_open.id] for f in shared)
    text = json.dumps(shared)
    for private in ("10.9.9.9", "10.1.2.3", "2001:db8", d["metode"], d["metode"].upper()):
        assert private not in text, "flags never publish an address or a document hash"
    receipts = [f for f in await _flags(service, package_id=m) if f["kind"] == "shared_bid_document"]
    assert [(f["evidence"], "V5, V6" in f["explanation"]) for f in receipts] == [
        (sorted([seqs[v5.id], seqs[v6.id]]), True)
    ]
    assert await _flags(service, package_id=n) == []

    # Replays raise nothing new.
    before = await _flags(service, opd_id=opd)
    for envelope in list(sent):
        await republish(service, envelope)
    marker = await publish(service, flows.amended(n, bidding_days=20), n)
    await _logged(service, [marker])
    assert await _flags(service, opd_id=opd) == before


def test_submitter_addresses_compare_as_addresses() -> None:
    """Pure rule: spellings of one address are one address; ignored networks (a bidding room) never match."""
    from eproc_audit.red_flags import Bid, Package, package_flags
    from eproc_audit.settings import AuditSettings

    assert network_address("::ffff:10.0.0.1") == network_address(" 10.0.0.1 ") == "10.0.0.1"
    assert network_address("fe80::1%eth0") == "fe80::1"
    assert network_address("") is None
    assert network_address(None) is None
    opened_package = Package("P", "opd", "tender", opened_seq=9)
    bids = [Bid(1, "A", "a" * 64, "192.168.7.20"), Bid(2, "B", "b" * 64, "192.168.7.20")]
    assert [f.kind for f in package_flags(opened_package, bids, AuditSettings())] == ["shared_submission_metadata"]
    room = AuditSettings(flag_shared_address_ignore=["192.168.7.0/24"])
    assert room.flag_shared_address_ignore == ["192.168.7.0/24"]
    assert package_flags(opened_package, bids, room) == []
    with pytest.raises(ValueError, match="flag_shared_address_ignore"):
        AuditSettings(flag_shared_address_ignore=["not-a-network"])
