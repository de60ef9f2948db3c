"""OCDS 1.1 releases, records and packages (validated against the vendored official schemas; any error
fails), and governance indicators in integer Rupiah, from a crafted history through the real broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import flows
import pytest
from audit_test_support import Service
from flows import publish
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from eproc_audit.indicators import PackageFacts, compute, ratio_bp
from eproc_shared.events.envelope import Envelope
from eproc_shared.testing import eventually


def _schema(name: str) -> dict[str, Any]:
    return json.loads(resources.files("eproc_audit").joinpath(f"ocds_schema/{name}").read_text("utf-8"))  # type: ignore[no-any-return]


RELEASE = _schema("release-schema-1__1__4.json")
REGISTRY = Registry().with_resource(RELEASE["id"], Resource.from_contents(RELEASE, default_specification=DRAFT4))


def assert_valid(document: dict[str, Any], schema_name: str) -> None:
    validator = Draft4Validator(_schema(schema_name), registry=REGISTRY, format_checker=Draft4Validator.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == [], errors


async def test_ocds_releases_records_and_indicators(service: Service) -> None:
    run = flows.run_id()
    opd = f"dpupr-{run}"
    p, fp = f"P-{run}", flows.facts(f"P-{run}", opd, hps=1_000_000_000, pagu=1_200_000_000)
    q, fq = f"Q-{run}", flows.facts(f"Q-{run}", opd, method="pengadaan_langsung", hps=150_000_000, pagu=160_000_000)
    c = f"C-{run}"
    prices = {"V1": 850_000_000, "V2": 900_000_000}
    sent: list[Envelope[Any]] = []
    for payload, key in (
        (flows.announced(fp, bidding_days=14), p),
        (flows.amended(p, bidding_days=20), p),
        (flows.bid(p, opd, "V1", "1"), p),  # internal: never a release
        (flows.opened(p, prices), p),
        (flows.winner(p, opd, "V1", prices, fp.hps), p),
        (flows.awarded(fp, "V1", 850_000_000, days=30), p),  # internal
        (flows.signed(c, p, opd, "V1", 850_000_000), c),
        (flows.public_contract(c, p, opd, "V1", change="signed", value=850_000_000, hps=fp.hps), c),
        (flows.completed(c, p, opd, "V1", 850_000_000), c),
        (
            flows.public_contract(
                c, p, opd, "V1", change="completed", value=850_000_000, hps=fp.hps,
                handed_over_on=datetime(2026, 7, 30, tzinfo=UTC).date(),
            ),
            c,
        ),
        (flows.announced(fq, bidding_days=3), q),
        (flows.awarded(fq, "V3", 140_000_000, days=4), q),
    ):  # fmt: skip
        sent.append(await publish(service, payload, key))
    cancelled = flows.facts(f"X-{run}", opd)
    sent.append(await publish(service, flows.announced(cancelled, bidding_days=14), cancelled.package_id))
    sent.append(
        await publish(
            service,
            flows.te.TenderCancelled(
                package_id=cancelled.package_id, opd_id=opd, reason="Anggaran dialihkan", cancelled_at=flows.T0
            ),
            cancelled.package_id,
        )
    )

    async def all_logged() -> bool:
        return len(await service.logged(*(e.id for e in sent))) == len(sent)

    await eventually(all_logged)

    # Release packages, paged by cursor: each page is valid OCDS.
    mine: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await service.client.get(
            "/public/ocds/releases", params={"limit": 3, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.text
        package = response.json()
        assert_valid(package, "release-package-schema-1__1__4.json")
        mine += [r for r in package["releases"] if r["ocid"].endswith(run)]
        cursor = package.get("links", {}).get("next", "").partition("cursor=")[2]
        if not cursor:
            break
    prefix = service.settings.ocds_ocid_prefix
    by_ocid: dict[str, list[list[str]]] = {}
    for release in mine:
        by_ocid.setdefault(release["ocid"], []).append(release["tag"])
    # Log order across topics is the broker's (contract events may come first); merging orders by date.
    assert sorted(by_ocid[f"{prefix}{p}"]) == sorted(
        [["tender"], ["tenderAmendment"], ["tenderUpdate"], ["award"], ["contract"], ["contractUpdate"]]
    )
    assert by_ocid[f"{prefix}{cancelled.package_id}"] == [["tender"], ["tenderCancellation"]]
    assert by_ocid[f"{prefix}{q}"] == [["tender"]]
    assert len({r["id"] for r in mine}) == len(mine)
    text = json.dumps(mine)
    assert "1" * 64 not in text, "no sealed-bid receipt in open data"
    assert "SPPBJ" not in text, "the internal award letter is not published"

    # One record: all releases and the compiled release.
    record = await service.client.get(f"/public/ocds/records/{prefix}{p}")
    assert record.status_code == 200, record.text
    assert_valid(record.json(), "record-package-schema-1__1__4.json")
    compiled = record.json()["records"][0]["compiledRelease"]
    assert compiled["tag"] == ["compiled"]
    assert compiled["tender"]["numberOfTenderers"] == 2
    assert compiled["tender"]["tenderPeriod"]["endDate"].startswith("2026-03-22")  # the addendum's deadline
    assert compiled["awards"][0]["value"] == {"amount": 850_000_000, "currency": "IDR"}
    assert compiled["contracts"][0]["status"] == "terminated"
    assert {party["id"] for party in compiled["parties"]} >= {opd, "V1", "V2"}
    records = await service.client.get("/public/ocds/records", params={"limit": 2})
    assert_valid(records.json(), "record-package-schema-1__1__4.json")
    assert (await service.client.get(f"/public/ocds/records/{prefix}nope")).status_code == 404

    # Indicators of the OPD: P (tender, contract 850 of HPS 1,000, pagu 1,200) and Q (direct, 140 of 150, 160),
    # X cancelled.
    response = await service.client.get(f"/public/indicators/2026/opd/{opd}")
    assert response.status_code == 200, response.text
    ind = response.json()
    assert ind["packages"] == 3
    assert ind["by_method"]["tender"] == {
        "packages": 2, "pagu": 2_300_000_000, "hps": 2_000_000_000, "awarded": 1, "contract_value": 850_000_000
    }  # fmt: skip
    assert ind["by_method"]["pengadaan_langsung"]["contract_value"] == 140_000_000
    assert ind["efficiency_hps_total"] == 1_150_000_000
    assert ind["efficiency_value_total"] == 990_000_000
    assert ind["efficiency_vs_hps_bp"] == 1391  # 160,000,000 / 1,150,000,000 = 13.913 %
    assert ind["efficiency_vs_pagu_bp"] == 2721  # 370,000,000 / 1,360,000,000 = 27.206 %
    assert (ind["e_contracts_signed"], ind["e_contracts_completed"]) == (1, 1)
    assert ind["e_contract_bp"] == 5000  # one of two awards has an e-contract
    assert ind["e_contract_completion_bp"] == 10_000
    assert (ind["opened_packages"], ind["average_bidders_x100"]) == (1, 200)
    assert ind["average_seconds_to_award"] == (30 + 4) * 86400 // 2
    assert ind["failed_or_cancelled"] == 1
    city = (await service.client.get("/public/indicators/2026")).json()
    assert city["opds"][opd] == {k: v for k, v in ind.items() if k not in ("fiscal_year", "opd_id")}
    assert city["city"]["packages"] >= 3
    assert (await service.client.get(f"/public/indicators/2026/opd/nope-{run}")).status_code == 404


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(1, 3, 3333), (2, 3, 6667), (1, 20_000, 1), (1, 20_001, 0), (-1, 20_000, -1), (0, 5, 0), (5, 0, None)],
)
def test_ratio_rounds_half_away_from_zero(numerator: int, denominator: int, expected: int | None) -> None:
    assert ratio_bp(numerator, denominator) == expected


def test_indicators_are_integer_rupiah() -> None:
    facts = [
        PackageFacts("a", "o", 2026, "tender", 3, 3, None, None, 2, None, None, contract_value=2),
        PackageFacts("b", "o", 2026, "tender", 10**15, 10**15, None, None, 10**15 - 1, 4, None),
    ]
    out = compute(facts)
    assert out.efficiency_hps_total == 10**15 + 3
    assert out.efficiency_value_total == 10**15 + 1
    assert out.efficiency_vs_hps_bp == 0  # 2 / (10^15 + 3): exact integers, no float drift
    assert isinstance(out.efficiency_vs_hps_bp, int)
