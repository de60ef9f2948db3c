"""End to end through the gateway of the real `make run` stack: every process its own OS process,
the embedded broker between them, nothing in-process."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stdnum import luhn

from eproc_shared.broker import make_producer
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types.tender import TenderAwarded, TenderAwardWinner, TenderPackageFacts
from eproc_shared.settings import BrokerSettings

ROOT = Path(__file__).resolve().parents[1]


def eventually(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"not reached within {timeout_s}s: {last!r}")


# The `stack` fixture (the launcher's whole stack on free ports) lives in tests/conftest.py.
RunningStack = Any


def test_a_vendor_registers_is_verified_and_appears_publicly(stack: RunningStack) -> None:
    client = stack.client
    serial = int(time.time() * 1000) % 1_000_000
    base = f"01{serial:06d}"
    npwp = f"{base}{luhn.calc_check_digit(base)}091000"
    registered = client.post(
        "/auth/register/vendor",
        json={
            "username": f"cv-sinar-{serial}",
            "password": "a-long-password-1",
            "email": f"owner{serial}@sinar.example",
            "company_name": "CV Sinar Abadi",
            "tax_id": npwp,
            "contact_name": "Siti Rahma",
        },
    )
    assert registered.status_code == 201, registered.text
    vendor_id = registered.json()["vendor_id"]
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

    verifier = stack.as_role("verifier")
    queue = client.get("/api/vendor/verification/queue", headers=verifier).json()["items"]
    entry = next(e for e in queue if e["vendor_id"] == vendor_id)
    assert client.post(f"/api/vendor/verification/vendors/{vendor_id}/start", headers=verifier).status_code == 200
    decisions = [{"item_id": item["item_id"], "verdict": "verified"} for item in entry["items"]]
    decided = client.post(
        f"/api/vendor/verification/vendors/{vendor_id}/decisions", json={"decisions": decisions}, headers=verifier
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "verified"

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


def _subject(headers: dict[str, str]) -> str:
    """The user id inside an access token (reading the claims, no verification needed here)."""
    payload = headers["Authorization"].split()[1].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def _verified_dev_vendor(stack: RunningStack) -> tuple[dict[str, str], str]:
    """The dev vendor, with its company data entered and verified, so that it may join tenders."""
    client = stack.client
    owner = stack.as_role("vendor")
    vendor_id = stack.accounts["vendor"]["vendor_id"]
    eventually(lambda: client.get(f"/api/vendor/vendors/{vendor_id}", headers=owner).status_code == 200)
    base = "01999999"
    company = {
        "legal_name": "PT Dev Konstruksi",
        "business_form": "pt",
        "nib": "9120009999999",
        "npwp": f"{base}{luhn.calc_check_digit(base)}091000",
        "address": "Jl. Perintis Kemerdekaan No. 1",
        "city": "Kota Tangerang",
        "province": "Banten",
        "size_class": "kecil",
        "contacts": [{"name": "Dewi", "email": "dewi@devkonstruksi.example"}],
    }
    today = datetime.now(UTC).date()
    for path, body in (
        ("company", company),
        ("kbli", {"codes": ["41011"]}),
        ("tax-status", {"compliant": True, "checked_on": str(today), "valid_until": str(today + timedelta(days=90))}),
    ):
        answer = client.put(f"/api/vendor/vendors/{vendor_id}/{path}", json=body, headers=owner)
        assert answer.status_code == 200, answer.text
    assert client.post(f"/api/vendor/vendors/{vendor_id}/submit", headers=owner).status_code == 200
    verifier = stack.as_role("verifier")
    queue = client.get("/api/vendor/verification/queue", headers=verifier).json()["items"]
    entry = next(e for e in queue if e["vendor_id"] == vendor_id)
    assert client.post(f"/api/vendor/verification/vendors/{vendor_id}/start", headers=verifier).status_code == 200
    decisions = [{"item_id": item["item_id"], "verdict": "verified"} for item in entry["items"]]
    decided = client.post(
        f"/api/vendor/verification/vendors/{vendor_id}/decisions", json={"decisions": decisions}, headers=verifier
    )
    assert decided.status_code == 200, decided.text
    return owner, vendor_id


def test_a_tender_runs_from_announcement_to_opening_across_services(stack: RunningStack) -> None:
    """Gateway, vendor and tender services and the broker together, on the real clock: the vendor's
    verification reaches the tender service as events, and sealed bids open only after the deadline."""
    client = stack.client
    owner, vendor_id = _verified_dev_vendor(stack)
    ppk, pokja = stack.as_role("ppk"), stack.as_role("pokja")
    opd = stack.accounts["ppk"]["opd_id"]
    package = client.post(
        "/api/tender/packages",
        headers=ppk,
        json={
            "name": "Rehabilitasi Saluran Drainase Cikokol",
            "opd_id": opd,
            "satker": "Dinas PUPR",
            "fiscal_year": datetime.now(UTC).year,
            "procurement_type": "pekerjaan_konstruksi",
            "method": "tender",
            "contract_type": "unit_price",
            "pagu": 900_000_000,
            "hps": 800_000_000,
            "hps_items": [{"description": "Saluran beton", "unit": "m", "quantity": 400, "unit_price": 2_000_000}],
            "kbli_codes": ["41011"],
            "location": "Kota Tangerang",
        },
    )
    assert package.status_code == 201, package.text
    package_id = package.json()["id"]
    assigned = client.post(
        f"/api/tender/packages/{package_id}/assignment", json={"pokja_id": _subject(pokja)}, headers=ppk
    )
    assert assigned.status_code == 200, assigned.text

    now = datetime.now(UTC)
    deadline = now + timedelta(seconds=12)

    def window(start: datetime, end: datetime) -> dict[str, str]:
        return {"starts_at": start.isoformat(), "ends_at": end.isoformat()}

    stages = {
        "announcement": window(now - timedelta(seconds=1), now + timedelta(seconds=10)),
        "registration": window(now - timedelta(seconds=1), deadline),
        "clarification": window(now - timedelta(seconds=1), now + timedelta(seconds=10)),
        "submission": window(now - timedelta(seconds=1), deadline),
        "opening": window(deadline, deadline + timedelta(days=1)),
        "evaluation": window(deadline + timedelta(days=1), deadline + timedelta(days=3)),
        "winner_announcement": window(deadline + timedelta(days=3), deadline + timedelta(days=4)),
    }
    scheduled = client.put(f"/api/tender/packages/{package_id}/schedule", json={"stages": stages}, headers=pokja)
    assert scheduled.status_code == 200, scheduled.text
    assert client.post(f"/api/tender/packages/{package_id}/announcement", headers=pokja).status_code == 200

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
    ppk, owner = stack.as_role("ppk"), stack.as_role("vendor")
    vendor_id = stack.accounts["vendor"]["vendor_id"]
    package_id = f"pkg-e2e-{int(time.time() * 1000)}"
    awarded = TenderAwarded(
        package=TenderPackageFacts(
            package_id=package_id,
            code=package_id.upper(),
            name="Pengadaan Ambulans Puskesmas",
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
            kbli_codes=["29100"],
            location="Kota Tangerang",
        ),
        ppk_id=_subject(ppk),
        pokja_id=None,
        winner=TenderAwardWinner(vendor_id=vendor_id, legal_name="PT Dev Konstruksi", npwp="013121660091000"),
        offered_price=900_000_000,
        awarded_price=900_000_000,
        low_price=False,
        performance_guarantee_base=900_000_000,
        reserve_vendor_ids=[],
        sppbj_number=f"SPPBJ/{package_id}",
        awarded_at=datetime.now(UTC),
    )
    envelope = Envelope.new(awarded, source="/eproc/tender", key=package_id)

    async def publish() -> None:
        producer = make_producer(BrokerSettings(bootstrap_servers=stack.bootstrap, enable_idempotence=False))
        await producer.start()
        try:
            for _ in range(2):  # delivered twice, as a relay retry would
                await producer.send_and_wait(
                    envelope.topic, envelope.value(), key=package_id.encode(), headers=envelope.headers()
                )
        finally:
            await producer.stop()

    asyncio.run(publish())

    def drafted() -> list[dict[str, Any]]:
        answer = client.get("/api/contract/contracts", params={"package_id": package_id}, headers=ppk)
        return answer.json()["items"] if answer.status_code == 200 else []

    items = eventually(drafted)
    assert len(items) == 1, "one contract per award, however often it is delivered"
    contract = items[0]
    assert (contract["vendor_id"], contract["original_value"]) == (vendor_id, 900_000_000)
    mine = client.get(f"/api/contract/contracts/{contract['id']}", headers=owner)
    assert mine.status_code == 200, "the winning vendor sees its contract"
    assert client.get(f"/api/contract/contracts/{contract['id']}", headers=stack.as_role("pokja")).status_code == 403
    public = client.get("/api/contract/public/contracts", params={"package_id": package_id})
    assert public.status_code == 200
    assert public.json()["items"] == [], "a draft is not public until it is signed"
