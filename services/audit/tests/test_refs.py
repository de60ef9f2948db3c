"""The rule that finds the package, OPD, vendor, contract and actor of any event (pure)."""

from __future__ import annotations

from typing import Any

from eproc_audit.refs import derive


def doc(type_name: str, data: Any, *, key: str | None = None, subject: str | None = None) -> dict[str, Any]:
    event = {"id": "e1", "source": "/x", "type": type_name, "specversion": "1.0", "time": "2026-03-02T03:00:00Z"}
    if subject:
        event["subject"] = subject
    return {
        "event": {**event, "data": data},
        "key": key,
        "kafka": {"topic": "t", "partition": 0, "offset": 0},
        "received_at": "2026-03-02T03:00:01.000000Z",
    }


def test_payload_fields_win() -> None:
    index = derive(
        doc(
            "contract.signed.v1",
            {"contract_id": "C-1", "package_id": "P-1", "opd_id": "dinkes", "vendor_id": "V-1", "fiscal_year": 2026},
            key="C-OTHER",
        )
    )
    assert (index.contract_id, index.package_id, index.opd_id, index.vendor_id) == ("C-1", "P-1", "dinkes", "V-1")
    assert index.fiscal_year == 2026


def test_qualified_subject_then_the_key_by_the_types_domain() -> None:
    assert derive(doc("anything.happened.v3", {}, subject="package/P-7")).package_id == "P-7"
    assert derive(doc("anything.happened.v3", {}, subject="vendor:V-7")).vendor_id == "V-7"
    assert derive(doc("tender.whatever.v9", {"x": 1}, key="P-8")).package_id == "P-8"
    assert derive(doc("vendor.whatever.v9", {}, key="V-8", subject="V-8")).vendor_id == "V-8"
    assert derive(doc("contract.whatever.v9", {}, key="C-8")).contract_id == "C-8"
    # A key means nothing for a domain without a known aggregate, and a qualified subject of another kind
    # does not become the domain's aggregate.
    unknown = derive(doc("notify.sent.v1", {}, key="N-1", subject="N-1"))
    assert (unknown.package_id, unknown.vendor_id, unknown.contract_id) == (None, None, None)
    assert derive(doc("tender.x.v1", {}, key="P-9", subject="vendor/V-9")).package_id == "P-9"


def test_actor_and_odd_values() -> None:
    assert derive(doc("vendor.verified.v1", {"verified_by": "u-2", "approved_by": "u-1"})).actor == "u-1"
    assert derive(doc("x.y.v1", {"actor_id": "u-3", "opened_by": "u-4"})).actor == "u-3"
    odd = derive(doc("x.y.v1", {"package_id": 7, "fiscal_year": True, "opd_id": "o" * 201}))
    assert (odd.package_id, odd.fiscal_year, odd.opd_id, odd.actor) == (None, None, None, None)
    assert derive(doc("x.y.v1", ["not", "an", "object"])).package_id is None
