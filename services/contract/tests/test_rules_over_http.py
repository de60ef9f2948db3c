"""Amendment cap, payment ceiling, termination paths, object-level access and bad input, through HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from contract_test_support import Published, Service, active_contract, assert_frozen_shape, award, contract_from_award


def vid() -> str:
    return f"v-{uuid.uuid4().hex[:8]}"


async def view(svc: Service, cid: str) -> dict[str, Any]:
    r = await svc.client.get(f"/contracts/{cid}", headers=svc.ppk())
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    body.pop("updated_at")
    return body


async def test_amendment_cap_and_payment_ceiling(service: Service) -> None:
    svc, c, ppk = service, service.client, service.ppk()
    vendor_id = vid()
    # Price under 80% of HPS: the guarantee is 5% of HPS, not of the price.
    cid = await active_contract(svc, award(vendor_id=vendor_id, hps=1_000_000_000, price=700_000_001, low_price=True))
    vendor = svc.vendor(vendor_id)
    state = await view(svc, cid)
    assert state["performance_guarantee_amount"] == 50_000_000

    async def amend(delta: int) -> Any:
        r = await c.post(f"/contracts/{cid}/amendments", json={"reason": "Tambah", "value_delta": delta}, headers=ppk)
        if r.status_code != 201:
            return r
        return await c.post(f"/contracts/{cid}/amendments/{r.json()['number']}/sign", headers=vendor)

    # 10% of 700.000.001 is 70.000.000,1: additions may total Rp70.000.000 and not a Rupiah more.
    assert (await amend(40_000_000)).status_code == 200
    assert (await amend(-10_000_000)).status_code == 200  # a reduction makes no room for more additions
    before = await view(svc, cid)
    over = await amend(30_000_001)
    assert over.status_code == 422
    problem = over.json()
    assert problem["type"].endswith("/amendment-cap")
    assert problem["errors"][0]["field"] == "value_delta"
    assert "70000001" in problem["detail"]
    assert await view(svc, cid) == before  # nothing written
    assert (await amend(30_000_000)).status_code == 200
    after = await view(svc, cid)
    assert after["current_value"] == 760_000_001
    assert after["added_value_total"] == 70_000_000
    assert [v["value"] for v in after["terms_versions"]] == [700_000_001, 740_000_001, 730_000_001, 760_000_001]

    # Payments never exceed the current value.
    await c.post(f"/contracts/{cid}/progress", json={"milestone": "M1", "percent": 100}, headers=vendor)
    await c.post(f"/contracts/{cid}/progress", json={"milestone": "M2", "percent": 100}, headers=vendor)
    pay = {"kind": "termin", "termin": 1, "amount": 700_000_000}
    assert (await c.post(f"/contracts/{cid}/payments", json=pay, headers=ppk)).status_code == 201
    before = await view(svc, cid)
    too_much = await c.post(
        f"/contracts/{cid}/payments", json={"kind": "termin", "termin": 2, "amount": 60_000_002}, headers=ppk
    )
    assert too_much.status_code == 422
    assert too_much.json()["type"].endswith("/payment-ceiling")
    assert too_much.json()["errors"][0]["field"] == "amount"
    assert await view(svc, cid) == before
    exact = await c.post(
        f"/contracts/{cid}/payments", json={"kind": "termin", "termin": 2, "amount": 60_000_001}, headers=ppk
    )
    assert exact.status_code == 201
    # A reduction below what has been paid is refused.
    below = await amend(-1)
    assert below.status_code == 422
    assert below.json()["type"].endswith("/value-below-paid")


async def test_termination_replacement_and_stop(service: Service) -> None:
    svc, c, ppk = service, service.client, service.ppk()
    vendor_id, reserve = vid(), vid()
    cid = await active_contract(svc, award(vendor_id=vendor_id, reserves=(reserve,)))
    # The vendor cannot end the contract; the reason and fault party are required.
    vendor = svc.vendor(vendor_id)
    end = {"kind": "termination", "reason": "Pekerjaan berhenti 60 hari tanpa alasan", "fault_party": "vendor",
           "legal_basis": "Perpres 16/2018 ps. 56", "blacklist_recommended": True}  # fmt: skip
    assert (await c.post(f"/contracts/{cid}/end", json=end, headers=vendor)).status_code == 403
    missing = await c.post(f"/contracts/{cid}/end", json={"kind": "termination", "reason": "x"}, headers=ppk)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "fault_party"
    wrong = await c.post(f"/contracts/{cid}/end", json=end | {"fault_party": "ppk"}, headers=ppk)
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "blacklist_recommended"

    svc.clock.advance(days=70)
    r = await c.post(f"/contracts/{cid}/end", json=end, headers=ppk)
    assert r.status_code == 200
    assert r.json()["status"] == "terminated"
    assert (await c.post(f"/contracts/{cid}/end", json=end, headers=ppk)).status_code == 409

    # A non-reserve vendor cannot take over; the reserve can, once.
    stranger = {"vendor_id": vid(), "vendor_name": "PT Lain", "value": 1_000_000_000}
    refused = await c.post(f"/contracts/{cid}/replacement", json=stranger, headers=ppk)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "vendor_id"
    take_over = {"vendor_id": reserve, "vendor_name": "PT Cadangan Jaya", "value": 1_800_000_001}
    assert (await c.post(f"/contracts/{cid}/replacement", json=take_over, headers=ppk)).status_code == 422
    replacement = await c.post(f"/contracts/{cid}/replacement", json=take_over | {"value": 1_500_000_000}, headers=ppk)
    assert replacement.status_code == 201
    new = replacement.json()
    assert new["status"] == "draft"
    assert new["vendor_id"] == reserve
    assert new["replaces_contract_id"] == cid
    assert new["performance_guarantee_amount"] == 75_000_000
    again = await c.post(f"/contracts/{cid}/replacement", json=take_over | {"value": 1}, headers=ppk)
    assert again.status_code == 409

    scores = [{"criterion": k, "score": 1, "scale_max": 4} for k in ("quality", "cost", "time", "service")]
    assert (await c.put(f"/contracts/{cid}/rating", json={"scores": scores}, headers=ppk)).status_code == 200

    # Stopping (penghentian) by force majeure: no blacklist, its own event.
    other_vendor = vid()
    stopped = await active_contract(svc, award(vendor_id=other_vendor))
    stop = {"kind": "stop", "reason": "Banjir besar", "fault_party": "force_majeure"}
    r = await c.post(f"/contracts/{stopped}/end", json=stop, headers=ppk)
    assert r.json()["status"] == "stopped"
    no_replace = await c.post(f"/contracts/{stopped}/replacement", json=take_over | {"value": 1}, headers=ppk)
    assert no_replace.status_code == 409

    # A draft cannot be terminated: it is not a contract yet.
    draft = await contract_from_award(svc, award(vendor_id=vid()))
    assert (await c.post(f"/contracts/{draft}/end", json=stop, headers=ppk)).status_code == 409

    async with Published(svc.broker) as internal:
        events = dict(await internal.events(cid, "contract.terminated.v1", "contract.vendor_rated.v1"))
        stop_events = dict(await internal.events(stopped, "contract.stopped.v1"))
        new_events = dict(await internal.events(new["id"], "contract.drafted.v1"))
    terminated = events["contract.terminated.v1"]
    assert_frozen_shape("contract.terminated.v1", terminated)
    assert terminated["fault_party"] == "vendor"
    assert terminated["blacklist_recommended"] is True
    assert terminated["terminated_on"] == "2026-05-11"
    assert terminated["paid_value"] == 0
    assert_frozen_shape("contract.vendor_rated.v1", events["contract.vendor_rated.v1"])
    assert stop_events["contract.stopped.v1"]["fault_party"] == "force_majeure"
    assert "contract.terminated.v1" not in stop_events
    assert new_events["contract.drafted.v1"]["replaces_contract_id"] == cid


async def test_object_level_access(service: Service) -> None:
    svc, c = service, service.client
    vendor_id = vid()
    cid = await active_contract(svc, award(vendor_id=vendor_id))
    other_ppk = svc.ppk(opd="dinkes", sub="ppk-dinkes")
    other_vendor = svc.vendor(vid())
    before = await view(svc, cid)

    assert (await c.get(f"/contracts/{cid}", headers=other_ppk)).status_code == 403
    assert (await c.get(f"/contracts/{cid}", headers=other_vendor)).status_code == 404
    assert (await c.get(f"/contracts/{cid}", headers=svc.auth("aud-1", "auditor"))).status_code == 403
    assert (await c.get(f"/contracts/{cid}")).status_code == 401
    assert (await c.get(f"/contracts/{cid}", headers={"Authorization": "Bearer nonsense"})).status_code == 401
    assert (await c.get(f"/contracts/{cid}", headers=svc.vendor(vendor_id))).status_code == 200
    assert (await c.get(f"/contracts/{cid}", headers=svc.auth("admin-1", "admin"))).status_code == 200

    progress = {"milestone": "M1", "percent": 50}
    assert (await c.post(f"/contracts/{cid}/progress", json=progress, headers=other_vendor)).status_code == 404
    assert (await c.post(f"/contracts/{cid}/progress", json=progress, headers=other_ppk)).status_code == 403
    pay = {"kind": "termin", "termin": 1, "amount": 1}
    assert (await c.post(f"/contracts/{cid}/payments", json=pay, headers=other_ppk)).status_code == 403
    assert (await c.post(f"/contracts/{cid}/payments", json=pay, headers=svc.vendor(vendor_id))).status_code == 403
    amend = {"reason": "x", "value_delta": 1}
    assert (await c.post(f"/contracts/{cid}/amendments", json=amend, headers=other_ppk)).status_code == 403
    assert (
        await c.post(f"/contracts/{cid}/amendments", json=amend, headers=svc.auth("admin-1", "admin"))
    ).status_code == 403
    assert await view(svc, cid) == before

    # Lists are filtered the same way.
    mine = (await c.get("/contracts", headers=svc.vendor(vendor_id))).json()["items"]
    assert [x["id"] for x in mine] == [cid]
    assert (await c.get("/contracts", headers=other_vendor)).json()["items"] == []
    assert cid not in [x["id"] for x in (await c.get("/contracts", headers=other_ppk)).json()["items"]]

    # Anyone reads the public record without a token.
    public = await c.get(f"/public/contracts/{cid}")
    assert public.status_code == 200
    assert public.json()["vendor_name"] == "PT Maju Jaya Konstruksi"
    assert public.json()["status"] == "active"


async def test_bad_input_is_refused_precisely_and_changes_nothing(service: Service) -> None:
    svc, c, ppk = service, service.client, service.ppk()
    vendor_id = vid()
    cid = await contract_from_award(
        svc, award(vendor_id=vendor_id, procurement_type="jasa_lainnya", price=150_000_000, hps=160_000_000)
    )
    before = await view(svc, cid)
    assert before["performance_guarantee_amount"] == 0  # goods/other services up to Rp200 juta

    from contract_test_support import draft_terms

    cases: list[tuple[dict[str, Any], int, str]] = [
        (draft_terms(payment_plan=[{"termin": 1, "description": "I", "share_bps": 9000, "milestone": "M1"}]), 422,
         "payment_plan"),
        (draft_terms(contract_type="borongan"), 422, "contract_type"),
        (draft_terms(contract_type="waktu_penugasan"), 422, "contract_type"),
        (draft_terms(duration_days=0), 422, "duration_days"),
        (draft_terms(retention_bps=600), 422, "retention_bps"),
        (draft_terms(advance_payment_amount=45_000_001), 422, "advance_payment_amount"),
        (draft_terms(advance_payment_amount=1.5), 422, "advance_payment_amount"),
        (draft_terms(advance_payment_amount="1000"), 422, "advance_payment_amount"),
        (draft_terms(payment_plan=[{"termin": 1, "description": "I", "share_bps": 10000, "milestone": "M9"}]), 422,
         "payment_plan.0.milestone"),
        (draft_terms(surprise=True), 422, "surprise"),
    ]  # fmt: skip
    for body, status, field in cases:
        r = await c.put(f"/contracts/{cid}/draft", json=body, headers=ppk)
        assert r.status_code == status, (field, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in r.json()["errors"]], (field, r.json())
    assert await view(svc, cid) == before

    ok = await c.put(f"/contracts/{cid}/draft", json=draft_terms(advance_payment_amount=45_000_000), headers=ppk)
    assert ok.status_code == 200
    assert (await c.post(f"/contracts/{cid}/sign", headers=svc.vendor(vendor_id))).status_code == 200
    assert (await c.post(f"/contracts/{cid}/sign", headers=ppk)).status_code == 200
    before = await view(svc, cid)
    bad_start = await c.post(
        f"/contracts/{cid}/spmk", json={"spmk_number": "S", "start_date": "2026-03-01"}, headers=ppk
    )
    assert bad_start.status_code == 422
    assert bad_start.json()["errors"][0]["field"] == "start_date"
    future = await c.post(
        f"/contracts/{cid}/payments", json={"kind": "advance", "amount": 1, "paid_on": "2027-01-01"}, headers=ppk
    )
    assert future.status_code == 422
    no_guarantee = await c.post(
        f"/contracts/{cid}/payments", json={"kind": "advance", "amount": 45_000_000}, headers=ppk
    )
    assert no_guarantee.status_code == 422
    assert no_guarantee.json()["type"].endswith("/advance-guarantee-missing")
    assert (
        await c.post(f"/contracts/{cid}/progress", json={"milestone": "M1", "percent": 10}, headers=ppk)
    ).status_code == 409
    assert (await c.post("/contracts/nope/sign", headers=ppk)).status_code == 404
    assert await view(svc, cid) == before

    guarantee = {"kind": "advance_payment", "issuer": "Bank BJB", "number": "JUM-1", "amount": 45_000_000,
                 "valid_until": "2026-12-31"}  # fmt: skip
    assert (
        await c.post(f"/contracts/{cid}/guarantees", json=guarantee, headers=svc.vendor(vendor_id))
    ).status_code == 201
    paid = await c.post(f"/contracts/{cid}/payments", json={"kind": "advance", "amount": 45_000_000}, headers=ppk)
    assert paid.status_code == 201
    twice = await c.post(f"/contracts/{cid}/payments", json={"kind": "advance", "amount": 1}, headers=ppk)
    assert twice.status_code == 409
