"""Data for the portal tests, created through the gateway of the real stack (tests/conftest.py's `stack`)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stdnum import luhn

from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types.tender import TenderAwarded, TenderAwardWinner, TenderPackageFacts

RunningStack = Any  # tests/conftest.py


def eventually(check: Any, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"not reached within {timeout_s}s: {last!r}")


def window(start: datetime, end: datetime) -> dict[str, str]:
    return {"starts_at": start.isoformat(), "ends_at": end.isoformat()}


@dataclass
class Vendor:
    vendor_id: str
    name: str
    headers: dict[str, str]


@dataclass
class Package:
    package_id: str
    name: str
    deadline: datetime
    extra: dict[str, Any] = field(default_factory=dict)


def verified_vendor(stack: RunningStack, name: str) -> Vendor:
    """Registered, company data entered and verified in the vendor service (so it has a public profile and
    the tender service hears it is eligible)."""
    client = stack.client
    serial = uuid.uuid4().int % 1_000_000
    base = f"03{serial:06d}"
    npwp = f"{base}{luhn.calc_check_digit(base)}091000"
    username = f"portal-{uuid.uuid4().hex[:8]}"
    registered = client.post(
        "/auth/register/vendor",
        json={
            "username": username,
            "password": "a-long-password-1",
            "email": f"{username}@vendor.example",
            "company_name": name,
            "tax_id": npwp,
            "contact_name": "Rina",
        },
    )
    assert registered.status_code == 201, registered.text
    vendor_id = registered.json()["vendor_id"]
    owner = stack.sign_in(username, "a-long-password-1")
    eventually(lambda: client.get(f"/api/vendor/vendors/{vendor_id}", headers=owner).status_code == 200)
    today = datetime.now(UTC).date()
    company = {
        "legal_name": name,
        "business_form": "cv",
        "nib": f"91{serial:011d}",
        "npwp": npwp,
        "address": "Jl. Daan Mogot No. 2",
        "city": "Kota Tangerang",
        "province": "Banten",
        "size_class": "kecil",
        "contacts": [{"name": "Rina", "email": f"{username}@vendor.example"}],
    }
    for path, body in (
        ("company", company),
        ("kbli", {"codes": ["41011"]}),
        ("tax-status", {"compliant": True, "checked_on": str(today), "valid_until": str(today + timedelta(days=90))}),
    ):
        answer = client.put(f"/api/vendor/vendors/{vendor_id}/{path}", json=body, headers=owner)
        assert answer.status_code == 200, answer.text
    assert client.post(f"/api/vendor/vendors/{vendor_id}/submit", headers=owner).status_code == 200
    verifier = stack.as_role("verifier")
    queue = client.get("/api/vendor/verification/queue", headers=verifier, params={"limit": 500}).json()["items"]
    entry = next(e for e in queue if e["vendor_id"] == vendor_id)
    assert client.post(f"/api/vendor/verification/vendors/{vendor_id}/start", headers=verifier).status_code == 200
    decisions = [{"item_id": item["item_id"], "verdict": "verified"} for item in entry["items"]]
    decided = client.post(
        f"/api/vendor/verification/vendors/{vendor_id}/decisions", json={"decisions": decisions}, headers=verifier
    )
    assert decided.status_code == 200, decided.text
    return Vendor(vendor_id, name, owner)


def announced_tender(stack: RunningStack, name: str, deadline_in_s: float, hps: int = 800_000_000) -> Package:
    client = stack.client
    ppk, pokja = stack.as_role("ppk"), stack.as_role("pokja")
    created = client.post(
        "/api/tender/packages",
        headers=ppk,
        json={
            "name": name,
            "opd_id": stack.accounts["ppk"]["opd_id"],
            "satker": "Dinas PUPR",
            "fiscal_year": datetime.now(UTC).year,
            "procurement_type": "pekerjaan_konstruksi",
            "method": "tender",
            "contract_type": "unit_price",
            "pagu": hps + 150_000_000,
            "hps": hps,
            "hps_items": [{"description": "Beton", "unit": "m3", "quantity": 400, "unit_price": hps // 400}],
            "kbli_codes": ["41011"],
            "location": "Kota Tangerang",
        },
    )
    assert created.status_code == 201, created.text
    package_id = created.json()["id"]
    assigned = client.post(
        f"/api/tender/packages/{package_id}/assignment", json={"pokja_id": stack.subject("pokja")}, headers=ppk
    )
    assert assigned.status_code == 200, assigned.text
    now = datetime.now(UTC)
    deadline = now + timedelta(seconds=deadline_in_s)
    early = now - timedelta(seconds=1)
    stages = {
        "announcement": window(early, deadline),
        "registration": window(early, deadline),
        "clarification": window(early, deadline),
        "submission": window(early, deadline),
        "opening": window(deadline, deadline + timedelta(days=1)),
        "evaluation": window(deadline + timedelta(days=1), deadline + timedelta(days=3)),
        "winner_announcement": window(deadline + timedelta(days=3), deadline + timedelta(days=4)),
    }
    scheduled = client.put(f"/api/tender/packages/{package_id}/schedule", json={"stages": stages}, headers=pokja)
    assert scheduled.status_code == 200, scheduled.text
    announced = client.post(f"/api/tender/packages/{package_id}/announcement", headers=pokja)
    assert announced.status_code == 200, announced.text
    return Package(package_id, name, deadline, {"stages": stages})


def join_and_bid(stack: RunningStack, package: Package, vendor: Vendor, price: int) -> None:
    client = stack.client
    eventually(
        lambda: (
            client.post(f"/api/tender/packages/{package.package_id}/participants", headers=vendor.headers).status_code
            in (200, 201)
        )
    )
    bid = client.post(
        f"/api/tender/packages/{package.package_id}/bids",
        headers=vendor.headers,
        json={
            "price": price,
            "items": [{"description": "Beton", "quantity": 1, "unit_price": price}],
            "declaration": True,
        },
    )
    assert bid.status_code in (200, 201), bid.text


def open_after_deadline(stack: RunningStack, package: Package) -> None:
    time.sleep(max(0.0, (package.deadline - datetime.now(UTC)).total_seconds()) + 0.3)
    pokja = stack.as_role("pokja")
    eventually(
        lambda: (
            stack.client.post(f"/api/tender/packages/{package.package_id}/opening", headers=pokja).status_code == 200
        )
    )


def signed_contract_with_amendment(stack: RunningStack, vendor: Vendor, package_name: str) -> dict[str, Any]:
    """An award (published as the tender service's relay would, like tests/test_through_the_gateway.py does),
    then the contract drafted, guaranteed, signed by both, started and amended, all through the gateway."""
    client = stack.client
    ppk = stack.as_role("ppk")
    package_id = f"pkg-portal-{uuid.uuid4().hex[:10]}"
    awarded = TenderAwarded(
        package=TenderPackageFacts(
            package_id=package_id,
            code=package_id.upper(),
            name=package_name,
            opd_id=stack.accounts["ppk"]["opd_id"],
            satker="Dinas Kesehatan",
            fiscal_year=datetime.now(UTC).year,
            procurement_type="barang",
            method="tender",
            qualification="pasca",
            envelope_system="one_file",
            evaluation_system="lowest_price",
            contract_type="Lumsum",
            pagu=1_000_000_000,
            hps=950_000_000,
            kbli_codes=["41011"],
            location="Kota Tangerang",
        ),
        ppk_id=stack.subject("ppk"),
        pokja_id=None,
        winner=TenderAwardWinner(vendor_id=vendor.vendor_id, legal_name=vendor.name, npwp="013121660091000"),
        offered_price=900_000_000,
        awarded_price=900_000_000,
        low_price=False,
        performance_guarantee_base=900_000_000,
        reserve_vendor_ids=[],
        sppbj_number=f"SPPBJ/{package_id}",
        awarded_at=datetime.now(UTC),
    )
    stack.publish([(Envelope.new(awarded, source="/eproc/tender", key=package_id), package_id)])

    def drafted() -> list[dict[str, Any]]:
        answer = client.get("/api/contract/contracts", params={"package_id": package_id}, headers=ppk)
        return answer.json()["items"] if answer.status_code == 200 else []

    contract_id = eventually(drafted)[0]["id"]
    terms = {
        "contract_number": f"HK.02/{package_id[-6:]}/DINKES",
        "contract_type": "lumsum",
        "duration_days": 90,
        "scope": "Pengadaan dan pengiriman ambulans.",
        "milestones": [{"code": "M1", "name": "Serah terima"}],
        "payment_plan": [{"termin": 1, "description": "Termin I", "share_bps": 10000, "milestone": "M1"}],
        "retention_bps": 0,
        "advance_payment_amount": 0,
    }
    base = f"/api/contract/contracts/{contract_id}"
    assert client.put(f"{base}/draft", json=terms, headers=ppk).status_code == 200
    required = client.get(base, headers=ppk).json()["performance_guarantee_amount"]
    if required:
        guarantee = {
            "kind": "performance",
            "issuer": "Bank BJB",
            "number": "JP-1",
            "amount": required,
            "valid_until": str(datetime.now(UTC).date() + timedelta(days=200)),
        }
        answer = client.post(f"{base}/guarantees", json=guarantee, headers=vendor.headers)
        assert answer.status_code == 201, answer.text
    assert client.post(f"{base}/sign", headers=vendor.headers).status_code == 200
    assert client.post(f"{base}/sign", headers=ppk).status_code == 200
    start = str(datetime.now(UTC).date() + timedelta(days=1))
    started = client.post(f"{base}/spmk", json={"spmk_number": "SPMK/1", "start_date": start}, headers=ppk)
    assert started.status_code == 200, started.text
    amendment = {"reason": "Tambahan peralatan medis", "scope_change": "Peralatan", "value_delta": 45_000_000,
                 "extension_days": 10}  # fmt: skip
    assert client.post(f"{base}/amendments", json=amendment, headers=ppk).status_code == 201
    assert client.post(f"{base}/amendments/1/sign", headers=vendor.headers).status_code == 200
    return {"contract_id": contract_id, "package_id": package_id}
