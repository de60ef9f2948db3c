"""Registration, verification (item by item, oldest first) and re-verification of changed parts, through HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from vendor_test_support import PDF, Service, company, npwp


def vid() -> str:
    return f"v-{uuid.uuid4().hex[:10]}"


async def register_full(svc: Service, vendor_id: str, serial: int, **company_overrides: Any) -> dict[str, str]:
    """Enters a complete record as the vendor; answers the item ids by name."""
    c, h = svc.client, svc.vendor(vendor_id)
    r = await c.put(f"/vendors/{vendor_id}/company", json=company(npwp=npwp(serial), **company_overrides), headers=h)
    assert r.status_code == 200, r.text
    ids = {"company": r.json()["item_id"]}
    r = await c.put(f"/vendors/{vendor_id}/kbli", json={"codes": ["41011", "42101"]}, headers=h)
    assert r.status_code == 200, r.text
    ids["kbli"] = r.json()["item_id"]
    r = await c.put(
        f"/vendors/{vendor_id}/tax-status",
        json={"compliant": True, "checked_on": "2025-12-01", "valid_until": "2026-06-30", "reference": "KSWP-1"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    ids["tax"] = r.json()["item_id"]
    r = await c.post(
        f"/vendors/{vendor_id}/licences",
        json={
            "kind": "sbu",
            "number": "SBU-001",
            "issuer": "LPJK",
            "valid_from": "2024-01-01",
            "valid_until": "2026-03-31",
            "kbli_codes": ["41011"],
            "sbu_subclassification": "BG004",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    ids["sbu"] = r.json()["item_id"]
    r = await c.post(
        f"/vendors/{vendor_id}/experience",
        json={
            "name": "Gedung Puskesmas",
            "client": "Dinkes",
            "value": 2_500_000_000,
            "year": 2024,
            "kbli_code": "41011",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    ids["experience"] = r.json()["item_id"]
    r = await c.post(
        f"/vendors/{vendor_id}/personnel",
        json={
            "name": "Siti Rahma",
            "position": "Site manager",
            "certificates": [{"name": "SKK Ahli Madya", "number": "SKK-77"}],
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    ids["personnel"] = r.json()["item_id"]
    r = await c.post(
        f"/vendors/{vendor_id}/equipment", json={"name": "Excavator", "quantity": 2, "ownership": "owned"}, headers=h
    )
    assert r.status_code == 201, r.text
    ids["equipment"] = r.json()["item_id"]
    return ids


async def verify_all(svc: Service, vendor_id: str) -> dict[str, Any]:
    c = svc.client
    assert (await c.post(f"/vendors/{vendor_id}/submit", headers=svc.vendor(vendor_id))).status_code == 200
    record = (await c.get(f"/vendors/{vendor_id}", headers=svc.verifier)).json()
    decisions = [
        {"item_id": i["item_id"], "verdict": "verified"} for i in record["items"] if i["status"] == "submitted"
    ]
    r = await c.post(
        f"/verification/vendors/{vendor_id}/decisions", json={"decisions": decisions}, headers=svc.verifier
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_register_submit_verify_and_reverify_only_the_changed_part(service: Service) -> None:
    c = service.client
    first, second = vid(), vid()
    ids = await register_full(service, first, 1)
    await register_full(service, second, 2, legal_name="CV Sinar Abadi")
    doc = await c.post(
        f"/vendors/{first}/documents",
        params={"filename": "akta.pdf"},
        content=PDF,
        headers={**service.vendor(first), "Content-Type": "application/pdf"},
    )
    assert doc.status_code == 201, doc.text
    assert doc.json()["content_type"] == "application/pdf"
    assert doc.json()["size_bytes"] == len(PDF)
    import hashlib

    assert doc.json()["sha256"] == hashlib.sha256(PDF).hexdigest()
    got = await c.get(f"/vendors/{first}/documents/{doc.json()['document_id']}", headers=service.verifier)
    assert got.status_code == 200
    assert got.content == PDF

    # Submitted in this order: the second vendor submits later, so the first is at the head of the queue.
    r = await c.post(f"/vendors/{first}/submit", headers=service.vendor(first))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted"
    service.clock.advance(minutes=5)
    assert (await c.post(f"/vendors/{second}/submit", headers=service.vendor(second))).status_code == 200
    again = await c.post(f"/vendors/{first}/submit", headers=service.vendor(first))
    assert again.status_code == 409

    queue = await c.get("/verification/queue", headers=service.verifier)
    assert queue.status_code == 200, queue.text
    order = [e["vendor_id"] for e in queue.json()["items"] if e["vendor_id"] in (first, second)]
    assert order == [first, second]
    head = next(e for e in queue.json()["items"] if e["vendor_id"] == first)
    assert {i["kind"] for i in head["items"]} == {
        "company",
        "kbli",
        "tax_status",
        "licence",
        "experience",
        "personnel",
        "equipment",
    }
    assert head["resubmission"] is False
    # Only verifiers see the queue; a vendor does not.
    assert (await c.get("/verification/queue", headers=service.vendor(first))).status_code == 403

    r = await c.post(f"/verification/vendors/{first}/start", headers=service.verifier)
    assert r.status_code == 200
    assert r.json()["status"] == "under_verification"
    decisions = [
        {"item_id": i["item_id"], "verdict": "verified"} for i in head["items"] if i["item_id"] != ids["equipment"]
    ]
    decisions.append({"item_id": ids["equipment"], "verdict": "rejected", "reason": "Proof of ownership missing"})
    r = await c.post(
        f"/verification/vendors/{first}/decisions", json={"decisions": decisions}, headers=service.verifier
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "verified"
    assert r.json()["rejected"] == [
        {"kind": "equipment", "item_id": ids["equipment"], "reason": "Proof of ownership missing"}
    ]
    assert r.json()["eligible"] is True
    # Deciding an item that is no longer pending is a conflict that names the field.
    r2 = await c.post(
        f"/verification/vendors/{first}/decisions",
        json={"decisions": [{"item_id": ids["kbli"], "verdict": "verified"}]},
        headers=service.verifier,
    )
    assert r2.status_code == 409
    assert r2.json()["errors"][0]["field"] == "decisions.0.item_id"

    events = await service.outbox(first)
    types = [t for t, _ in events]
    assert types[0] == "vendor.registered.v1"
    assert "vendor.submitted_for_verification.v1" in types
    verified = next(p for t, p in events if t == "vendor.verified.v1")
    assert verified["facts"]["kbli_codes"] == ["41011", "42101"]
    assert verified["facts"]["size_class"] == "kecil"
    assert verified["facts"]["licences"][0]["sbu_subclassification"] == "BG004"
    assert verified["contact_email"] == "budi@majujaya.co.id"
    rejected = next(p for t, p in events if t == "vendor.rejected.v1")
    assert rejected["rejections"][0]["reason"] == "Proof of ownership missing"
    profile = [p for t, p in events if t == "vendor.profile_published.v1"][-1]
    assert "budi" not in str(profile).lower()
    assert "Siti" not in str(profile)

    # A change to verified data: only that part goes back to verification; the rest stays verified and visible.
    service.clock.advance(hours=1)
    r = await c.put(
        f"/vendors/{first}/experience/{ids['experience']}",
        json={
            "name": "Gedung Puskesmas",
            "client": "Dinkes",
            "value": 3_000_000_000,
            "year": 2024,
            "kbli_code": "41011",
        },
        headers=service.vendor(first),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "draft"
    assert r.json()["verified_data"]["value"] == 2_500_000_000
    r = await c.post(f"/vendors/{first}/submit", headers=service.vendor(first))
    assert r.status_code == 200
    assert r.json()["status"] == "verified"
    assert r.json()["submitted"] == [{"kind": "experience", "item_id": ids["experience"]}]
    queue = (await c.get("/verification/queue", headers=service.verifier)).json()["items"]
    entry = next(e for e in queue if e["vendor_id"] == first)
    assert entry["resubmission"] is True
    assert [i["item_id"] for i in entry["items"]] == [ids["experience"]]
    assert entry["items"][0]["verified_data"]["value"] == 2_500_000_000
    public = (await c.get(f"/public/vendors/{first}")).json()
    assert public["status"] == "verified"
    assert public["kbli_codes"] == ["41011", "42101"]
    facts = (await c.get(f"/vendors/{first}/eligibility", headers=service.pokja)).json()
    assert [e["value"] for e in facts["experience"]] == [2_500_000_000]

    # History keeps who, when and what.
    history = (await c.get(f"/vendors/{first}/history", headers=service.verifier)).json()["items"]
    change = next(h for h in history if h["action"] == "item_changed" and h["item_id"] == ids["experience"])
    assert change["actor"] == f"user-{first}"
    assert change["before"]["value"] == 2_500_000_000
    assert change["after"]["value"] == 3_000_000_000
    assert change["at"].startswith("2026-01-02T04:05")
    assert any(h["action"] == "item_rejected" and h["detail"] == "Proof of ownership missing" for h in history)
    assert any(h["action"] == "document_uploaded" for h in history)
