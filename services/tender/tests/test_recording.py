"""Recording (pencatatan): every kind through HTTP, corrections with history and events, bad input refused."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from tender_test_support import START, Tender, ok, problem

PROOF = {"name": "kuitansi.pdf", "sha256": hashlib.sha256(b"kuitansi").hexdigest()}


def record_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "non_tender",
        "method": "pengadaan_langsung",
        "package_name": "Pengadaan ATK Dinas Kesehatan",
        "opd_id": "dinkes",
        "satker": "Sekretariat",
        "fiscal_year": 2026,
        "procurement_type": "barang",
        "kbli_codes": ["47611"],
        "pagu": 60_000_000,
        "realised_value": 57_500_000,
        "vendor_name": "CV Sumber Makmur",
        "start_date": "2026-03-02",
        "end_date": "2026-03-20",
        "proofs": [PROOF],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


SWAKELOLA = {
    "kind": "swakelola",
    "method": None,
    "vendor_name": None,
    "swakelola_type": 3,
    "organiser": "Yayasan Peduli Sehat",
    "procurement_type": "jasa_lainnya",
}
DARURAT = {
    "kind": "darurat",
    "method": None,
    "procurement_type": "pekerjaan_konstruksi",
    "pagu": 900_000_000,
    "realised_value": 850_000_000,
    "legal_basis": "SK Wali Kota 360/Kep.12 tentang status tanggap darurat banjir",
}


# Every kind's columns (dates, JSON, money) stored and filtered: both databases.
@pytest.mark.databases("sqlite", "postgres")
async def test_every_kind_is_recorded_with_its_event(tender: Tender) -> None:
    t = tender
    await t.seed_vendor("v-atk", legal_name="PT Alat Tulis", kbli_codes=["47611"])
    ppk = t.ppk()
    direct = ok(await ppk.post("/recordings", json=record_body(vendor_id="v-atk", vendor_name=None)), 201)
    assert direct["vendor_name"] == "PT Alat Tulis"
    assert direct["method"] == "pengadaan_langsung"
    assert direct["code"].startswith("CAT-2026-")
    assert direct["revision"] == 1
    swakelola = ok(await ppk.post("/recordings", json=record_body(**SWAKELOLA)), 201)
    assert swakelola["method"] == "swakelola"
    assert swakelola["swakelola_type"] == 3
    emergency = ok(await ppk.post("/recordings", json=record_body(**DARURAT)), 201)
    assert emergency["method"] == "darurat"
    appointment = ok(
        await ppk.post(
            "/recordings",
            json=record_body(
                method="penunjukan_langsung",
                pagu=400_000_000,
                realised_value=390_000_000,
                legal_basis="Barang spesifik hanya satu pemegang hak paten",
            ),
        ),
        201,
    )
    e_purchase = ok(await ppk.post("/recordings", json=record_body(method="e_purchasing", pagu=300_000_000)), 201)

    events = await t.events("tender.purchase_recorded.v1")
    by_id = {e["record_id"]: e for e in events}
    assert set(by_id) == {r["id"] for r in (direct, swakelola, emergency, appointment, e_purchase)}
    first = by_id[direct["id"]]
    # What the audit service needs for the governance index and split-purchase detection.
    assert (first["opd_id"], first["vendor_id"], first["kbli_codes"]) == ("dinkes", "v-atk", ["47611"])
    assert (first["kind"], first["method"], first["realised_value"], first["revision"]) == (
        "non_tender",
        "pengadaan_langsung",
        57_500_000,
        1,
    )
    assert (first["start_date"], first["end_date"]) == ("2026-03-02", "2026-03-20")
    assert first["proofs"] == [PROOF]
    assert "npwp" not in first
    assert by_id[swakelola["id"]]["organiser"] == "Yayasan Peduli Sehat"
    assert by_id[emergency["id"]]["legal_basis"].startswith("SK Wali Kota")

    listed = ok(await t.public().get("/public/recordings", params={"opd_id": "dinkes", "kind": "darurat"}))
    assert [r["id"] for r in listed["items"]] == [emergency["id"]]
    assert len(ok(await t.public().get("/recordings", params={"vendor_id": "v-atk"}))["items"]) == 1


async def test_a_correction_keeps_history_and_emits_the_new_version(tender: Tender) -> None:
    t = tender
    ppk = t.ppk()
    record = ok(await ppk.post("/recordings", json=record_body()), 201)
    correction = {**record_body(realised_value=55_000_000), "correction_reason": "Nilai kuitansi salah ketik"}
    t.at(START.replace(day=START.day + 1))
    corrected = ok(await t.ppk(sub="ppk-2").put(f"/recordings/{record['id']}", json=correction))
    assert corrected["revision"] == 2
    assert corrected["realised_value"] == 55_000_000
    assert [h["revision"] for h in corrected["history"]] == [1, 2]
    assert corrected["history"][0]["data"]["realised_value"] == 57_500_000
    assert corrected["history"][1]["reason"] == "Nilai kuitansi salah ketik"
    assert corrected["history"][1]["actor"] == "ppk-2"
    events = await t.events("tender.purchase_recorded.v1")
    assert [(e["revision"], e["realised_value"], e["correction_reason"]) for e in events] == [
        (1, 57_500_000, None),
        (2, 55_000_000, "Nilai kuitansi salah ketik"),
    ]
    assert events[1]["recorded_at"] > events[0]["recorded_at"]

    # Another OPD's PPK may not correct it; the OPD of a record is fixed; a reason is required.
    problem(await t.ppk(opd="dispora").put(f"/recordings/{record['id']}", json=correction), 403)
    problem(await ppk.put(f"/recordings/{record['id']}", json={**correction, "opd_id": "dispora"}), 422, "opd_id")
    problem(await ppk.put(f"/recordings/{record['id']}", json=record_body()), 422, "correction_reason")
    problem(await ppk.put("/recordings/nope", json=correction), 404)
    again = ok(await t.public().get(f"/recordings/{record['id']}"))
    assert again["revision"] == 2
    assert len(again["history"]) == 2


BAD_RECORDS: list[tuple[dict[str, Any], int, str]] = [
    # Wrong method for the value: pengadaan langsung reaches Rp200 juta (goods) and Rp100 juta (consultancy).
    ({"pagu": 300_000_000, "realised_value": 250_000_000}, 422, "method"),
    ({"procurement_type": "jasa_konsultansi", "pagu": 150_000_000, "realised_value": 120_000_000}, 422, "method"),
    ({"method": None}, 422, "method"),
    ({"method": "swakelola"}, 422, "method"),
    ({"realised_value": 70_000_000}, 422, "realised_value"),  # above pagu
    ({"pagu": 60_000_000.5}, 422, "pagu"),
    ({"realised_value": "57500000"}, 422, "realised_value"),
    ({"end_date": "2026-03-01"}, 422, "end_date"),
    ({"vendor_name": None}, 422, "vendor_name"),
    ({"vendor_id": "ghost"}, 422, "vendor_id"),
    ({"legal_basis": "Tidak perlu dasar hukum di sini"}, 422, "legal_basis"),
    ({"method": "penunjukan_langsung"}, 422, "legal_basis"),
    ({"proofs": []}, 422, "proofs"),
    ({"proofs": [{"name": "x.pdf", "sha256": "abc"}]}, 422, "proofs.0.sha256"),
    ({"kind": "pembelian"}, 422, "kind"),
    ({**SWAKELOLA, "swakelola_type": 5}, 422, "swakelola_type"),
    ({**SWAKELOLA, "organiser": None}, 422, "organiser"),
    ({**SWAKELOLA, "vendor_name": "CV Lain"}, 422, "vendor_name"),
    ({**DARURAT, "legal_basis": None}, 422, "legal_basis"),
    ({"opd_id": "dispora"}, 403, ""),
]


async def test_bad_records_are_refused_precisely_and_change_nothing(tender: Tender) -> None:
    t = tender
    ppk = t.ppk()
    for overrides, status, field in BAD_RECORDS:
        problem(await ppk.post("/recordings", json=record_body(**overrides)), status, field or None)
    problem(await t.vendor("v1").post("/recordings", json=record_body()), 403)
    problem(await t.public().post("/recordings", json=record_body()), 401)
    counts = [(await t.sql(f"SELECT COUNT(*) FROM {n}"))[0][0] for n in ("recordings", "recording_revisions")]
    assert counts == [0, 0]
    assert await t.events("tender.purchase_recorded.v1") == []
