"""Pengadaan langsung and penunjukan langsung end to end through HTTP, and the wrong method for the value."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tender_test_support import Tender, ok, package_body, problem

HPS = 150_000_000


def direct_body(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Pengadaan Alat Kesehatan Puskesmas",
        "procurement_type": "barang",
        "method": "pengadaan_langsung",
        "contract_type": "lump_sum",
        "pagu": 180_000_000,
        "hps": HPS,
        "hps_items": [{"description": "Alat kesehatan", "unit": "paket", "quantity": 1, "unit_price": HPS}],
    }
    values.update(overrides)
    return package_body(**values)


def official(t: Tender, sub: str = "pp-1") -> httpx.AsyncClient:
    return t.client(t.issuer.token(sub, ["pejabat_pengadaan"], opd_id="ukpbj"))


async def assigned(t: Tender, **overrides: Any) -> str:
    ppk = t.ppk()
    package_id = ok(await ppk.post("/packages", json=direct_body(**overrides)), 201)["id"]
    ok(await ppk.post(f"/packages/{package_id}/assignment", json={"pokja_id": "pp-1"}))
    return package_id


# A whole flow: invitations and the price history in time order: both databases.
@pytest.mark.databases("sqlite", "postgres")
async def test_pengadaan_langsung_with_negotiation_ends_in_the_award_event(tender: Tender) -> None:
    t = tender
    for vendor_id in ("v1", "v2", "v3"):
        await t.seed_vendor(vendor_id)
    await t.seed_vendor("v-big", size_class="besar")
    package_id = await assigned(t)
    pp, base = official(t), f"/packages/{package_id}/direct"
    problem(await t.pokja().post(f"{base}/invitations", json={"vendor_ids": ["v1"]}), 403)
    problem(await pp.post(f"{base}/invitations", json={"vendor_ids": ["v1", "v-big"]}), 422, "vendor_ids.1")
    view = ok(await pp.post(f"{base}/invitations", json={"vendor_ids": ["v1", "v2"]}))
    assert view["status"] == "negotiation"
    assert [v["vendor_id"] for v in view["invited"]] == ["v1", "v2"]
    problem(await pp.post(f"{base}/invitations", json={"vendor_ids": ["v2"]}), 409)

    v1, v2 = t.vendor("v1"), t.vendor("v2")
    problem(await t.vendor("v3").post(f"{base}/offers", json={"price": 100_000_000}), 403)
    problem(await pp.post(f"{base}/proposals", json={"vendor_id": "v1", "price": 1}), 409)  # nothing offered yet
    ok(await v1.post(f"{base}/offers", json={"price": 149_000_000}), 201)
    ok(await v2.post(f"{base}/offers", json={"price": 152_000_000}), 201)
    problem(await v1.post(f"{base}/offers", json={"price": 149_000_000.5}), 422, "price")
    problem(await pp.post(f"{base}/proposals", json={"vendor_id": "v1", "price": 149_000_000}), 422, "price")
    ok(await pp.post(f"{base}/proposals", json={"vendor_id": "v1", "price": 140_000_000, "note": "Harga pasar"}), 201)
    ok(await v1.post(f"{base}/offers", json={"price": 141_000_000}), 201)
    problem(await v1.post(f"{base}/offers", json={"price": 145_000_000}), 422, "price")  # only lower

    problem(await pp.post(f"{base}/conclusion", json={"vendor_id": "v2"}), 409, "vendor_id")  # not yet qualified
    ok(await pp.put(f"{base}/qualification", json={"vendor_id": "v2", "qualified": True}))
    problem(await pp.post(f"{base}/conclusion", json={"vendor_id": "v2"}), 422, "vendor_id")  # above HPS
    problem(await pp.put(f"{base}/qualification", json={"vendor_id": "v1", "qualified": False}), 422, "reason")
    ok(await pp.put(f"{base}/qualification", json={"vendor_id": "v1", "qualified": True}))
    problem(await t.ppk().post(f"/packages/{package_id}/award", json={}), 409)  # not concluded yet
    concluded = ok(await pp.post(f"{base}/conclusion", json={"vendor_id": "v1"}))
    assert (concluded["status"], concluded["winner_vendor_id"]) == ("awardable", "v1")

    full = ok(await pp.get(base))
    assert [(h["vendor_id"], h["party"], h["price"]) for h in full["history"]] == [
        ("v1", "vendor", 149_000_000),
        ("v2", "vendor", 152_000_000),
        ("v1", "official", 140_000_000),
        ("v1", "vendor", 141_000_000),
    ]
    own = ok(await v2.get(base))
    assert [h["price"] for h in own["history"]] == [152_000_000]
    assert [v["vendor_id"] for v in own["invited"]] == ["v2"]
    problem(await t.vendor("v3").get(base), 403)

    awarded = ok(await t.ppk().post(f"/packages/{package_id}/award", json={"sppbj_number": "SPK/027/2026"}))
    assert awarded["status"] == "awarded"
    public = ok(await t.public().get(f"/packages/{package_id}"))
    assert (public["method"], public["status"]) == ("pengadaan_langsung", "awarded")
    [event] = await t.events("tender.awarded.v1")
    assert event["package"]["method"] == "pengadaan_langsung"
    assert event["winner"] == {"vendor_id": "v1", "legal_name": "PT V1", "npwp": "0" * 15}
    assert (event["offered_price"], event["awarded_price"], event["sppbj_number"]) == (
        149_000_000,
        141_000_000,
        "SPK/027/2026",
    )
    assert event["performance_guarantee_base"] == 141_000_000
    assert event["pokja_id"] == "pp-1"
    # The public hears that the procurement started (no invitees) and whom it went to at what value.
    [started] = await t.events("tender.direct_started.v1")
    assert (started["package"]["method"], started["package"]["opd_id"], started["package"]["hps"]) == (
        "pengadaan_langsung",
        "dinkes",
        HPS,
    )
    assert started["legal_basis"] is None
    assert set(started) == {"package", "appointment_case", "legal_basis", "started_at"}  # no invitee named
    [public_award] = await t.events("tender.direct_awarded.v1")
    assert (public_award["winner_vendor_id"], public_award["winner_name"], public_award["agreed_price"]) == (
        "v1",
        "PT V1",
        141_000_000,
    )
    assert (public_award["offered_price"], public_award["hps"]) == (149_000_000, HPS)


async def test_penunjukan_langsung_invites_one_vendor_with_its_legal_basis(tender: Tender) -> None:
    t = tender
    await t.seed_vendor("v1")
    await t.seed_vendor("v2")
    ppk = t.ppk()
    # Penunjukan langsung is not bound by the direct ceiling, but only for its cases and with the legal basis.
    special = {"method": "penunjukan_langsung", "pagu": 600_000_000, "hps": 500_000_000, "hps_items": []}
    problem(await ppk.post("/packages", json=direct_body(**special)), 422, "appointment_case")
    no_basis = {**special, "appointment_case": "single_source"}
    problem(await ppk.post("/packages", json=direct_body(**no_basis)), 422, "legal_basis")
    basis = "Pemegang hak paten tunggal, surat keterangan distributor 12/2026"
    problem(await ppk.post("/packages", json=direct_body(legal_basis=basis)), 422, "legal_basis")
    package_id = await assigned(t, **no_basis, legal_basis=basis)
    pp, base = official(t), f"/packages/{package_id}/direct"
    problem(await pp.post(f"{base}/invitations", json={"vendor_ids": ["v1", "v2"]}), 422, "vendor_ids")
    ok(await pp.post(f"{base}/invitations", json={"vendor_ids": ["v1"]}))
    problem(await pp.post(f"{base}/invitations", json={"vendor_ids": ["v2"]}), 409)
    v1 = t.vendor("v1")
    ok(await v1.post(f"{base}/offers", json={"price": 520_000_000}), 201)
    ok(await pp.put(f"{base}/qualification", json={"vendor_id": "v1", "qualified": True}))
    problem(await pp.post(f"{base}/conclusion", json={"vendor_id": "v1"}), 422, "vendor_id")  # above HPS
    ok(await pp.post(f"{base}/proposals", json={"vendor_id": "v1", "price": 480_000_000}), 201)
    ok(await v1.post(f"{base}/offers", json={"price": 490_000_000}), 201)
    view = ok(await pp.post(f"{base}/conclusion", json={"vendor_id": "v1"}))
    assert (view["appointment_case"], view["legal_basis"]) == ("single_source", basis)
    ok(await t.ppk().post(f"/packages/{package_id}/award", json={}))
    [event] = await t.events("tender.awarded.v1")
    assert (event["package"]["method"], event["awarded_price"], event["offered_price"]) == (
        "penunjukan_langsung",
        490_000_000,
        520_000_000,
    )
    assert event["sppbj_number"].startswith("SPK/")
    [started] = await t.events("tender.direct_started.v1")
    assert (started["package"]["method"], started["appointment_case"], started["legal_basis"]) == (
        "penunjukan_langsung",
        "single_source",
        basis,
    )
    [public_award] = await t.events("tender.direct_awarded.v1")
    assert (public_award["method"], public_award["agreed_price"]) == ("penunjukan_langsung", 490_000_000)


async def test_wrong_method_for_the_value_is_refused_precisely(tender: Tender) -> None:
    t = tender
    ppk = t.ppk()
    above = problem(
        await ppk.post("/packages", json=direct_body(pagu=300_000_000, hps=250_000_000, hps_items=[])), 422, "method"
    )
    assert above["errors"][0]["code"] == "method-above-ceiling"
    assert "200000000" in above["detail"]
    consultancy = direct_body(procurement_type="jasa_konsultansi", pagu=150_000_000, hps=120_000_000, hps_items=[])
    assert "100000000" in problem(await ppk.post("/packages", json=consultancy), 422, "method")["detail"]
    problem(
        await ppk.post("/packages", json=direct_body(pagu=150_000_000, hps=150_000_000, method="tender")), 422, "method"
    )
    problem(await ppk.post("/packages", json=direct_body(method="tender_cepat")), 422, "method")  # below threshold
    # Exactly at the ceiling is still pengadaan langsung.
    at_ceiling = direct_body(pagu=200_000_000, hps=200_000_000, hps_items=[])
    package_id = ok(await ppk.post("/packages", json=at_ceiling), 201)["id"]
    committee = {"members": ["a", "b", "c"]}
    problem(await ppk.post(f"/packages/{package_id}/assignment", json=committee), 422, "pokja_id")
    # A direct package is not announced like a tender.
    ok(await ppk.post(f"/packages/{package_id}/assignment", json={"pokja_id": "pp-1"}))
    problem(await t.pokja("pp-1").post(f"/packages/{package_id}/announcement"), 409)
