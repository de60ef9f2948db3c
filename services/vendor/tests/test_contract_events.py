"""Events from other services arrive over the real broker: vendor users, contract outcomes and ratings.

The producer publishes CloudEvents built with the shared envelope, as the gateway and the contract
service do. Duplicates and out-of-order arrival are part of the stream.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from test_registration import register_full, verify_all
from vendor_test_support import Service, company, npwp

from eproc_shared.broker import ensure_topics, make_consumer, make_producer
from eproc_shared.db import create_engine
from eproc_shared.events.catalogue import CATALOGUE, Event
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types.contract import (
    ContractCompleted,
    ContractRatingScore,
    ContractTerminated,
    ContractVendorRated,
)
from eproc_shared.events.types.identity import VendorUserRegistered
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import eventually
from eproc_vendor.models import messaging

T0 = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)


class Publisher:
    def __init__(self, broker: BrokerSettings) -> None:
        self.broker = broker
        self.producer = make_producer(broker)

    async def __aenter__(self) -> Publisher:
        await ensure_topics(
            self.broker, [CATALOGUE.topics["eproc.contract.internal"], CATALOGUE.topics["eproc.identity.internal"]]
        )
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def send(self, envelope: Envelope[Any]) -> None:
        await self.producer.send_and_wait(
            envelope.topic, value=envelope.value(), key=envelope.key.encode(), headers=envelope.headers()
        )

    def envelope(self, data: Event, key: str, minutes: int, source: str = "/eproc/contract") -> Envelope[Any]:
        return Envelope.new(data, source=source, key=key, time=T0 + timedelta(minutes=minutes))


async def consumed(service: Service, event_id: str) -> bool:
    engine = create_engine(service.database_url)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(select(messaging.inbox.c.id).where(messaging.inbox.c.event_id == event_id))
    finally:
        await engine.dispose()
    return found is not None


def contract_fields(vendor_id: str, contract_id: str) -> dict[str, Any]:
    return {
        "contract_id": contract_id,
        "package_id": f"pkg-{contract_id}",
        "opd_id": "dpupr",
        "vendor_id": vendor_id,
        "ppk_id": "ppk-7",
        "signed_on": date(2025, 3, 1),
        "original_value": 1_800_000_000,
        "final_value": 1_900_000_000,
    }


def rating(vendor_id: str, contract_id: str, rating_id: str, quality: int) -> ContractVendorRated:
    return ContractVendorRated(
        rating_id=rating_id,
        contract_id=contract_id,
        package_id=f"pkg-{contract_id}",
        opd_id="dpupr",
        vendor_id=vendor_id,
        ppk_id="ppk-7",
        rated_on=date(2025, 12, 20),
        contract_value=1_900_000_000,
        scores=[
            ContractRatingScore(criterion="quality", score=quality, scale_max=4),
            ContractRatingScore(criterion="cost", score=3, scale_max=4),
            ContractRatingScore(criterion="time", score=4, scale_max=4),
            ContractRatingScore(criterion="service", score=3, scale_max=4),
        ],
    )


async def test_contract_events_build_the_track_record_and_a_termination_proposes_a_blacklist(
    service: Service, broker: BrokerSettings
) -> None:
    c = service.client
    vendor_id = f"v-{uuid.uuid4().hex[:8]}"
    late_vendor = f"v-{uuid.uuid4().hex[:8]}"
    await register_full(service, vendor_id, 51)
    await verify_all(service, vendor_id)
    done, failed = f"c-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}"

    async with Publisher(broker) as pub:
        # The vendor user registered at the gateway: the record exists here with the company name.
        registered = pub.envelope(
            VendorUserRegistered(
                user_id="u-late",
                vendor_id=late_vendor,
                company_name="PT Datang Belakangan",
                tax_id=npwp(51),
                username="datang",
                email="admin@datang.co.id",
            ),
            late_vendor,
            0,
            source="/eproc/gateway",
        )
        # The rating arrives before the completion it belongs to, and is delivered twice.
        first_rating = pub.envelope(rating(vendor_id, done, f"r-{done}", quality=2), done, 10)
        completed = pub.envelope(
            ContractCompleted(**contract_fields(vendor_id, done), completed_on=date(2025, 12, 15), kbli_code="41011"),
            done,
            5,
        )
        # A corrected rating (same rating id, later) replaces the first; an older copy arriving after it is ignored.
        corrected = pub.envelope(rating(vendor_id, done, f"r-{done}", quality=4), done, 20)
        stale = pub.envelope(rating(vendor_id, done, f"r-{done}", quality=1), done, 15)
        terminated = pub.envelope(
            ContractTerminated(
                **contract_fields(vendor_id, failed),
                terminated_on=date(2026, 1, 2),
                paid_value=400_000_000,
                fault_party="vendor",
                reason="Work stopped for 60 days without cause",
                legal_basis="Perpres 16/2018 ps. 56",
                blacklist_recommended=True,
            ),
            failed,
            30,
        )
        for envelope in (registered, first_rating, first_rating, completed, corrected, stale, terminated, terminated):
            await pub.send(envelope)

        async def all_consumed() -> bool:
            # Different keys and topics: no order between them, so wait for each.
            sent = (registered, first_rating, completed, corrected, stale, terminated)
            return all([await consumed(service, e.id) for e in sent])

        await eventually(all_consumed, timeout_s=40)

    record = (await c.get(f"/vendors/{late_vendor}", headers=service.admin)).json()
    assert record["legal_name"] == "PT Datang Belakangan"
    assert record["user_id"] == "u-late"
    assert record["npwp"] is None  # already registered by another vendor: the new one must enter its own
    assert [t for t, _ in await service.outbox(late_vendor)] == []
    r = await c.put(
        f"/vendors/{late_vendor}/company",
        json=company(legal_name="PT Datang Belakangan", npwp=npwp(52)),
        headers=service.vendor(late_vendor),
    )
    assert r.status_code == 200, r.text
    announced = [p for t, p in await service.outbox(late_vendor) if t == "vendor.registered.v1"]
    assert len(announced) == 1
    assert announced[0]["npwp"] == npwp(52)
    assert announced[0]["business_form"] == "pt"

    track = (await c.get(f"/vendors/{vendor_id}/track-record", headers=service.pokja)).json()
    assert track["contracts_completed"] == 1
    assert track["contracts_terminated"] == 1
    assert len(track["ratings"]) == 1
    assert track["ratings"][0]["scores"] == {"quality": 4, "cost": 3, "time": 4, "service": 3}
    assert track["ratings"][0]["score"] == 88  # 14 of 16 points
    assert track["average_score"] == 88
    # The completed contract counts as experience in its field.
    q = await c.get(
        f"/vendors/{vendor_id}/qualification",
        params={"kbli": "41011", "min_experience_value": 1_900_000_000, "experience_kbli": "41011"},
        headers=service.pokja,
    )
    assert q.json()["passed"] is True
    profile = (await c.get(f"/public/vendors/{vendor_id}")).json()
    assert profile["track_record"] == {
        "contracts_completed": 1,
        "contracts_terminated": 1,
        "contracts_rated": 1,
        "average_score": 88,
    }

    # The termination for the vendor's fault proposed one blacklist entry (despite the duplicate); not yet in force.
    proposals = [
        p for p in (await c.get("/blacklist/proposals", headers=service.admin)).json() if p["vendor_id"] == vendor_id
    ]
    assert len(proposals) == 1
    proposal = proposals[0]
    assert proposal["contract_id"] == failed
    assert proposal["status"] == "proposed"
    assert proposal["starts_on"] == "2026-01-02"
    assert proposal["ends_on"] == "2027-01-01"
    assert "Work stopped" in proposal["reason"]
    assert (await c.get(f"/public/vendors/{vendor_id}")).json()["blacklisted"] is False
    assert (await c.get("/blacklist/proposals", headers=service.verifier)).status_code == 403

    r = await c.post(
        f"/blacklist/proposals/{proposal['entry_id']}/confirm",
        json={"legal_basis": "Perpres 16/2018 ps. 78 ayat (3) huruf f", "note": "Checked with the PPK"},
        headers=service.admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed"
    assert r.json()["in_force"] is True
    assert (await c.get(f"/public/vendors/{vendor_id}")).json()["blacklisted"] is True
    again = await c.post(
        f"/blacklist/proposals/{proposal['entry_id']}/confirm", json={"legal_basis": "x"}, headers=service.admin
    )
    assert again.status_code == 409

    # The service's own events reach the broker through its outbox relay.
    consumer = make_consumer(broker, f"probe-{uuid.uuid4().hex[:8]}", ["eproc.vendor.internal"])
    await consumer.start()
    try:
        seen: list[str] = []

        async def blacklisted_published() -> bool:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for rec in records:
                    if rec.key == vendor_id.encode():
                        seen.append(dict(rec.headers)["ce_type"].decode())
            return "vendor.blacklisted.v1" in seen

        await eventually(blacklisted_published, timeout_s=30)
    finally:
        await consumer.stop()
    assert seen.count("vendor.rated.v1") == 2  # the first rating and its correction; not the duplicate or stale copy
    assert "vendor.blacklist_proposed.v1" in seen
