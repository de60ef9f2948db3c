"""A whole contract life through HTTP, started by a real award event over the broker, with the clock moved."""

from __future__ import annotations

import uuid
from datetime import timedelta

from contract_test_support import (
    Published,
    Service,
    assert_frozen_shape,
    award,
    consumed,
    contracts_of,
    draft_terms,
    envelope_of,
    publish,
)

from eproc_shared.events.envelope import Envelope
from eproc_shared.testing import eventually


async def test_award_to_completion_and_rating(service: Service) -> None:
    svc, c = service, service.client
    vendor_id = f"v-{uuid.uuid4().hex[:8]}"
    data = award(vendor_id=vendor_id)
    package_id = data.package.package_id
    first = envelope_of(data)
    # The same event delivered twice, and the same award re-sent as a new event: one contract.
    again = Envelope.new(data, source="/eproc/tender", key=package_id, time=data.awarded_at)
    await publish(svc.broker, first, first, again)

    async def all_consumed() -> bool:
        return await consumed(svc, first.id) and await consumed(svc, again.id)

    await eventually(all_consumed, timeout_s=30)
    listed = await contracts_of(svc, package_id)
    assert len(listed) == 1
    cid = listed[0]["id"]
    ppk, vendor = svc.ppk(), svc.vendor(vendor_id)

    draft = (await c.get(f"/contracts/{cid}", headers=ppk)).json()
    assert draft["status"] == "draft"
    assert draft["original_value"] == 1_800_000_000
    assert draft["proposed_contract_type"] == "lumsum"
    assert draft["sppbj_date"] == "2026-02-27"
    assert draft["performance_guarantee_amount"] == 90_000_000  # 5% of the price (not under 80% of HPS)
    # Not public before signing.
    assert (await c.get(f"/public/contracts/{cid}")).status_code == 404
    assert (await c.get(f"/public/contracts/{cid}/progress")).status_code == 404

    assert (await c.put(f"/contracts/{cid}/draft", json=draft_terms(), headers=ppk)).status_code == 200
    # No signature before the performance guarantee.
    refused = await c.post(f"/contracts/{cid}/sign", headers=vendor)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("performance-guarantee-missing")
    guarantee = {"kind": "performance", "issuer": "Bank BJB", "number": "JP-77", "valid_until": "2026-12-31"}
    small = await c.post(f"/contracts/{cid}/guarantees", json=guarantee | {"amount": 89_999_999}, headers=vendor)
    assert small.status_code == 422
    assert small.json()["errors"][0]["field"] == "amount"
    r = await c.post(f"/contracts/{cid}/guarantees", json=guarantee | {"amount": 90_000_000}, headers=vendor)
    assert r.status_code == 201

    # The vendor signs first, then the PPK, a minute later: order and time recorded.
    assert (await c.post(f"/contracts/{cid}/sign", headers=vendor)).json()["status"] == "signing"
    assert (await c.post(f"/contracts/{cid}/sign", headers=vendor)).status_code == 409
    svc.clock.advance(minutes=1)
    signed = (await c.post(f"/contracts/{cid}/sign", headers=ppk)).json()
    assert signed["status"] == "signed"
    assert signed["signed_on"] == "2026-03-02"
    assert [(s["party"], s["seq"], s["signer_id"]) for s in signed["signatures"]] == [
        ("vendor", 1, f"user-{vendor_id}"),
        ("ppk", 2, "ppk-1"),
    ]
    assert signed["signatures"][1]["signed_at"].startswith("2026-03-02T03:01:00")
    assert signed["signatures"][1]["signed_at"].endswith(("Z", "+00:00"))
    # The terms are frozen once signed.
    assert (await c.put(f"/contracts/{cid}/draft", json=draft_terms(), headers=ppk)).status_code == 409

    started = await c.post(
        f"/contracts/{cid}/spmk", json={"spmk_number": "SPMK/77", "start_date": "2026-03-03"}, headers=ppk
    )
    assert started.json()["planned_end"] == "2026-05-31"  # 90 days, both ends counted

    svc.clock.advance(days=20)
    half = {"milestone": "M1", "percent": 50, "note": "Galian selesai"}
    assert (await c.post(f"/contracts/{cid}/progress", json=half, headers=vendor)).status_code == 201
    svc.clock.advance(days=20)
    evidence = [{"name": "foto-drainase.jpg", "sha256": "ab" * 32}]
    r = await c.post(
        f"/contracts/{cid}/progress", json={"milestone": "M1", "percent": 100, "evidence": evidence}, headers=vendor
    )
    assert r.status_code == 201
    r = await c.post(
        f"/contracts/{cid}/payments", json={"kind": "termin", "termin": 1, "amount": 720_000_000}, headers=ppk
    )
    assert r.status_code == 201, r.text
    # Termin 2 is not due before its milestone is complete.
    early = await c.post(f"/contracts/{cid}/payments", json={"kind": "termin", "termin": 2, "amount": 1}, headers=ppk)
    assert early.status_code == 422
    assert early.json()["type"].endswith("milestone-not-reached")

    r = await c.post(
        f"/contracts/{cid}/amendments",
        json={"reason": "Tambahan saluran 200 m", "scope_change": "Saluran tambahan", "value_delta": 90_000_000,
              "extension_days": 10},
        headers=ppk,
    )  # fmt: skip
    assert r.status_code == 201
    assert r.json()["number"] == 1
    amended = (await c.post(f"/contracts/{cid}/amendments/1/sign", headers=vendor)).json()
    assert amended["current_value"] == 1_890_000_000
    assert amended["planned_end"] == "2026-06-10"
    assert [v["version"] for v in amended["terms_versions"]] == [1, 2]
    assert amended["terms_versions"][0]["value"] == 1_800_000_000
    assert amended["terms_versions"][0]["terms"]["duration_days"] == 90
    assert amended["terms_versions"][1]["terms"]["duration_days"] == 100

    svc.clock.now = svc.clock.now.replace(month=6, day=13)
    await c.post(f"/contracts/{cid}/progress", json={"milestone": "M2", "percent": 100}, headers=vendor)
    part = {"kind": "partial", "description": "Drainase", "handed_over_on": "2026-05-01"}
    partial = await c.post(f"/contracts/{cid}/handovers", json=part, headers=ppk)
    assert partial.status_code == 201
    assert partial.json()["days_late"] == 0
    final = await c.post(
        f"/contracts/{cid}/handovers", json={"kind": "final", "description": "Seluruh pekerjaan"}, headers=ppk
    )
    # Three days after the extended planned end: 1 per mille a day of Rp1.890.000.000.
    assert final.json()["days_late"] == 3
    assert final.json()["penalty"] == {"days_late": 3, "amount": 5_670_000, "uncapped": 5_670_000, "cap": 94_500_000}

    r = await c.post(
        f"/contracts/{cid}/payments", json={"kind": "termin", "termin": 2, "amount": 1_170_000_000}, headers=ppk
    )
    assert r.status_code == 201
    r = await c.post(f"/contracts/{cid}/payments", json={"kind": "retention_release"}, headers=ppk)
    assert r.status_code == 201
    svc.clock.advance(days=2)
    done = (await c.post(f"/contracts/{cid}/complete", json={}, headers=ppk)).json()
    assert done["status"] == "completed"
    assert done["ended_on"] == "2026-06-15"
    assert done["paid_total"] == 1_890_000_000
    assert done["retention_held"] == 0
    assert [(p["gross_amount"], p["retention_amount"], p["net_amount"]) for p in done["payments"]] == [
        (720_000_000, 36_000_000, 684_000_000),
        (1_170_000_000, 58_500_000, 1_111_500_000),
        (0, 0, 94_500_000),
    ]
    assert done["penalty_amount"] == 5_670_000

    scores = [{"criterion": k, "score": 3, "scale_max": 4} for k in ("quality", "cost", "time", "service")]
    r = await c.put(f"/contracts/{cid}/rating", json={"scores": scores, "comment": "Terlambat 3 hari"}, headers=ppk)
    assert r.status_code == 200

    public = (await c.get(f"/public/contracts/{cid}")).json()
    assert public["status"] == "completed"
    assert public["current_value"] == 1_890_000_000
    assert public["amendments"] == [
        {"number": 1, "reason": "Tambahan saluran 200 m", "value_delta": 90_000_000, "extension_days": 10,
         "new_value": 1_890_000_000, "amended_on": "2026-04-11"}
    ]  # fmt: skip
    assert "payments" not in public
    assert "guarantees" not in public
    assert "vendor_npwp" not in public
    progress = await c.get(f"/public/contracts/{cid}/progress")
    assert progress.status_code == 200, progress.text
    milestones = progress.json()["milestones"]
    # Each milestone's latest report (M1's 50 % was superseded), in the order they were first reported.
    assert [(m["milestone"], m["percent"]) for m in milestones] == [("M1", 100), ("M2", 100)]
    assert milestones[0]["reported_on"] < milestones[1]["reported_on"]
    assert "foto-drainase" not in progress.text, "evidence stays with the parties"
    assert "Galian" not in progress.text, "notes stay with the parties"
    listed_public = (await c.get("/public/contracts", params={"package_id": package_id})).json()["items"]
    assert [p["contract_id"] for p in listed_public] == [cid]

    async with Published(svc.broker) as internal:
        events = await internal.events(cid, "contract.completed.v1", "contract.vendor_rated.v1")
    types = [t for t, _ in events]
    assert types == [
        "contract.drafted.v1",
        "contract.party_signed.v1",
        "contract.signed.v1",
        "contract.started.v1",
        "contract.progress_reported.v1",
        "contract.progress_reported.v1",
        "contract.payment_recorded.v1",
        "contract.amended.v1",
        "contract.progress_reported.v1",
        "contract.handed_over.v1",
        "contract.handed_over.v1",
        "contract.payment_recorded.v1",
        "contract.payment_recorded.v1",
        "contract.completed.v1",
        "contract.vendor_rated.v1",
    ]
    payload = dict(events)
    assert_frozen_shape("contract.completed.v1", payload["contract.completed.v1"])
    assert payload["contract.completed.v1"] == {
        "contract_id": cid, "package_id": package_id, "opd_id": "dpupr", "vendor_id": vendor_id, "ppk_id": "ppk-1",
        "signed_on": "2026-03-02", "completed_on": "2026-06-15", "original_value": 1_800_000_000,
        "final_value": 1_890_000_000, "kbli_code": "42101",
    }  # fmt: skip
    rated = payload["contract.vendor_rated.v1"]
    assert_frozen_shape("contract.vendor_rated.v1", rated)
    assert rated["contract_value"] == 1_890_000_000
    assert rated["comment"] == "Terlambat 3 hari"
    assert payload["contract.signed.v1"]["signatures"][0]["party"] == "vendor"
    waiting = payload["contract.party_signed.v1"]
    assert (waiting["signature"]["party"], waiting["awaiting"]) == ("vendor", "ppk"), "the PPK's signature waits"

    async with Published(svc.broker, "eproc.contract.public") as public_topic:
        changes = await public_topic.events(cid, "contract.public_updated.v1")
        await eventually(lambda: _has_change(public_topic, cid, "completed"))
    last = [p for k, t, p in public_topic.records if k == cid][-1]
    assert last["change"] == "completed"
    assert last["contract"]["amendments"][0]["new_value"] == 1_890_000_000
    assert changes


async def _has_change(published: Published, key: str, change: str) -> bool:
    await published.events(key)
    return any(p["change"] == change for k, _, p in published.records if k == key)


def test_planned_end_counts_both_days() -> None:
    from datetime import date

    from eproc_contract.domain.lifecycle import planned_end

    assert planned_end(date(2026, 3, 3), 90) == date(2026, 5, 31)
    assert planned_end(date(2026, 3, 3), 1) == date(2026, 3, 3)
    assert planned_end(date(2026, 3, 3), 90) + timedelta(days=10) == date(2026, 6, 10)
