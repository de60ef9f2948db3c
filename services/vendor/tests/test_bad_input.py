"""Bad input and the wrong caller get a precise 4xx problem, and nothing is written."""

from __future__ import annotations

import uuid

from vendor_test_support import PDF, PNG, Service, company, npwp

PROBLEM = "application/problem+json"


def fields(response: object) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]  # type: ignore[attr-defined]


async def test_bad_identifiers_files_and_foreign_records_are_refused(service: Service) -> None:
    c = service.client
    mine, theirs = f"v-{uuid.uuid4().hex[:8]}", f"v-{uuid.uuid4().hex[:8]}"
    h = service.vendor(mine)

    r = await c.put(f"/vendors/{mine}/company", json=company(npwp="01.312.166.1-091.000"), headers=h)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert fields(r) == ["npwp"]
    assert "check digit" in r.json()["errors"][0]["message"]
    r = await c.put(f"/vendors/{mine}/company", json=company(npwp="12345"), headers=h)
    assert r.status_code == 422
    assert fields(r) == ["npwp"]
    r = await c.put(f"/vendors/{mine}/company", json=company(nib="12345", npwp=npwp(10)), headers=h)
    assert r.status_code == 422
    assert fields(r) == ["nib"]
    r = await c.put(f"/vendors/{mine}/company", json=company(npwp=npwp(10), business_form="llc"), headers=h)
    assert r.status_code == 422
    assert fields(r) == ["business_form"]
    # Nothing was written by the refused requests.
    assert (await c.get(f"/vendors/{mine}", headers=h)).status_code == 404

    assert (await c.put(f"/vendors/{mine}/company", json=company(npwp=npwp(10)), headers=h)).status_code == 200
    r = await c.put(f"/vendors/{theirs}/company", json=company(npwp=npwp(10)), headers=service.vendor(theirs))
    assert r.status_code == 409
    assert fields(r) == ["npwp"]

    r = await c.put(f"/vendors/{mine}/kbli", json={"codes": ["41011", "4101"]}, headers=h)
    assert r.status_code == 422
    assert fields(r) == ["codes.1"]
    assert "5-digit" in r.json()["errors"][0]["message"]
    r = await c.post(
        f"/vendors/{mine}/experience",
        json={"name": "x", "client": "y", "value": 1500000.5, "year": 2024, "kbli_code": "41011"},
        headers=h,
    )
    assert r.status_code == 422
    assert fields(r) == ["value"]
    r = await c.post(
        f"/vendors/{mine}/licences",
        json={"kind": "sbu", "number": "1", "issuer": "LPJK", "kbli_codes": ["41011"]},
        headers=h,
    )
    assert r.status_code == 422
    assert "sbu_subclassification" in r.text
    r = await c.post(
        f"/vendors/{mine}/licences",
        json={
            "kind": "siup",
            "number": "1",
            "issuer": "DPMPTSP",
            "valid_from": "2026-01-01",
            "valid_until": "2025-01-01",
        },
        headers=h,
    )
    assert r.status_code == 422
    assert "valid_until" in r.text

    # Files: too large, a type that is not accepted, content that does not match the declared type.
    upload = {**h}
    r = await c.post(
        f"/vendors/{mine}/documents",
        params={"filename": "big.pdf"},
        content=PDF * 100,
        headers={**upload, "Content-Type": "application/pdf"},
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM

    async def chunks() -> object:
        # No Content-Length: the limit is enforced while streaming.
        for _ in range(60):
            yield PDF

    r = await c.post(
        f"/vendors/{mine}/documents",
        params={"filename": "big.pdf"},
        content=chunks(),
        headers={**upload, "Content-Type": "application/pdf"},
    )
    assert r.status_code == 413
    r = await c.post(
        f"/vendors/{mine}/documents",
        params={"filename": "notes.pdf"},
        content=b"just some text pretending to be a PDF" * 10,
        headers={**upload, "Content-Type": "application/pdf"},
    )
    assert r.status_code == 415
    assert fields(r) == ["content-type"]
    r = await c.post(
        f"/vendors/{mine}/documents",
        params={"filename": "scan.pdf"},
        content=PNG,
        headers={**upload, "Content-Type": "application/pdf"},
    )
    assert r.status_code == 415
    assert "image/png" in r.json()["detail"]
    r = await c.post(
        f"/vendors/{mine}/documents",
        params={"filename": "scan.png", "item_id": "nope"},
        content=PNG,
        headers={**upload, "Content-Type": "image/png"},
    )
    assert r.status_code == 422
    assert fields(r) == ["item_id"]
    # Refused uploads leave no file behind.
    leftovers = [p for p in service.storage.rglob("*") if p.is_file()]
    assert leftovers == []
    r = await c.post(
        f"/vendors/{mine}/documents",
        params={"filename": "scan.png"},
        content=PNG,
        headers={**upload, "Content-Type": "image/png"},
    )
    assert r.status_code == 201

    # Someone else's vendor: a vendor user cannot see or edit it (404, not even its existence).
    other = service.vendor(theirs)
    assert (await c.get(f"/vendors/{mine}", headers=other)).status_code == 404
    r = await c.put(f"/vendors/{mine}/kbli", json={"codes": ["41011"]}, headers=other)
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    r = await c.post(f"/vendors/{mine}/submit", headers=other)
    assert r.status_code == 404
    # Officials read but do not edit; verifiers verify but do not edit; no token is 401.
    assert (await c.get(f"/vendors/{mine}", headers=service.pokja)).status_code == 200
    assert (
        await c.put(f"/vendors/{mine}/kbli", json={"codes": ["41011"]}, headers=service.verifier)
    ).status_code == 403
    assert (await c.get(f"/vendors/{mine}")).status_code == 401
    # Vendors neither verify nor blacklist.
    assert (await c.post(f"/verification/vendors/{mine}/start", headers=h)).status_code == 403
    r = await c.post(
        "/blacklist",
        json={
            "vendor_id": theirs,
            "opd_id": "dinkes",
            "legal_basis": "x",
            "reason": "y",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
        },
        headers=h,
    )
    assert r.status_code == 403
    # A rejection needs a reason.
    await c.post(f"/vendors/{mine}/submit", headers=h)
    record = (await c.get(f"/vendors/{mine}", headers=service.verifier)).json()
    r = await c.post(
        f"/verification/vendors/{mine}/decisions",
        json={"decisions": [{"item_id": record["items"][0]["item_id"], "verdict": "rejected"}]},
        headers=service.verifier,
    )
    assert r.status_code == 422
    assert fields(r) == ["decisions.0"]
    # Public search refuses a malformed KBLI too.
    r = await c.get("/public/vendors", params={"kbli": "41O11"})
    assert r.status_code == 422
    assert fields(r) == ["kbli"]
