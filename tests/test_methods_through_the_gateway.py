"""Every procurement method end to end through the gateway of the real `make run` stack (tests/conftest.py's
`stack`): pengadaan langsung, penunjukan langsung, tender cepat on the wall clock, recording (pencatatan) with a
CSV import, and the rule that the method must fit the value.

Only the gateway is called (http://127.0.0.1:<gateway>/api/...), signed in with the dev accounts the stack
seeds. The one shortcut is the vendor register's qualification event (`stack.eligible_vendors`), which the
other cross-service tests publish too instead of verifying every vendor by hand. What the other services make
of the tender service's events (a contract draft, the public feed, the governance indicators) is read back
through the gateway, polling the server state, never after a fixed sleep.
"""

from __future__ import annotations

import functools
import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

RunningStack = Any  # tests/conftest.py
YEAR = datetime.now(UTC).year
# The other cross-service tests record purchases of the dev OPD in the current year; records of a year of
# their own make the indicator totals below exact.
RECORD_YEAR = YEAR - 1
PROOF = {"name": "kuitansi.pdf", "sha256": hashlib.sha256(b"kuitansi pembelian").hexdigest()}
Json = dict[str, Any]


def after(moment: str | datetime) -> None:
    """Waits until the wall clock (which the stack's services read too) has passed a time the server reported."""
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.05)


def ok(answer: httpx.Response, status: int = 200) -> Json:
    assert answer.status_code == status, f"{answer.request.method} {answer.request.url}: {answer.text}"
    body: Json = answer.json()
    return body


def problem(answer: httpx.Response, status: int, slug: str, field: str | None = None) -> Json:
    """An RFC 9457 problem with this status and type, naming ``field`` when given."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: Json = answer.json()
    assert body["type"].endswith(f"/problems/{slug}"), body
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field], body
        assert body["errors"][0]["code"] == slug, body
    return body


class Feed:
    """The audit service's public event feed (anonymous), followed with its cursor from a starting point."""

    def __init__(self, client: httpx.Client, eventually: Callable[..., Any]) -> None:
        self.client = client
        self.eventually = eventually
        self.cursor: str | None = None
        self.items: list[Json] = []

    def drain(self) -> list[Json]:
        while True:
            params: Json = {"limit": 500, **({"cursor": self.cursor} if self.cursor else {})}
            body = ok(self.client.get("/api/audit/public/events", params=params))
            self.cursor = body["next_cursor"]
            self.items += body["items"]
            if not body["items"]:
                return self.items

    def skip_to_end(self) -> None:
        self.drain()
        self.items = []

    def one(self, type_: str, subject: str, **where: Any) -> Json:
        """The single public event of this type about ``subject`` (matching ``where`` on its data)."""

        def found() -> list[Json]:
            return [
                e
                for e in self.drain()
                if e["type"] == type_
                and e["subject"] == subject
                and all(e["data"].get(k) == v for k, v in where.items())
            ]

        events = self.eventually(found)
        assert len(events) == 1, events
        return events[0]


@dataclass
class Setup:
    client: httpx.Client
    ppk: dict[str, str]
    pokja: dict[str, str]
    official: dict[str, str]  # the Pejabat Pengadaan
    official_id: str
    pokja_id: str
    opd: str
    direct_kbli: str
    auction_kbli: str
    direct_vendors: list[Json]
    auction_vendors: list[Json]
    feed: Feed
    eventually: Callable[..., Any]  # the stack's, polling every 0.1 s


@pytest.fixture(scope="module")
def setup(stack: RunningStack) -> Iterator[Setup]:
    # KBLI codes of this module only: tender cepat invites every vendor the register shows qualified for
    # the package's KBLI, and other tests make vendors qualified for theirs.
    serial = uuid.uuid4().int
    direct_kbli, auction_kbli = f"46{serial % 1000:03d}", f"47{serial // 1000 % 1000:03d}"
    eventually = functools.partial(stack.eventually, interval_s=0.1)
    feed = Feed(httpx.Client(base_url=stack.base_url, timeout=30), eventually)
    feed.skip_to_end()
    yield Setup(
        client=stack.client,
        ppk=stack.as_role("ppk"),
        pokja=stack.as_role("pokja"),
        official=stack.as_role("pejabat_pengadaan"),
        official_id=stack.subject("pejabat_pengadaan"),
        pokja_id=stack.subject("pokja"),
        opd=stack.accounts["ppk"]["opd_id"],
        direct_kbli=direct_kbli,
        auction_kbli=auction_kbli,
        direct_vendors=stack.eligible_vendors(3, prefix="pl", kbli=direct_kbli),
        auction_vendors=stack.eligible_vendors(4, prefix="tc", kbli=auction_kbli),
        feed=feed,
        eventually=eventually,
    )
    feed.client.close()


def package_body(s: Setup, method: str, hps: int, kbli: str, **extra: Any) -> Json:
    quantity = 20 if hps % 20 == 0 else 1
    return {
        "name": f"Pengadaan Laptop Sekretariat Daerah {uuid.uuid4().hex[:6]}",
        "opd_id": s.opd,
        "satker": "Sekretariat Daerah",
        "fiscal_year": YEAR,
        "procurement_type": "barang",
        "method": method,
        "contract_type": "lump_sum",
        "pagu": hps + 10_000_000,
        "hps": hps,
        "hps_items": [
            {
                "description": "Laptop 14 inci, prosesor 8 inti, RAM 16 GB, SSD 512 GB, garansi 3 tahun",
                "unit": "unit",
                "quantity": quantity,
                "unit_price": hps // quantity,
            }
        ],
        "kbli_codes": [kbli],
        "location": "Kota Tangerang",
        **extra,
    }


def created_and_assigned(s: Setup, body: Json, assignee: str) -> Json:
    package = ok(s.client.post("/api/tender/packages", json=body, headers=s.ppk), 201)
    assert package["status"] == "draft"
    assigned = ok(
        s.client.post(f"/api/tender/packages/{package['id']}/assignment", json={"pokja_id": assignee}, headers=s.ppk)
    )
    assert (assigned["status"], assigned["pokja_id"]) == ("assigned", assignee)
    return assigned


def invited(s: Setup, package_id: str, vendor_ids: list[str]) -> Json:
    """The official's invitation, once the tender service's copy of the register knows the vendors (Kafka)."""

    def attempt() -> Json | None:
        answer = s.client.post(
            f"/api/tender/packages/{package_id}/direct/invitations", json={"vendor_ids": vendor_ids}, headers=s.official
        )
        if answer.status_code == 422 and answer.json()["type"].endswith("/vendor-ineligible"):
            return None  # the qualification event is still on its way
        return ok(answer)

    return s.eventually(attempt)


def drafted_contract(s: Setup, package_id: str) -> Json:
    """The contract the contract service drafted from the package's award event, as the PPK sees it."""

    def listed() -> list[Json]:
        answer = s.client.get("/api/contract/contracts", params={"package_id": package_id}, headers=s.ppk)
        return ok(answer)["items"]

    items = s.eventually(listed)
    assert len(items) == 1, items
    return ok(s.client.get(f"/api/contract/contracts/{items[0]['id']}", headers=s.ppk))


def test_pengadaan_langsung_negotiated_awarded_and_drafted_as_a_contract(setup: Setup) -> None:
    s, client = setup, setup.client
    first, second = s.direct_vendors[0], s.direct_vendors[1]
    # Exactly the direct ceiling for goods (TENDER_TENDER_MIN_VALUE): pengadaan langsung reaches it.
    package = created_and_assigned(s, package_body(s, "pengadaan_langsung", 200_000_000, s.direct_kbli), s.official_id)
    package_id = package["id"]
    path = f"/api/tender/packages/{package_id}/direct"

    view = invited(s, package_id, [first["vendor_id"], second["vendor_id"]])
    assert view["status"] == "negotiation"
    assert {v["vendor_id"] for v in view["invited"]} == {first["vendor_id"], second["vendor_id"]}

    ok(client.post(f"{path}/offers", json={"price": 195_000_000}, headers=first["headers"]), 201)
    ok(client.post(f"{path}/offers", json={"price": 198_000_000}, headers=second["headers"]), 201)
    raised = client.post(f"{path}/offers", json={"price": 196_000_000}, headers=first["headers"])
    assert "195000000" in problem(raised, 422, "price-raised", "price")["detail"]
    not_lower = client.post(
        f"{path}/proposals", json={"vendor_id": first["vendor_id"], "price": 195_000_000}, headers=s.official
    )
    problem(not_lower, 422, "proposal-not-lower", "price")
    for official_price, vendor_price in ((185_000_000, 188_000_000), (186_000_000, 186_000_000)):
        proposal = {"vendor_id": first["vendor_id"], "price": official_price, "note": "Harga pasar e-katalog"}
        ok(client.post(f"{path}/proposals", json=proposal, headers=s.official), 201)
        ok(client.post(f"{path}/offers", json={"price": vendor_price}, headers=first["headers"]), 201)

    unreasoned = {"vendor_id": second["vendor_id"], "qualified": False}
    problem(client.put(f"{path}/qualification", json=unreasoned, headers=s.official), 422, "reason-required", "reason")
    ok(client.put(f"{path}/qualification", json={**unreasoned, "reason": "SIUP tidak berlaku"}, headers=s.official))
    problem(
        client.post(f"{path}/conclusion", json={"vendor_id": second["vendor_id"]}, headers=s.official),
        409,
        "not-qualified",
        "vendor_id",
    )
    ok(
        client.put(
            f"{path}/qualification", json={"vendor_id": first["vendor_id"], "qualified": True}, headers=s.official
        )
    )
    concluded = ok(client.post(f"{path}/conclusion", json={"vendor_id": first["vendor_id"]}, headers=s.official))
    assert (concluded["status"], concluded["winner_vendor_id"]) == ("awardable", first["vendor_id"])

    # The whole price history is kept, and the PPK of the OPD reads it; a vendor only its own.
    history = ok(client.get(path, headers=s.ppk))["history"]
    assert [(h["vendor_id"], h["party"], h["price"]) for h in history] == [
        (first["vendor_id"], "vendor", 195_000_000),
        (second["vendor_id"], "vendor", 198_000_000),
        (first["vendor_id"], "official", 185_000_000),
        (first["vendor_id"], "vendor", 188_000_000),
        (first["vendor_id"], "official", 186_000_000),
        (first["vendor_id"], "vendor", 186_000_000),
    ]
    own = ok(client.get(path, headers=second["headers"]))
    assert [v["vendor_id"] for v in own["invited"]] == [second["vendor_id"]]
    assert {h["vendor_id"] for h in own["history"]} == {second["vendor_id"]}

    order = f"SPK/{package['code']}/SETDA"
    awarded = ok(client.post(f"/api/tender/packages/{package_id}/award", json={"sppbj_number": order}, headers=s.ppk))
    assert awarded["status"] == "awarded"

    contract = drafted_contract(s, package_id)
    assert (contract["vendor_id"], contract["original_value"], contract["status"]) == (
        first["vendor_id"],
        186_000_000,
        "draft",
    )
    assert (contract["method"], contract["sppbj_number"], contract["hps"]) == ("pengadaan_langsung", order, 200_000_000)

    started = s.feed.one("tender.direct_started.v1", package_id)
    assert started["data"]["package"]["method"] == "pengadaan_langsung"
    assert first["vendor_id"] not in str(started), "the public learns of the direct procurement, not whom it invited"
    done = s.feed.one("tender.direct_awarded.v1", package_id)["data"]
    assert (done["winner_vendor_id"], done["offered_price"], done["agreed_price"]) == (
        first["vendor_id"],
        195_000_000,
        186_000_000,
    )
    public = ok(client.get(f"/api/tender/public/packages/{package_id}"))  # anonymous
    assert (public["method"], public["status"]) == ("pengadaan_langsung", "awarded")


def test_penunjukan_langsung_with_its_legal_basis_and_one_vendor(setup: Setup) -> None:
    s, client = setup, setup.client
    vendor, other = s.direct_vendors[2], s.direct_vendors[0]
    basis = "Persetujuan PA/KPA nomor 027/114-Setda/2025: penyedia tunggal pemegang hak paten alat (single source)"
    # Special cases are not bound to the direct ceiling: this one is above the tender threshold.
    body = package_body(
        s, "penunjukan_langsung", 760_000_000, s.direct_kbli, appointment_case="single_source", legal_basis=basis
    )
    package = created_and_assigned(s, body, s.official_id)
    package_id = package["id"]
    path = f"/api/tender/packages/{package_id}/direct"

    two = {"vendor_ids": [vendor["vendor_id"], other["vendor_id"]]}
    problem(client.post(f"{path}/invitations", json=two, headers=s.official), 422, "one-vendor", "vendor_ids")
    view = invited(s, package_id, [vendor["vendor_id"]])
    assert (view["appointment_case"], view["legal_basis"]) == ("single_source", basis)
    more = client.post(f"{path}/invitations", json={"vendor_ids": [other["vendor_id"]]}, headers=s.official)
    problem(more, 409, "one-vendor")  # the package is past inviting: a state conflict
    stranger = client.post(f"{path}/offers", json={"price": 700_000_000}, headers=other["headers"])
    problem(stranger, 403, "not-invited")

    ok(client.post(f"{path}/offers", json={"price": 750_000_000}, headers=vendor["headers"]), 201)
    qualified = {"vendor_id": vendor["vendor_id"], "qualified": True}
    assert ok(client.put(f"{path}/qualification", json=qualified, headers=s.official))["invited"][0]["qualified"]
    proposal = {"vendor_id": vendor["vendor_id"], "price": 720_000_000}
    ok(client.post(f"{path}/proposals", json=proposal, headers=s.official), 201)
    ok(client.post(f"{path}/offers", json={"price": 731_500_000}, headers=vendor["headers"]), 201)
    ok(client.post(f"{path}/conclusion", json={"vendor_id": vendor["vendor_id"]}, headers=s.official))
    awarded = ok(client.post(f"/api/tender/packages/{package_id}/award", json={}, headers=s.ppk))
    assert awarded["status"] == "awarded"
    assert ok(client.get(path, headers=s.official))["order_number"] == f"SPK/{package['code']}"

    contract = drafted_contract(s, package_id)
    assert (contract["vendor_id"], contract["original_value"], contract["method"]) == (
        vendor["vendor_id"],
        731_500_000,
        "penunjukan_langsung",
    )
    started = s.feed.one("tender.direct_started.v1", package_id)["data"]
    assert (started["appointment_case"], started["legal_basis"]) == ("single_source", basis)
    done = s.feed.one("tender.direct_awarded.v1", package_id)["data"]
    assert (done["method"], done["offered_price"], done["agreed_price"]) == (
        "penunjukan_langsung",
        750_000_000,
        731_500_000,
    )


def _announce_with_rounds(s: Setup, package_id: str, first_in_s: float, round_s: float) -> list[Json]:
    """Sets two rounds starting ``first_in_s`` from now and announces; the rounds are set again while the tender
    service's copy of the register does not know the vendors yet (409 too-few-qualified), so they never start
    before the announcement."""
    base = f"/api/tender/packages/{package_id}"

    def attempt() -> list[Json] | None:
        start = datetime.now(UTC) + timedelta(seconds=first_in_s)
        windows = [
            (start + timedelta(seconds=round_s * n), start + timedelta(seconds=round_s * (n + 1))) for n in (0, 1)
        ]
        rounds = [{"starts_at": a.isoformat(), "ends_at": b.isoformat()} for a, b in windows]
        ok(s.client.put(f"{base}/auction/rounds", json={"rounds": rounds}, headers=s.pokja))
        answer = s.client.post(f"{base}/announcement", headers=s.pokja)
        if answer.status_code == 409 and answer.json()["type"].endswith("/too-few-qualified"):
            return None
        assert ok(answer)["status"] == "auction"
        return ok(s.client.get(f"{base}/auction", headers=s.pokja))["rounds"]

    return s.eventually(attempt, interval_s=0.2)


def test_tender_cepat_reverse_auction_in_real_time_rounds(setup: Setup) -> None:
    s, client = setup, setup.client
    a, b, c, late = s.auction_vendors
    outsider = s.direct_vendors[0]  # qualified, but for another KBLI: not invited
    hps = 500_000_000
    package = created_and_assigned(s, package_body(s, "tender_cepat", hps, s.auction_kbli), s.pokja_id)
    package_id = package["id"]
    base = f"/api/tender/packages/{package_id}"
    # No schedule of stages for a tender cepat: its rounds are the schedule.
    problem(client.put(f"{base}/schedule", json={"stages": {}}, headers=s.pokja), 409, "wrong-state")

    rounds = _announce_with_rounds(s, package_id, first_in_s=1.5, round_s=3.0)
    assert ok(client.get(f"{base}/auction", headers=s.pokja))["invited_count"] == 4

    def bid(vendor: Json, price: int) -> httpx.Response:
        return client.post(f"{base}/auction/bids", json={"price": price}, headers=vendor["headers"])

    early = problem(bid(a, 480_000_000), 409, "outside-round")
    assert "round 1 opens" in early["detail"]

    after(rounds[0]["starts_at"])
    for vendor, price in ((a, 480_000_000), (b, 470_000_000), (c, 490_000_000)):
        assert ok(bid(vendor, price), 201)["round"] == 1
    problem(bid(late, hps + 1), 422, "above-hps", "price")
    problem(bid(outsider, 460_000_000), 403, "not-invited")

    after(rounds[1]["starts_at"])
    assert ok(bid(a, 450_000_000), 201)["round"] == 2
    assert ok(bid(b, 450_000_000), 201)["previous_price"] == 470_000_000  # the same price, submitted later
    raised = problem(bid(c, 495_000_000), 422, "price-not-lower", "price")
    assert "490000000" in raised["detail"]
    ok(bid(c, 460_000_000), 201)
    problem(bid(late, 440_000_000), 409, "not-in-first-round", "price")

    # Round 1's ranking is public once it closed: positions and prices, nobody's name.
    public_path = f"/api/tender/public/packages/{package_id}/auction"
    closed = s.eventually(lambda: (r := ok(client.get(public_path)))["rounds"][0]["closed"] and r)
    assert closed["rounds"][0]["ranking"] == [
        {"position": 1, "price": 470_000_000},
        {"position": 2, "price": 480_000_000},
        {"position": 3, "price": 490_000_000},
    ]
    assert closed["results"] is None
    names = [v["vendor_id"] for v in s.auction_vendors] + ["CV TC"]
    assert not [n for n in names if n in str(closed)], "no vendor named before the auction ends"
    mine = ok(client.get(f"{base}/auction", headers=a["headers"]))
    assert mine["rounds"][0]["my_position"] == 2
    round_closed = s.feed.one("tender.auction_round_closed.v1", package_id, round=1)
    assert not [n for n in names if n in str(round_closed)]

    after(rounds[1]["ends_at"])
    # The status reads awardable from the round's end on; the results follow once the round is closed.
    done = s.eventually(lambda: (r := ok(client.get(public_path)))["results"] and r)
    assert done["status"] == "awardable"
    # Lowest wins; on equal prices the one submitted first ranks higher.
    assert [(r["vendor_id"], r["price"]) for r in done["results"]] == [
        (a["vendor_id"], 450_000_000),
        (b["vendor_id"], 450_000_000),
        (c["vendor_id"], 460_000_000),
    ]
    assert done["winner_vendor_id"] == a["vendor_id"]
    concluded = s.feed.one("tender.auction_concluded.v1", package_id)["data"]
    assert (concluded["winner_vendor_id"], concluded["winning_price"]) == (a["vendor_id"], 450_000_000)
    assert concluded["reserve_vendor_ids"] == [b["vendor_id"], c["vendor_id"]]

    # No objection period: the PPK awards at once.
    awarded = ok(client.post(f"{base}/award", json={}, headers=s.ppk))
    assert awarded["status"] == "awarded"
    contract = drafted_contract(s, package_id)
    assert (contract["vendor_id"], contract["original_value"], contract["method"]) == (
        a["vendor_id"],
        450_000_000,
        "tender_cepat",
    )
    assert contract["reserve_vendor_ids"] == [b["vendor_id"], c["vendor_id"]]


def record_body(s: Setup, kind: str, pagu: int, realised: int, **extra: Any) -> Json:
    return {
        "kind": kind,
        "package_name": f"Belanja {kind} tahun {RECORD_YEAR} {uuid.uuid4().hex[:6]}",
        "opd_id": s.opd,
        "satker": "Sekretariat Daerah",
        "fiscal_year": RECORD_YEAR,
        "procurement_type": "barang",
        "kbli_codes": [s.direct_kbli],
        "pagu": pagu,
        "realised_value": realised,
        "start_date": f"{RECORD_YEAR}-03-02",
        "end_date": f"{RECORD_YEAR}-03-30",
        "proofs": [PROOF],
        **extra,
    }


CSV = (
    "kind,method,package_name,fiscal_year,procurement_type,kbli_codes,pagu,realised_value,vendor_name,"
    "start_date,end_date,proofs\n"
    "non_tender,e_purchasing,Belanja ATK e-katalog,{year},barang,{kbli},30000000,29900000,CV Sumber Makmur,"
    "{year}-05-02,{year}-05-09,faktur.pdf={sha}\n"
    "non_tender,pengadaan_langsung,Belanja Mebel Kantor,{year},barang,{kbli},260000000,250000000,CV Jati,"
    "{year}-06-01,{year}-06-20,faktur.pdf={sha}\n"
    "non_tender,e_purchasing,Belanja Kertas,{year},barang,{kbli},12.5,1000000,CV Kertas,"
    "{year}-07-01,{year}-07-02,faktur.pdf={sha}\n"
)


def test_recorded_purchases_count_in_the_governance_indicators(setup: Setup) -> None:
    s, client = setup, setup.client

    def record(body: Json) -> Json:
        return ok(client.post("/api/tender/recordings", json=body, headers=s.ppk), 201)

    bought = record(
        record_body(
            s, "non_tender", 60_000_000, 57_500_000, method="pengadaan_langsung", vendor_name="CV Sumber Makmur"
        )
    )
    record(record_body(s, "swakelola", 40_000_000, 38_250_000, swakelola_type=1, organiser="Bagian Umum Setda"))
    record(record_body(s, "swakelola", 25_000_000, 24_000_000, swakelola_type=3, organiser="Ormas Karang Taruna"))
    basis = "Keputusan Wali Kota nomor 360/Kep.12-BPBD tentang status tanggap darurat banjir"
    emergency = record(
        record_body(s, "darurat", 500_000_000, 480_000_000, vendor_name="PT Tanggap Bencana", legal_basis=basis)
    )
    assert (emergency["method"], emergency["legal_basis"]) == ("darurat", basis)
    no_basis = record_body(s, "darurat", 10_000_000, 9_000_000, vendor_name="PT Tanggap Bencana")
    problem(
        client.post("/api/tender/recordings", json=no_basis, headers=s.ppk), 422, "legal-basis-required", "legal_basis"
    )

    reason = "Nilai realisasi salah ketik; sesuai kuitansi nomor 17/III"
    correction = {**record_body(s, "non_tender", 60_000_000, 56_000_000), "correction_reason": reason}
    correction |= {"method": "pengadaan_langsung", "vendor_name": "CV Sumber Makmur"}
    corrected = ok(client.put(f"/api/tender/recordings/{bought['id']}", json=correction, headers=s.ppk))
    assert (corrected["revision"], corrected["realised_value"]) == (2, 56_000_000)
    kept = ok(client.get(f"/api/tender/public/recordings/{bought['id']}"))["history"]  # anonymous
    assert [(h["revision"], h["data"]["realised_value"], h["reason"]) for h in kept] == [
        (1, 57_500_000, None),
        (2, 56_000_000, reason),
    ]

    csv = CSV.format(year=RECORD_YEAR, kbli=s.direct_kbli, sha=PROOF["sha256"]).encode()
    started = client.post(
        "/api/tender/recordings/imports",
        params={"name": "pencatatan-2.csv"},
        content=csv,
        headers={**s.ppk, "Content-Type": "text/csv"},
    )
    job = ok(started, 202)
    assert job["total_rows"] == 3
    job_path = f"/api/tender/recordings/imports/{job['id']}"
    job = s.eventually(lambda: (r := ok(client.get(job_path, headers=s.ppk)))["status"] == "completed" and r)
    assert (job["processed_rows"], job["accepted_rows"], job["rejected_rows"], job["percent"]) == (3, 1, 2, 100)
    rejected = ok(client.get(f"{job_path}/rows", params={"accepted": "false"}, headers=s.ppk))["items"]
    assert [(r["row"], [e["field"] for e in r["errors"]]) for r in rejected] == [(2, ["method"]), (3, ["pagu"])]
    assert rejected[0]["errors"][0]["code"] == "method-above-ceiling"
    (good,) = ok(client.get(f"{job_path}/rows", params={"accepted": "true"}, headers=s.ppk))["items"]
    imported = ok(client.get(f"/api/tender/recordings/{good['recording_id']}", headers=s.ppk))
    assert (good["row"], imported["import_id"], imported["realised_value"]) == (1, job["id"], 29_900_000)

    listed = ok(client.get("/api/tender/public/recordings", params={"opd_id": s.opd, "fiscal_year": RECORD_YEAR}))
    assert len(listed["items"]) == 5

    expected_methods = {
        "pencatatan_darurat": {
            "packages": 1,
            "pagu": 500_000_000,
            "hps": 0,
            "awarded": 0,
            "contract_value": 480_000_000,
        },
        "pencatatan_non_tender": {
            "packages": 2,
            "pagu": 90_000_000,
            "hps": 0,
            "awarded": 0,
            "contract_value": 56_000_000 + 29_900_000,
        },
        "pencatatan_swakelola": {
            "packages": 2,
            "pagu": 65_000_000,
            "hps": 0,
            "awarded": 0,
            "contract_value": 38_250_000 + 24_000_000,
        },
    }
    indicators_path = f"/api/audit/public/indicators/{RECORD_YEAR}/opd/{s.opd}"

    def counted() -> Json | None:
        answer = client.get(indicators_path)
        if answer.status_code == 404:
            return None
        body = ok(answer)
        return body if body["by_method"] == expected_methods else None

    indicators = s.eventually(counted)
    assert indicators["recorded_non_tender_by_method"] == {
        "e_purchasing": {"packages": 1, "pagu": 30_000_000, "hps": 0, "awarded": 0, "contract_value": 29_900_000},
        "pengadaan_langsung": {"packages": 1, "pagu": 60_000_000, "hps": 0, "awarded": 0, "contract_value": 56_000_000},
    }
    totals = {k: indicators[k] for k in ("recorded_in_platform", "recorded_in_platform_pagu", "recorded_value")}
    assert totals == {
        "recorded_in_platform": 5,
        "recorded_in_platform_pagu": 655_000_000,
        "recorded_value": 628_150_000,
    }
    assert all(type(v) is int for v in totals.values()), "integer Rupiah"
    assert (indicators["packages"], indicators["run_share_bp"]) == (0, 0)


def test_a_method_that_does_not_fit_the_value_is_refused_naming_the_field(setup: Setup) -> None:
    s, client = setup, setup.client
    consultancy = {"procurement_type": "jasa_konsultansi", "contract_type": "lump_sum"}
    cases: list[tuple[Json, str, str]] = [
        # One Rupiah over the direct ceiling for goods, and over the lower one for consultancy.
        (package_body(s, "pengadaan_langsung", 200_000_001, s.direct_kbli), "method-above-ceiling", "method"),
        (
            package_body(s, "pengadaan_langsung", 150_000_000, s.direct_kbli, **consultancy),
            "method-above-ceiling",
            "method",
        ),
        (package_body(s, "tender", 150_000_000, s.direct_kbli), "method-below-threshold", "method"),
        (package_body(s, "tender_cepat", 200_000_000, s.auction_kbli), "method-below-threshold", "method"),
        (package_body(s, "tender_cepat", 500_000_000, s.auction_kbli, **consultancy), "method-type-mismatch", "method"),
        (
            package_body(s, "tender_cepat", 500_000_000, s.auction_kbli) | {"hps_items": []},
            "specs-incomplete",
            "hps_items",
        ),
        (
            package_body(s, "penunjukan_langsung", 100_000_000, s.direct_kbli, appointment_case="single_source"),
            "legal-basis-required",
            "legal_basis",
        ),
    ]
    for body, slug, field in cases:
        problem(client.post("/api/tender/packages", json=body, headers=s.ppk), 422, slug, field)
    drafts = ok(client.get("/api/tender/packages/drafts", params={"limit": 50}, headers=s.ppk))["items"]
    assert not {d["name"] for d in drafts} & {body["name"] for body, _, _ in cases}, "nothing was created"

    recorded = record_body(
        s, "non_tender", 260_000_000, 250_000_000, method="pengadaan_langsung", vendor_name="CV Jati Mulia"
    )
    problem(client.post("/api/tender/recordings", json=recorded, headers=s.ppk), 422, "method-above-ceiling", "method")
