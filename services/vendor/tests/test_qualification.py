"""Qualification against requirements, and expiries judged with the service's clock (no sleeping)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from test_registration import register_full, verify_all
from vendor_test_support import Issuer, Service, running_service

from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import eventually


def by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["requirement"]: r for r in body["results"]}


async def test_requirements_pass_or_fail_with_reasons_and_expiry_follows_the_clock(service: Service) -> None:
    c = service.client
    vendor_id = f"v-{uuid.uuid4().hex[:8]}"
    await register_full(service, vendor_id, 21)
    # Before verification nothing counts.
    r = await c.get(f"/vendors/{vendor_id}/qualification", params={"kbli": "41011"}, headers=service.pokja)
    assert r.status_code == 200
    assert r.json()["passed"] is False
    assert by_name(r.json())["verified"]["reason"] == "The company data has not been verified."
    await verify_all(service, vendor_id)

    wanted = {
        "kbli": ["41011", "43211"],
        "small_business": "true",
        "min_experience_value": 2_000_000_000,
        "sbu": "BG004",
    }
    r = await c.get(f"/vendors/{vendor_id}/qualification", params=wanted, headers=service.pokja)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["passed"] is True, body
    assert body["on"] == "2026-01-02"
    results = by_name(body)
    assert set(results) == {
        "verified",
        "tax_status",
        "not_blacklisted",
        "kbli",
        "size_class",
        "experience",
        "sbu:BG004",
    }
    assert results["kbli"]["reason"] == "Holds the business field(s) 41011."
    assert "Rp2.500.000.000" in results["experience"]["reason"]

    # Failing requirements say why.
    r = await c.get(
        f"/vendors/{vendor_id}/qualification",
        params={"kbli": "62010", "size_class": "besar", "min_experience_value": 5_000_000_000, "sbu": "SI001"},
        headers=service.pokja,
    )
    results = by_name(r.json())
    assert r.json()["passed"] is False
    assert results["kbli"] == {
        "requirement": "kbli",
        "passed": False,
        "reason": "Holds none of the business fields 62010.",
    }
    assert results["size_class"]["passed"] is False
    assert "kecil" in results["size_class"]["reason"]
    assert results["experience"]["passed"] is False
    assert results["experience"]["reason"] == "No verified contract in 62010; minimum Rp5.000.000.000."
    assert results["sbu:SI001"]["reason"] == "No verified SBU with sub-classification SI001."
    # The vendor may check itself; another vendor may not.
    assert (await c.get(f"/vendors/{vendor_id}/qualification", headers=service.vendor(vendor_id))).status_code == 200
    assert (await c.get(f"/vendors/{vendor_id}/qualification", headers=service.vendor("v-other"))).status_code == 404

    # The SBU is valid until 31 March 2026 (inclusive, Jakarta time).
    service.clock.now = service.clock.now.replace(month=3, day=31, hour=16, minute=59)  # 23:59 in Jakarta
    r = await c.get(f"/vendors/{vendor_id}/qualification", params=wanted, headers=service.pokja)
    assert r.json()["passed"] is True
    assert (await c.post("/jobs/sweep", headers=service.admin)).json()["expired"] == []

    service.clock.advance(minutes=2)  # 1 April, 00:01 in Jakarta
    # Judged on read, before any sweep has run.
    r = await c.get(f"/vendors/{vendor_id}/qualification", params=wanted, headers=service.pokja)
    results = by_name(r.json())
    assert r.json()["passed"] is False
    assert results["sbu:BG004"] == {
        "requirement": "sbu:BG004",
        "passed": False,
        "reason": "SBU BG004 expired after 2026-03-31.",
    }
    assert results["kbli"]["reason"] == "The business field(s) 41011 are covered only by expired licences."
    facts = (await c.get(f"/vendors/{vendor_id}/eligibility", headers=service.pokja)).json()
    assert facts["licences"][0]["expired"] is True
    assert facts["kbli_codes"] == ["42101"]
    assert facts["eligible"] is True  # still eligible for work outside the lapsed licence's fields

    before = len(await service.outbox(vendor_id))
    sweep = (await c.post("/jobs/sweep", headers=service.admin)).json()
    assert sweep["day"] == "2026-04-01"
    assert len(sweep["expired"]) == 1
    events = (await service.outbox(vendor_id))[before:]
    types = [t for t, _ in events]
    assert types == ["vendor.licence_expired.v1", "vendor.qualification_changed.v1", "vendor.profile_published.v1"]
    expired = events[0][1]
    assert expired["valid_until"] == "2026-03-31"
    assert expired["effective_on"] == "2026-04-01"
    assert expired["licence_kind"] == "sbu"
    assert expired["kbli_codes"] == ["41011"]
    assert events[1][1]["cause"] == "licence_expired"
    assert events[1][1]["facts"]["kbli_codes"] == ["42101"]
    earlier = [p for t, p in (await service.outbox(vendor_id))[:before] if t == "vendor.qualification_changed.v1"]
    assert events[1][1]["facts"]["revision"] == earlier[-1]["facts"]["revision"] + 1
    # Announced once.
    assert (await c.post("/jobs/sweep", headers=service.admin)).json()["expired"] == []

    # The tax status lapses after 30 June: ineligible everywhere.
    service.clock.now = service.clock.now.replace(month=7, day=1)
    sweep = (await c.post("/jobs/sweep", headers=service.admin)).json()
    assert len(sweep["expired"]) == 1
    changed = [p for t, p in await service.outbox(vendor_id) if t == "vendor.qualification_changed.v1"][-1]
    assert changed["cause"] == "tax_status_expired"
    assert changed["facts"]["eligible"] is False
    assert changed["facts"]["ineligible_reasons"] == ["The tax-compliance status expired after 2026-06-30."]

    # A renewed SBU goes through verification, then counts again.
    record = (await c.get(f"/vendors/{vendor_id}", headers=service.vendor(vendor_id))).json()
    sbu = next(i for i in record["items"] if i["kind"] == "licence")
    r = await c.put(
        f"/vendors/{vendor_id}/licences/{sbu['item_id']}",
        json={**sbu["data"], "valid_until": "2029-03-31"},
        headers=service.vendor(vendor_id),
    )
    assert r.status_code == 200, r.text
    r = await c.get(f"/vendors/{vendor_id}/qualification", params={"sbu": "BG004"}, headers=service.pokja)
    assert by_name(r.json())["sbu:BG004"]["passed"] is False  # not verified yet
    await verify_all(service, vendor_id)
    r = await c.get(f"/vendors/{vendor_id}/qualification", params={"sbu": "BG004"}, headers=service.pokja)
    assert by_name(r.json())["sbu:BG004"]["passed"] is True


async def test_the_periodic_sweep_announces_an_expiry_by_itself(
    database_url: str, broker: BrokerSettings, auth_env: Issuer, tmp_path: Path
) -> None:
    async with running_service(database_url, broker, auth_env, tmp_path, sweep_interval_s=0.2) as svc:
        vendor_id = f"v-{uuid.uuid4().hex[:8]}"
        await register_full(svc, vendor_id, 22)
        await verify_all(svc, vendor_id)
        svc.clock.now = svc.clock.now.replace(month=4, day=1)

        async def announced() -> list[dict[str, Any]]:
            return [p for t, p in await svc.outbox(vendor_id) if t == "vendor.licence_expired.v1"]

        expired = await eventually(announced, timeout_s=15)
        assert expired[0]["licence_kind"] == "sbu"
        assert expired[0]["effective_on"] == "2026-04-01"
