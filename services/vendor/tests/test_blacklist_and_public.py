"""The blacklist with its period on the clock, and the public search and profiles without private data."""

from __future__ import annotations

import uuid

from test_registration import register_full, verify_all
from vendor_test_support import Service


async def test_blacklist_period_is_enforced_public_and_lifted_at_its_end(service: Service) -> None:
    c = service.client
    vendor_id = f"v-{uuid.uuid4().hex[:8]}"
    await register_full(service, vendor_id, 31)
    await verify_all(service, vendor_id)
    entry = {
        "vendor_id": vendor_id,
        "opd_id": "dpupr",
        "legal_basis": "Perpres 16/2018 ps. 78",
        "reason": "False documents in tender T-17",
        "starts_on": "2026-01-02",
        "ends_on": "2026-01-11",
    }
    bad = await c.post("/blacklist", json={**entry, "ends_on": "2025-12-31"}, headers=service.admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "ends_on"
    unknown = await c.post("/blacklist", json={**entry, "vendor_id": "v-nobody"}, headers=service.admin)
    assert unknown.status_code == 404
    r = await c.post("/blacklist", json=entry, headers=service.admin)
    assert r.status_code == 201, r.text
    entry_id = r.json()["entry_id"]
    assert r.json()["in_force"] is True

    q = await c.get(f"/vendors/{vendor_id}/qualification", headers=service.pokja)
    assert q.json()["passed"] is False
    assert any(
        x["requirement"] == "not_blacklisted" and "dpupr until 2026-01-11" in x["reason"] for x in q.json()["results"]
    )
    public = await c.get("/public/blacklist")  # no token
    assert [e["entry_id"] for e in public.json() if e["vendor_id"] == vendor_id] == [entry_id]
    assert (await c.get(f"/public/vendors/{vendor_id}")).json()["blacklisted"] is True
    blacklisted = [p for t, p in await service.outbox(vendor_id) if t == "vendor.blacklisted.v1"]
    assert blacklisted[0]["entry"]["ends_on"] == "2026-01-11"
    assert blacklisted[0]["facts"]["eligible"] is False

    # Last day (Jakarta): still in force. The day after: over on every read, then lifted by the sweep.
    service.clock.advance(days=9)
    assert (await c.get(f"/public/vendors/{vendor_id}")).json()["blacklisted"] is True
    assert (await c.post("/jobs/sweep", headers=service.admin)).json()["lifted"] == []
    service.clock.advance(days=1)
    assert (await c.get(f"/public/vendors/{vendor_id}")).json()["blacklisted"] is False
    assert [e for e in (await c.get("/public/blacklist")).json() if e["vendor_id"] == vendor_id] == []
    assert (await c.post("/jobs/sweep", headers=service.admin)).json()["lifted"] == [entry_id]
    assert (await c.post("/jobs/sweep", headers=service.admin)).json()["lifted"] == []
    lifted = [p for t, p in await service.outbox(vendor_id) if t == "vendor.blacklist_lifted.v1"]
    assert len(lifted) == 1
    assert lifted[0]["lifted_on"] == "2026-01-12"
    assert lifted[0]["cause"] == "ended"
    assert lifted[0]["facts"]["blacklisted"] is False
    assert lifted[0]["facts"]["eligible"] is True
    past = (await c.get("/public/blacklist", params={"include_past": "true"})).json()
    assert next(e for e in past if e["entry_id"] == entry_id)["status"] == "lifted"

    # An admin may revoke an entry in force.
    r = await c.post(
        "/blacklist", json={**entry, "starts_on": "2026-01-12", "ends_on": "2027-01-11"}, headers=service.admin
    )
    second = r.json()["entry_id"]
    assert (await c.get(f"/public/vendors/{vendor_id}")).json()["blacklisted"] is True
    r = await c.post(f"/blacklist/{second}/revoke", json={"reason": "Annulled by PTUN ruling"}, headers=service.admin)
    assert r.status_code == 200
    assert r.json()["status"] == "revoked"
    assert (await c.get(f"/public/vendors/{vendor_id}")).json()["blacklisted"] is False
    again = await c.post(f"/blacklist/{second}/revoke", json={"reason": "again"}, headers=service.admin)
    assert again.status_code == 409


async def test_public_search_and_profile_show_only_verified_public_data(service: Service) -> None:
    c = service.client
    tag = uuid.uuid4().hex[:6]
    a, b, hidden = f"v-{tag}-a", f"v-{tag}-b", f"v-{tag}-c"
    await register_full(service, a, 41, legal_name=f"PT Karya {tag} Utama")
    await register_full(service, b, 42, legal_name=f"CV Karya {tag} Mandiri", city="Kota Serang", size_class="menengah")
    await register_full(service, hidden, 43, legal_name=f"PT Karya {tag} Rahasia")
    await verify_all(service, a)
    await verify_all(service, b)

    async def search(**params: str) -> list[str]:
        r = await c.get("/public/vendors", params={"q": f"karya {tag}", **params})
        assert r.status_code == 200, r.text
        return [v["vendor_id"] for v in r.json()["items"]]

    assert await search() == [b, a]  # by name; the unverified vendor is not listed
    assert await search(city="kota serang") == [b]
    assert await search(size_class="kecil") == [a]
    assert await search(kbli="42101") == [b, a]
    assert await search(kbli="62010") == []
    page = (await c.get("/public/vendors", params={"q": f"karya {tag}", "limit": 1})).json()
    assert [v["vendor_id"] for v in page["items"]] == [b]
    rest = (
        await c.get("/public/vendors", params={"q": f"karya {tag}", "limit": 1, "cursor": page["next_cursor"]})
    ).json()
    assert [v["vendor_id"] for v in rest["items"]] == [a]

    profile = await c.get(f"/public/vendors/{a}")
    assert profile.status_code == 200
    body = profile.json()
    assert body["legal_name"] == f"PT Karya {tag} Utama"
    assert body["city"] == "Kota Tangerang"
    assert body["licences"][0]["sbu_subclassification"] == "BG004"
    assert body["track_record"]["contracts_completed"] == 0
    text = profile.text.lower()
    for private in ("budi", "majujaya", "5550123", "siti", "skk-77", "kswp", "npwp", "contacts", "personnel"):
        assert private not in text, private
    assert (await c.get(f"/public/vendors/{hidden}")).status_code == 404
    assert (await c.get("/public/vendors/v-does-not-exist")).status_code == 404
