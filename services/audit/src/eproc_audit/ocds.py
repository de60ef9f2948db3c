"""OCDS 1.1 releases built from public log entries, and records compiled from them.

One contracting process per package: ``ocid`` = the configured prefix + the package id. Each public
event of a step becomes one release, built from the entry's hashed bytes (so what is published is what
the log proves), with ``id`` = ``<package id>-<log seq>``:

======================================  =====================================================
event                                   release tag
======================================  =====================================================
tender.announced.v1                     tender
tender.amended.v1                       tenderAmendment
tender.bids_opened.v1                   tenderUpdate (tenderers, number of tenderers)
tender.failed.v1                        tenderUpdate (status unsuccessful)
tender.cancelled.v1                     tenderCancellation
tender.winner_announced.v1              award (pending during the objection period)
contract.public_updated.v1 signed       contract
contract.public_updated.v1 amended      contractAmendment
contract.public_updated.v1 started,     implementation
handed_over
contract.public_updated.v1 completed    contractUpdate (status terminated: the contract closed)
contract.public_updated.v1 terminated,  contractTermination
stopped
======================================  =====================================================

Records are compiled with ``ocdsmerge`` (the Open Contracting Partnership's reference merge) using the
vendored OCDS 1.1.4 release schema, so nothing is fetched at run time. Only public-topic entries are
ever read: internal data (sealed bids, evaluations before announcement) cannot reach a release.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import ocdsmerge

RELEASE_TYPES = {
    "tender.announced.v1",
    "tender.amended.v1",
    "tender.bids_opened.v1",
    "tender.failed.v1",
    "tender.cancelled.v1",
    "tender.winner_announced.v1",
    "contract.public_updated.v1",
}
CURRENCY = "IDR"
METHODS = {
    "tender": "open",
    "seleksi": "selective",
    "tender_cepat": "selective",
    "pengadaan_langsung": "limited",
    "penunjukan_langsung": "direct",
}
CATEGORIES = {
    "barang": "goods",
    "pekerjaan_konstruksi": "works",
    "jasa_konsultansi": "services",
    "jasa_lainnya": "services",
}
AWARD_CRITERIA = {"lowest_price": "priceOnly", "scoring": "ratedCriteria", "quality_cost": "ratedCriteria"}
CONTRACT_TAGS = {
    "signed": "contract",
    "amended": "contractAmendment",
    "started": "implementation",
    "handed_over": "implementation",
    "completed": "contractUpdate",
    "terminated": "contractTermination",
    "stopped": "contractTermination",
}
CONTRACT_STATUS = {
    "draft": "pending",
    "signing": "pending",
    "signed": "active",
    "active": "active",
    "handed_over": "active",
    "completed": "terminated",
    "terminated": "terminated",
    "stopped": "terminated",
}


@cache
def release_schema() -> dict[str, Any]:
    text = resources.files("eproc_audit").joinpath("ocds_schema/release-schema-1__1__4.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@cache
def _merger() -> ocdsmerge.Merger:
    return ocdsmerge.Merger(release_schema())


def _money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": CURRENCY}


def _buyer(opd_id: str) -> tuple[dict[str, str], dict[str, Any]]:
    # The platform knows OPDs by id only; the id doubles as the name until an OPD register exists.
    return {"id": opd_id, "name": opd_id}, {"id": opd_id, "name": opd_id, "roles": ["buyer", "procuringEntity"]}


def _supplier(vendor_id: str, name: str) -> tuple[dict[str, str], dict[str, Any]]:
    return {"id": vendor_id, "name": name}, {"id": vendor_id, "name": name, "roles": ["supplier"]}


def _tenderer(vendor_id: str, name: str) -> dict[str, Any]:
    return {"id": vendor_id, "name": name, "roles": ["tenderer"]}


def _period(schedule: list[dict[str, Any]], stage: str) -> dict[str, str] | None:
    windows = [w for w in schedule if w.get("stage") == stage]
    if not windows:
        return None
    return {"startDate": min(w["starts_at"] for w in windows), "endDate": max(w["ends_at"] for w in windows)}


def build_release(seq: int, document: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    """The release of one log entry (its parsed canonical document), or None if it is not an OCDS step."""
    event = document["event"]
    kind, data = event.get("type"), event.get("data")
    if kind not in RELEASE_TYPES or not isinstance(data, dict):
        return None
    builder = _BUILDERS[kind]
    built = builder(data)
    if built is None:
        return None
    package_id, tags, body = built
    return {
        "ocid": f"{prefix}{package_id}",
        "id": f"{package_id}-{seq}",
        "date": event.get("time") or document["received_at"],
        "tag": tags,
        "initiationType": "tender",
        **body,
    }


Built = tuple[str, list[str], dict[str, Any]] | None


def _announced(d: dict[str, Any]) -> Built:
    pkg = d["package"]
    buyer, party = _buyer(pkg["opd_id"])
    tender: dict[str, Any] = {
        "id": pkg["package_id"],
        "title": pkg["name"],
        "status": "active",
        "value": _money(pkg["hps"]),
        "procurementMethod": METHODS.get(pkg["method"], "open"),
        "procurementMethodDetails": pkg["method"],
        "mainProcurementCategory": CATEGORIES.get(pkg["procurement_type"], "services"),
        "procuringEntity": buyer,
        "items": [
            {"id": str(i + 1), "classification": {"scheme": "KBLI", "id": code}}
            for i, code in enumerate(pkg.get("kbli_codes") or [])
        ],
    }
    if criteria := AWARD_CRITERIA.get(pkg.get("evaluation_system", "")):
        tender["awardCriteria"] = criteria
    if period := _period(d.get("schedule") or [], "submission"):
        tender["tenderPeriod"] = period
    if period := _period(d.get("schedule") or [], "clarification"):
        tender["enquiryPeriod"] = period
    body = {
        "buyer": buyer,
        "parties": [party],
        "planning": {
            "budget": {"amount": _money(pkg["pagu"]), "description": f"Pagu, fiscal year {pkg['fiscal_year']}"}
        },
        "tender": tender,
    }
    return pkg["package_id"], ["tender"], body


def _amended(d: dict[str, Any]) -> Built:
    tender: dict[str, Any] = {
        "id": d["package_id"],
        "amendments": [
            {"id": str(d["addendum_number"]), "date": d["amended_at"], "rationale": d["reason"]},
        ],
    }
    if period := _period(d.get("schedule") or [], "submission"):
        tender["tenderPeriod"] = period
    return d["package_id"], ["tenderAmendment"], {"tender": tender}


def _opened(d: dict[str, Any]) -> Built:
    names = {p["vendor_id"]: p["vendor_name"] for p in d.get("prices") or []}
    bidders = sorted(set(d.get("bidders") or []))
    tenderers = [{"id": v, "name": names.get(v, v)} for v in bidders]
    body = {
        "parties": [_tenderer(v, names.get(v, v)) for v in bidders],
        "tender": {"id": d["package_id"], "numberOfTenderers": len(bidders), "tenderers": tenderers},
    }
    return d["package_id"], ["tenderUpdate"], body


def _failed(d: dict[str, Any]) -> Built:
    tender = {"id": d["package_id"], "status": "unsuccessful", "statusDetails": d.get("reason_code")}
    return d["package_id"], ["tenderUpdate"], {"tender": tender}


def _cancelled(d: dict[str, Any]) -> Built:
    tender = {"id": d["package_id"], "status": "cancelled", "statusDetails": d.get("reason")}
    return d["package_id"], ["tenderCancellation"], {"tender": tender}


def _winner(d: dict[str, Any]) -> Built:
    supplier, party = _supplier(d["winner_vendor_id"], d["winner_name"])
    award = {
        "id": f"{d['package_id']}-award",
        "title": "Winner announcement",
        "status": "pending",
        "statusDetails": f"Objection period until {d['objection_ends_at']}",
        "date": d["announced_at"],
        "value": _money(d["winning_price"]),
        "suppliers": [supplier],
    }
    return d["package_id"], ["award"], {"parties": [party], "awards": [award]}


def _contract(d: dict[str, Any]) -> Built:
    c = d["contract"]
    change = d["change"]
    _, party = _supplier(c["vendor_id"], c["vendor_name"])
    contract: dict[str, Any] = {
        "id": c["contract_id"],
        "awardID": f"{c['package_id']}-award",
        "status": CONTRACT_STATUS.get(c["status"], "active"),
        "value": _money(c["current_value"]),
    }
    if c.get("contract_number"):
        contract["title"] = c["contract_number"]
    if c.get("signed_on"):
        contract["dateSigned"] = f"{c['signed_on']}T00:00:00+07:00"
    if c.get("start_date"):
        period = {"startDate": f"{c['start_date']}T00:00:00+07:00"}
        if c.get("planned_end"):
            period["endDate"] = f"{c['planned_end']}T23:59:59+07:00"
        contract["period"] = period
    if c.get("amendments"):
        contract["amendments"] = [
            {
                "id": str(a["number"]),
                "date": f"{a['amended_on']}T00:00:00+07:00",
                "rationale": a["reason"],
                "description": f"Value change Rp{a['value_delta']}, extension {a['extension_days']} days, "
                f"new value Rp{a['new_value']}",
            }
            for a in c["amendments"]
        ]
    if change in ("started", "handed_over", "completed") and c.get("handed_over_on"):
        contract["implementation"] = {
            "milestones": [
                {
                    "id": "handover",
                    "title": "Handover (BAST)",
                    "type": "delivery",
                    "status": "met",
                    "dateMet": f"{c['handed_over_on']}T00:00:00+07:00",
                }
            ]
        }
    tag = CONTRACT_TAGS.get(change, "contractUpdate")
    return c["package_id"], [tag], {"parties": [party], "contracts": [contract]}


_BUILDERS = {
    "tender.announced.v1": _announced,
    "tender.amended.v1": _amended,
    "tender.bids_opened.v1": _opened,
    "tender.failed.v1": _failed,
    "tender.cancelled.v1": _cancelled,
    "tender.winner_announced.v1": _winner,
    "contract.public_updated.v1": _contract,
}


def compile_record(ocid: str, releases: list[dict[str, Any]]) -> dict[str, Any]:
    """A record: every release of the process, and the compiled release merged from them."""
    return {"ocid": ocid, "releases": releases, "compiledRelease": _merger().create_compiled_release(releases)}


def release_package(releases: list[dict[str, Any]], *, uri: str, publisher: str, published: str) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": "1.1",
        "publishedDate": published,
        "publisher": {"name": publisher},
        "releases": releases,
    }


def record_package(records: list[dict[str, Any]], *, uri: str, publisher: str, published: str) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": "1.1",
        "publishedDate": published,
        "publisher": {"name": publisher},
        "records": records,
    }
