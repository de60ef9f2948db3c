"""Data for the portal tests, created through the gateway of the real stack (tests/conftest.py's `stack`)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

RunningStack = Any  # tests/conftest.py
WAIT_S = 30.0  # how long the portal's data may take to travel between the services


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
    npwp = stack.npwp(serial, prefix="03")
    username = f"portal-{uuid.uuid4().hex[:8]}"
    vendor_id = stack.register_vendor(username, name, tax_id=npwp, contact_name="Rina")
    owner = stack.sign_in(username, "a-long-password-1")
    stack.eventually(lambda: client.get(f"/api/vendor/vendors/{vendor_id}", headers=owner).status_code == 200, WAIT_S)
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
    stack.submit_vendor_data(vendor_id, owner, company)
    stack.verify_vendor(vendor_id, queue_limit=500)
    return Vendor(vendor_id, name, owner)


def announced_tender(stack: RunningStack, name: str, deadline_in_s: float, hps: int = 800_000_000) -> Package:
    # Pagu 150 million above the HPS: the package page shows both.
    package_id = stack.tender_package(name, hps=hps, pagu=hps + 150_000_000, item=("Beton", "m3"))
    now = datetime.now(UTC)
    deadline = now + timedelta(seconds=deadline_in_s)
    stages = stack.tender_stages(now - timedelta(seconds=1), deadline)
    stack.announce(package_id, stages)
    return Package(package_id, name, deadline, {"stages": stages})


def join_and_bid(stack: RunningStack, package: Package, vendor: Vendor, price: int) -> None:
    client = stack.client
    stack.join(package.package_id, vendor.headers)
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
    stack.eventually(
        lambda: (
            stack.client.post(f"/api/tender/packages/{package.package_id}/opening", headers=pokja).status_code == 200
        ),
        WAIT_S,
    )


def signed_contract_with_amendment(stack: RunningStack, vendor: Vendor, package_name: str) -> dict[str, Any]:
    """An award (published as the tender service's relay would, like tests/test_through_the_gateway.py does),
    then the contract drafted, guaranteed, signed by both, started and amended, all through the gateway."""
    client = stack.client
    ppk = stack.as_role("ppk")
    package_id = f"pkg-portal-{uuid.uuid4().hex[:10]}"
    awarded = stack.award(
        package_id,
        name=package_name,
        winner_id=vendor.vendor_id,
        winner_name=vendor.name,
        kbli="41011",
    )
    stack.publish([(awarded, package_id)])
    contract_id = stack.eventually(lambda: stack.drafted_contracts(package_id), WAIT_S)[0]["id"]
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
    progress = {"milestone": "M1", "percent": 40, "note": "Unit pertama tiba"}
    assert client.post(f"{base}/progress", json=progress, headers=vendor.headers).status_code == 201
    return {"contract_id": contract_id, "package_id": package_id}
