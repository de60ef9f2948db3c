"""End to end through the gateway of the real `make run` stack: every process its own OS process,
the embedded broker between them, nothing in-process."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

# The `stack` fixture (the launcher's whole stack on free ports) lives in tests/conftest.py.
RunningStack = Any


def test_a_vendor_registers_is_verified_and_appears_publicly(stack: RunningStack) -> None:
    client, eventually = stack.client, stack.eventually
    serial = int(time.time() * 1000) % 1_000_000
    npwp = stack.npwp(serial, prefix="01")
    vendor_id = stack.register_vendor(
        f"cv-sinar-{serial}",
        "CV Sinar Abadi",
        tax_id=npwp,
        email=f"owner{serial}@sinar.example",
        contact_name="Siti Rahma",
    )
    owner = stack.sign_in(f"cv-sinar-{serial}", "a-long-password-1")

    # The gateway's registration event creates the vendor record in the vendor service, over Kafka.
    eventually(lambda: client.get(f"/api/vendor/vendors/{vendor_id}", headers=owner).status_code == 200)

    company = {
        "legal_name": "CV Sinar Abadi",
        "business_form": "cv",
        "nib": "9120001234567",
        "npwp": npwp,
        "address": "Jl. Daan Mogot No. 10",
        "city": "Kota Tangerang",
        "province": "Banten",
        "postal_code": "15111",
        "size_class": "kecil",
        "contacts": [{"name": "Siti Rahma", "position": "Direktur", "email": "siti@sinar.example"}],
    }
    assert client.put(f"/api/vendor/vendors/{vendor_id}/company", json=company, headers=owner).status_code == 200
    kbli = client.put(f"/api/vendor/vendors/{vendor_id}/kbli", json={"codes": ["41011"]}, headers=owner)
    assert kbli.status_code == 200, kbli.text
    # Another vendor's record is not even visible to this owner.
    assert client.get("/api/vendor/vendors/someone-else", headers=owner).status_code == 404
    assert client.post(f"/api/vendor/vendors/{vendor_id}/submit", headers=owner).status_code == 200

    assert stack.verify_vendor(vendor_id)["status"] == "verified"

    # The notification service heard of the verification and told the vendor's user, in its inbox and by mail.
    def notified() -> list[dict[str, Any]]:
        answer = client.get("/api/notify/inbox", headers=owner)
        return answer.json()["items"] if answer.status_code == 200 else []

    assert eventually(notified, timeout_s=30)
    address = f"owner{serial}@sinar.example"
    mails = eventually(
        lambda: client.get("/api/notify/dev/mail", params={"to": address}, headers=owner).json()["items"],
        timeout_s=30,
    )
    assert address in mails[0]["to"]

    profile = client.get(f"/api/vendor/public/vendors/{vendor_id}")  # no token: public
    assert profile.status_code == 200, profile.text
    body = profile.text
    assert "CV Sinar Abadi" in body
    assert "41011" in body
    assert "siti@sinar.example" not in body, "contacts are private"
    # Bad input through the gateway: a precise problem naming the field, nothing changed.
    bad = client.put(f"/api/vendor/vendors/{vendor_id}/kbli", json={"codes": ["4101"]}, headers=owner)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"][0]["field"].startswith("codes")
    assert "41011" in client.get(f"/api/vendor/public/vendors/{vendor_id}").text


def test_requests_without_the_right_role_are_refused_at_the_service_too(stack: RunningStack) -> None:
    client = stack.client
    # Anonymous through the gateway.
    assert client.get("/api/vendor/verification/queue").status_code == 401
    # A PPK is signed in but is not a verifier.
    assert client.get("/api/vendor/verification/queue", headers=stack.as_role("ppk")).status_code == 403


def _verified_dev_vendor(stack: RunningStack) -> tuple[dict[str, str], str]:
    """The dev vendor, with its company data entered and verified, so that it may join tenders."""
    client = stack.client
    owner = stack.as_role("vendor")
    vendor_id = stack.accounts["vendor"]["vendor_id"]
    stack.eventually(lambda: client.get(f"/api/vendor/vendors/{vendor_id}", headers=owner).status_code == 200)
    company = {
        "legal_name": "PT Dev Konstruksi",
        "business_form": "pt",
        "nib": "9120009999999",
        "npwp": stack.npwp(999999, prefix="01"),
        "address": "Jl. Perintis Kemerdekaan No. 1",
        "city": "Kota Tangerang",
        "province": "Banten",
        "size_class": "kecil",
        "contacts": [{"name": "Dewi", "email": "dewi@devkonstruksi.example"}],
    }
    stack.submit_vendor_data(vendor_id, owner, company)
    stack.verify_vendor(vendor_id)
    return owner, vendor_id


def test_a_tender_runs_from_announcement_to_opening_across_services(stack: RunningStack) -> None:
    """Gateway, vendor and tender services and the broker together, on the real clock: the vendor's
    verification reaches the tender service as events, and sealed bids open only after the deadline."""
    client, eventually = stack.client, stack.eventually
    owner, vendor_id = _verified_dev_vendor(stack)
    ppk, pokja = stack.as_role("ppk"), stack.as_role("pokja")
    # HPS 800 million for 400 m of Saluran beton: the bid below stays under it.
    package_id = stack.tender_package("Rehabilitasi Saluran Drainase Cikokol", hps=800_000_000)
    now = datetime.now(UTC)
    deadline = now + timedelta(seconds=12)
    opens, announced_until = now - timedelta(seconds=1), now + timedelta(seconds=10)
    stack.announce(package_id, stack.tender_stages(opens, deadline, announcement_ends=announced_until))

    # The tender service judges eligibility from its own copy of the vendor's events.
    joined = eventually(
        lambda: (
            (r := client.post(f"/api/tender/packages/{package_id}/participants", headers=owner)).status_code == 201
            and r
        )
    )
    assert joined.status_code == 201
    receipt = client.post(
        f"/api/tender/packages/{package_id}/bids",
        headers=owner,
        json={
            "price": 760_000_000,
            "items": [{"description": "Saluran beton", "quantity": 400, "unit_price": 1_900_000}],
            "declaration": True,
        },
    )
    assert receipt.status_code in (200, 201), receipt.text
    assert len(receipt.json()["receipt_sha256"]) == 64

    anonymous = client.get(f"/api/tender/public/packages/{package_id}")  # the public reads the announcement
    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json()["id"] == package_id
    assert package_id in [p["id"] for p in client.get("/api/tender/public/packages").json()["items"]]
    for role in (pokja, ppk, stack.as_role("admin")):  # not even the officials see a sealed price
        seen = client.get(f"/api/tender/packages/{package_id}", headers=role)
        assert seen.status_code == 200, seen.text
        assert "760000000" not in seen.text, "sealed until opening"
        assert seen.json().get("opened_prices") in (None, [])
    early = client.post(f"/api/tender/packages/{package_id}/opening", headers=pokja)
    assert 400 <= early.status_code < 500, early.text

    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 0.5)
    late = client.post(
        f"/api/tender/packages/{package_id}/bids",
        headers=owner,
        json={
            "price": 700_000_000,
            "items": [{"description": "x", "quantity": 1, "unit_price": 700_000_000}],
            "declaration": True,
        },
    )
    assert 400 <= late.status_code < 500, "the deadline is judged by the server clock"
    opened = eventually(
        lambda: (r := client.post(f"/api/tender/packages/{package_id}/opening", headers=pokja)).status_code == 200 and r
    )
    prices = opened.json()["opened_prices"]
    assert prices == [
        {
            "vendor_id": vendor_id,
            "vendor_name": prices[0]["vendor_name"],
            "price": 760_000_000,
            "receipt_verified": True,
        }
    ]
    after = client.get(f"/api/tender/public/packages/{package_id}").json()
    assert after["opened_prices"][0]["price"] == 760_000_000, "opened prices are public, as SPSE publishes them"


def test_an_award_event_becomes_a_contract_its_parties_see_through_the_gateway(stack: RunningStack) -> None:
    """The tender service's award event (published here as its relay would) drafts a contract in the
    contract service, which the PPK of the OPD and the winning vendor then reach through the gateway."""
    client = stack.client
    owner = stack.as_role("vendor")
    vendor_id = stack.accounts["vendor"]["vendor_id"]
    package_id = f"pkg-e2e-{int(time.time() * 1000)}"
    envelope = stack.award(
        package_id,
        name="Pengadaan Ambulans Puskesmas",
        winner_id=vendor_id,
        winner_name="PT Dev Konstruksi",
    )
    stack.publish([(envelope, package_id)] * 2)  # delivered twice, as a relay retry would

    items = stack.eventually(lambda: stack.drafted_contracts(package_id))
    assert len(items) == 1, "one contract per award, however often it is delivered"
    contract = items[0]
    assert (contract["vendor_id"], contract["original_value"]) == (vendor_id, 900_000_000)
    mine = client.get(f"/api/contract/contracts/{contract['id']}", headers=owner)
    assert mine.status_code == 200, "the winning vendor sees its contract"
    assert client.get(f"/api/contract/contracts/{contract['id']}", headers=stack.as_role("pokja")).status_code == 403
    public = client.get("/api/contract/public/contracts", params={"package_id": package_id})
    assert public.status_code == 200
    assert public.json()["items"] == [], "a draft is not public until it is signed"
