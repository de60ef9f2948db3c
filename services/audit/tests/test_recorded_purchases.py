"""Purchases recorded outside the platform (tender.purchase_recorded.v1) through the real broker: the highest
revision of each record counts, once; split purchases are judged over recorded purchases and platform direct
awards together; governance indicators count recorded non-tender, swakelola and emergency purchases in
integer Rupiah; corrections move the figures, replays and late lower revisions change nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import flows
from audit_test_support import Service
from flows import publish, republish

from eproc_audit.indicators import RecordFacts, compute, ratio_bp
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types import recording as rec
from eproc_shared.testing import eventually

JT = 1_000_000  # juta


async def _logged(service: Service, envelopes: list[Envelope[Any]]) -> dict[str, int]:
    async def check() -> dict[str, int] | None:
        found = await service.logged(*(e.id for e in envelopes))
        return {e["event_id"]: e["seq"] for e in found} if len(found) == len(envelopes) else None

    return await eventually(check)  # type: ignore[no-any-return]


async def _splits(service: Service, opd: str) -> list[dict[str, Any]]:
    response = await service.client.get("/public/red-flags", params={"opd_id": opd, "limit": 500})
    assert response.status_code == 200, response.text
    return [f for f in response.json()["items"] if f["kind"] == "split_purchase"]


async def _indicators(service: Service, opd: str) -> dict[str, Any]:
    response = await service.client.get(f"/public/indicators/2026/opd/{opd}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _expected(records: list[rec.TenderPurchaseRecorded]) -> dict[str, Any]:
    """What the indicators should say of these (latest) records, summed here from the records themselves."""

    def totals(rs: list[rec.TenderPurchaseRecorded]) -> dict[str, int]:
        return {
            "packages": len(rs),
            "pagu": sum(r.pagu for r in rs),
            "hps": 0,
            "awarded": 0,
            "contract_value": sum(r.realised_value for r in rs),
        }

    by_kind = {f"pencatatan_{k}": totals([r for r in records if r.kind == k]) for k in {r.kind for r in records}}
    non_tender = [r for r in records if r.kind == "non_tender"]
    bought = {m: totals([r for r in non_tender if r.method == m]) for m in {r.method for r in non_tender}}
    return {"by_kind": by_kind, "bought": bought, "pagu": sum(r.pagu for r in records)}


async def test_recorded_purchases_split_flags_and_indicators(service: Service) -> None:
    run = flows.run_id()
    opd, other_opd = f"dinsos-{run}", f"dinkes-{run}"
    sent: list[Envelope[Any]] = []

    async def send(payload: Any, key: str) -> Envelope[Any]:
        envelope = await publish(service, payload, key)
        sent.append(envelope)
        return envelope

    def rid(name: str) -> str:
        return f"{name}-{run}"

    # VA split one purchase in two records (120 + 90 juta, ten days apart); its e-purchasing buy does not count.
    r1 = flows.recorded(rid("r1"), opd, value=120 * JT, pagu=130 * JT, vendor_id="VA", start=date(2026, 5, 4))
    r2 = flows.recorded(
        rid("r2"), opd, value=90 * JT, pagu=100 * JT, vendor_id="VA", kbli=("47112",), start=date(2026, 5, 14)
    )
    r6 = flows.recorded(
        rid("r6"), opd, value=50 * JT, method="e_purchasing", vendor_id="VA", kbli=("47113",), start=date(2026, 5, 10)
    )
    # VB: a platform pengadaan langsung (150 juta, 11 May) and a recorded one (60 juta, 20 May).
    p1, fp1 = f"P1-{run}", flows.facts(f"P1-{run}", opd, method="pengadaan_langsung", hps=150 * JT, pagu=160 * JT)
    r3 = flows.recorded(rid("r3"), opd, value=60 * JT, vendor_id="VB", kbli=("46901",), start=date(2026, 5, 20))
    # Swakelola and an emergency purchase: counted, never judged as splits.
    r4 = flows.recorded(
        rid("r4"),
        opd,
        value=480 * JT,
        pagu=500 * JT,
        kind="swakelola",
        method="swakelola",
        kbli=(),
        start=date(2026, 4, 1),
    )
    r5 = flows.recorded(
        rid("r5"),
        opd,
        value=300 * JT,
        pagu=320 * JT,
        kind="darurat",
        method="darurat",
        kbli=(),
        start=date(2026, 2, 10),
    )
    # VC: 100 + 80 juta stays under the ceiling...
    r7 = flows.recorded(rid("r7"), opd, value=100 * JT, vendor_id="VC", kbli=("10101",), start=date(2026, 7, 1))
    r8 = flows.recorded(rid("r8"), opd, value=80 * JT, vendor_id="VC", kbli=("10102",), start=date(2026, 7, 10))
    # r9 is corrected to another OPD; r10's correction arrives before its first version.
    r9 = flows.recorded(rid("r9"), opd, value=40 * JT, vendor_id="VD", start=date(2026, 9, 1))
    r9b = flows.recorded(rid("r9"), other_opd, value=45 * JT, revision=2, vendor_id="VD", start=date(2026, 9, 1))
    r10b = flows.recorded(rid("r10"), opd, value=70 * JT, revision=2, vendor_id="VE", start=date(2026, 10, 1))
    r10 = flows.recorded(rid("r10"), opd, value=10 * JT, vendor_id="VE", start=date(2026, 10, 1))

    env: dict[str, Envelope[Any]] = {}
    for name, record in (("r1", r1), ("r2", r2), ("r6", r6), ("r3", r3), ("r4", r4), ("r5", r5), ("r7", r7)):
        env[name] = await send(record, record.record_id)
    env["r8"] = await send(r8, r8.record_id)
    env["p1"] = await send(flows.awarded(fp1, "VB", 150 * JT, days=70), p1)
    env["r9"] = await send(r9, r9.record_id)
    env["r9b"] = await send(r9b, r9b.record_id)
    env["r10b"] = await send(r10b, r10b.record_id)
    env["r10"] = await send(r10, r10.record_id)
    seqs = await _logged(service, sent)

    splits = await _splits(service, opd)
    subjects = {(f["package_id"], f["record_id"], f["vendor_id"]) for f in splits}
    assert subjects == {
        (None, r1.record_id, "VA"),
        (None, r2.record_id, "VA"),
        (p1, None, "VB"),
        (None, r3.record_id, "VB"),
    }
    va = next(f for f in splits if f["record_id"] == r1.record_id)
    assert va["evidence"] == sorted([seqs[env["r1"].id], seqs[env["r2"].id]])
    assert "Rp210,000,000" in va["explanation"], "the e-purchasing buy is not a direct purchase"
    assert f"recorded {r2.code}" in va["explanation"]
    mixed = next(f for f in splits if f["package_id"] == p1)
    assert mixed["evidence"] == sorted([seqs[env["p1"].id], seqs[env["r3"].id]])
    assert "Rp210,000,000" in mixed["explanation"]
    by_record = await service.client.get("/public/red-flags", params={"record_id": r3.record_id})
    assert [f["kind"] for f in by_record.json()["items"]] == ["split_purchase"]

    # ...until r8 is corrected to 120 juta: now both VC purchases are flagged, on the correction's evidence.
    env["r8b"] = await send(flows.recorded(rid("r8"), opd, value=120 * JT, revision=2, vendor_id="VC",
                                           kbli=("10102",), start=date(2026, 7, 10)), r8.record_id)  # fmt: skip
    # A late copy of revision 1 (a re-import) changes nothing.
    env["r8late"] = await send(r8, r8.record_id)
    seqs |= await _logged(service, sent)
    vc = [f for f in await _splits(service, opd) if f["vendor_id"] == "VC"]
    assert {f["record_id"] for f in vc} == {r7.record_id, r8.record_id}
    assert all(f["evidence"] == sorted([seqs[env["r7"].id], seqs[env["r8b"].id]]) for f in vc)
    assert all("Rp220,000,000" in f["explanation"] for f in vc)

    # Indicators: the latest revision of each record, at its latest OPD, once.
    latest = [r1, r2, r6, r3, r4, r5, r7, flows.recorded(rid("r8"), opd, value=120 * JT, revision=2), r10b]
    expected = _expected(latest)
    ind = await _indicators(service, opd)
    assert {k: v for k, v in ind["by_method"].items() if k.startswith("pencatatan_")} == expected["by_kind"]
    assert ind["by_method"]["pencatatan_non_tender"]["contract_value"] == 610 * JT
    assert ind["recorded_non_tender_by_method"] == expected["bought"]
    assert ind["by_method"]["pengadaan_langsung"] == {
        "packages": 1, "pagu": 160 * JT, "hps": 150 * JT, "awarded": 1, "contract_value": 150 * JT
    }  # fmt: skip
    assert (ind["run_in_platform"], ind["recorded_in_platform"]) == (1, len(latest))
    assert ind["recorded_in_platform_pagu"] == expected["pagu"] == 1_450 * JT
    assert ind["recorded_value"] == sum(r.realised_value for r in latest)
    assert ind["run_share_bp"] == 1000  # 1 of 10
    assert ind["run_share_pagu_bp"] == ratio_bp(160 * JT, 160 * JT + 1_450 * JT) == 994
    assert ind["packages"] == 1, "recorded purchases are not packages run in the platform"
    moved = await _indicators(service, other_opd)
    assert moved["by_method"] == {"pencatatan_non_tender": {"packages": 1, "pagu": 45 * JT, "hps": 0, "awarded": 0,
                                                            "contract_value": 45 * JT}}  # fmt: skip
    city = (await service.client.get("/public/indicators/2026")).json()
    assert city["opds"][opd] == {k: v for k, v in ind.items() if k not in ("fiscal_year", "opd_id")}
    assert city["opds"][other_opd]["recorded_in_platform"] == 1

    # Replays of every event change no figure and raise nothing.
    flags_before = await _splits(service, opd)
    for envelope in list(sent):
        await republish(service, envelope)
    marker = await publish(service, flows.recorded(rid("marker"), f"marker-{run}", value=1), rid("marker"))
    await _logged(service, [marker])
    assert await _indicators(service, opd) == ind
    assert await _indicators(service, other_opd) == moved
    assert await _splits(service, opd) == flags_before


def test_recorded_indicators_are_integer_rupiah() -> None:
    """Pure arithmetic: records beyond 2^53 Rupiah add up exactly; no platform package makes the share 0."""
    records = [
        RecordFacts("a", "o", 2026, "non_tender", "pengadaan_langsung", 2**60, 2**60 - 1),
        RecordFacts("b", "o", 2026, "swakelola", "swakelola", 3, 1),
    ]
    out = compute([], records)
    assert out.by_method["pencatatan_non_tender"].contract_value == 2**60 - 1
    assert out.recorded_in_platform_pagu == 2**60 + 3
    assert out.recorded_value == 2**60
    assert (out.run_share_bp, out.run_share_pagu_bp) == (0, 0)
    assert compute([]).run_share_bp is None
