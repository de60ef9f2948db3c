"""Bad input of every kind gets a precise 4xx naming the field, and changes nothing."""

from __future__ import annotations

from typing import Any

from tender_test_support import (
    DEADLINE,
    Tender,
    announced_package,
    at,
    bid,
    ok,
    package_body,
    problem,
    register,
    standard_schedule,
    window,
)

BAD_PACKAGES: list[tuple[dict[str, Any], int, str]] = [
    ({"pagu": 1_100_000_000.5}, 422, "pagu"),
    ({"hps": "1000000000"}, 422, "hps"),
    ({"hps": -5}, 422, "hps"),
    ({"pagu": 900_000_000}, 422, "hps"),  # HPS above pagu
    ({"hps_items": [{"description": "x", "unit": "ls", "quantity": 1, "unit_price": 5}]}, 422, "hps_items"),
    ({"hps": 150_000_000, "pagu": 200_000_000, "hps_items": []}, 422, "method"),  # below the tender threshold
    ({"method": "seleksi"}, 422, "method"),  # seleksi is for consultancy
    ({"method": "pengadaan_langsung"}, 422, "method"),  # not available yet
    ({"method": "lelang"}, 422, "method"),
    ({"qualification": "pra"}, 422, "complexity_reason"),  # a tender qualifies first only for complex work
    ({"complexity_reason": "Pekerjaan struktur kompleks"}, 422, "complexity_reason"),  # only with pra
    ({"kbli_codes": ["4101"]}, 422, "kbli_codes.0"),
    ({"kbli_codes": []}, 422, "kbli_codes"),
    ({"size_classes": ["besar"]}, 422, "size_classes"),  # reserved for small businesses without justification
    ({"evaluation_system": "scoring"}, 422, "technical_weight"),
    ({"evaluation_system": "scoring", "technical_weight": 70, "price_weight": 20}, 422, "price_weight"),
    ({"fiscal_year": 1999}, 422, "fiscal_year"),
    ({"surprise": 1}, 422, "surprise"),
    ({"opd_id": "dispora"}, 403, ""),  # another OPD's package
]


async def _counts(t: Tender) -> tuple[int, ...]:
    tables = (
        "packages",
        "package_stages",
        "addenda",
        "participants",
        "questions",
        "bids",
        "objections",
        "eproc_outbox",
    )
    return tuple([(await t.sql(f"SELECT COUNT(*) FROM {name}"))[0][0] for name in tables])


async def test_bad_packages_are_refused_precisely(tender: Tender) -> None:
    t = tender
    before = await _counts(t)
    ppk = t.ppk()
    for overrides, status, field in BAD_PACKAGES:
        body = package_body(**overrides)
        response = await ppk.post("/packages", json=body)
        problem(response, status, field or None)
    missing = package_body()
    del missing["name"]
    problem(await ppk.post("/packages", json=missing), 422, "name")
    problem(await t.vendor("v1").post("/packages", json=package_body()), 403)
    problem(await t.public().post("/packages", json=package_body()), 401)
    bad_token = t.client("not-a-jwt")
    problem(await bad_token.post("/packages", json=package_body()), 401)
    problem(await ppk.post("/packages", content=b"{not json", headers={"content-type": "application/json"}), 422)
    assert await _counts(t) == before


async def test_bad_schedules_addenda_bids_and_judgements_change_nothing(tender: Tender) -> None:
    t = tender
    ppk, pokja = t.ppk(), t.pokja()
    draft = ok(await ppk.post("/packages", json=package_body()), 201)["id"]
    ok(await ppk.post(f"/packages/{draft}/assignment", json={"pokja_id": "pokja-1"}))
    schedule = standard_schedule()
    naive = {
        "stages": {
            **schedule["stages"],
            "submission": {"starts_at": "2026-05-05T09:00:00", "ends_at": "2026-05-11T10:00:00"},
        }
    }
    problem(await pokja.put(f"/packages/{draft}/schedule", json=naive), 422, "stages.submission.starts_at")
    reversed_ = {"stages": {**schedule["stages"], "opening": window(at(6, 9), at(8, 9))}}
    problem(await pokja.put(f"/packages/{draft}/schedule", json=reversed_), 422, "stages.opening.starts_at")
    missing = {"stages": {k: v for k, v in schedule["stages"].items() if k != "clarification"}}
    problem(await pokja.put(f"/packages/{draft}/schedule", json=missing), 422, "stages.clarification")
    problem(await pokja.put(f"/packages/{draft}/schedule", json={"stages": {"lunch": window(at(1), at(2))}}), 422)
    problem(await t.pokja("pokja-2").put(f"/packages/{draft}/schedule", json=schedule), 403)
    problem(await pokja.post(f"/packages/{draft}/announcement"), 409)  # no schedule yet
    assert (await t.sql("SELECT COUNT(*) FROM package_stages"))[0][0] == 0

    package_id = await announced_package(t)
    await register(t, package_id, "b1")
    before = await _counts(t)
    backwards = {"reason": "Memajukan jadwal pemasukan", "stages": {"submission": window(at(1, 9), at(5, 10))}}
    problem(await pokja.post(f"/packages/{package_id}/addenda", json=backwards), 422, "stages.submission.ends_at")
    problem(await pokja.post(f"/packages/{package_id}/addenda", json={"reason": "short"}), 422, "reason")
    problem(
        await pokja.post(f"/packages/{package_id}/addenda", json={"reason": "Tanpa perubahan apa pun"}), 422, "stages"
    )
    no_docs = {"reason": "Perubahan dokumen pemilihan", "documents_changed": True}
    problem(await pokja.post(f"/packages/{package_id}/addenda", json=no_docs), 422, "documents_changed")

    t.at(at(1, 8))  # submission opens at 09:00
    problem(await t.vendor("b1").post(f"/packages/{package_id}/bids", json=bid(900_000_000)), 409)
    t.at(at(2, 10))
    vendor = t.vendor("b1")
    problem(await vendor.post(f"/packages/{package_id}/bids", json={**bid(900_000_000), "price": 9.5e8}), 422, "price")
    problem(await vendor.post(f"/packages/{package_id}/bids", json={**bid(900_000_000), "price": 0}), 422, "price")
    problem(
        await vendor.post(f"/packages/{package_id}/bids", json={**bid(900_000_000), "declaration": False}),
        422,
        "declaration",
    )
    problem(
        await vendor.post(f"/packages/{package_id}/bids", json=bid(900_000_000, technical_document_ids=["nope"])),
        422,
        "technical_document_ids.0",
    )
    problem(await vendor.post(f"/packages/{package_id}/bids", json={"price": 1}), 422, "declaration")
    problem(await vendor.post("/packages/no-such-package/bids", json=bid(1)), 404)
    problem(await vendor.post(f"/packages/{package_id}/bid-documents", params={"name": "x.pdf"}, content=b""), 422)
    problem(await vendor.get("/packages", params={"cursor": "garbage!"}), 400, "cursor")
    problem(await vendor.get("/packages", params={"limit": 0}), 422, "limit")
    problem(await t.vendor("b1").post(f"/packages/{package_id}/participants"), 409)  # already registered
    assert await _counts(t) == before

    t.at(DEADLINE)
    problem(await pokja.put(f"/packages/{package_id}/evaluations/b1", json={"administrative_passed": True}), 409)


async def test_ineligible_vendors_get_their_reasons(tender: Tender) -> None:
    t = tender
    package_id = await announced_package(t)
    await t.seed_vendor("big", size_class="besar")
    await t.seed_vendor("otherfield", kbli_codes=["62019"])
    await t.seed_vendor(
        "banned",
        blacklist=[
            {
                "entry_id": "bl1",
                "opd_id": "dinkes",
                "legal_basis": "Perlem LKPP 4/2021",
                "reason": "Wanprestasi",
                "starts_on": "2026-05-01",
                "ends_on": "2027-04-30",
            }
        ],
    )
    await t.seed_vendor(
        "unverified", status="submitted", verified=False, eligible=False, ineligible_reasons=["not verified"]
    )
    expectations = {
        "big": "size class besar",
        "otherfield": "KBLI",
        "banned": "blacklisted",
        "unverified": "not verified",
        "unknown": "not known",
    }
    for vendor_id, reason in expectations.items():
        body = problem(await t.vendor(vendor_id).post(f"/packages/{package_id}/participants"), 422)
        assert reason in body["detail"], body
        assert body["errors"]
    assert (await t.sql("SELECT COUNT(*) FROM participants"))[0][0] == 0
