"""Vendor eligibility arrives as real vendor events over the real broker; the highest revision wins."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tender_test_support import START, Tender, announced_package, ok, problem, service_app, settings_for, vendor_facts

from eproc_shared.broker import make_producer
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types import vendor as vendor_events
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import TestIssuer, eventually, serve
from eproc_tender.clock import ManualClock


@pytest.fixture
async def tender(issuer: TestIssuer, broker: BrokerSettings, tmp_path: Path) -> AsyncIterator[Tender]:
    """Its own service, with the vendor-facts consumer the shared one leaves out."""
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}", broker, tmp_path / "files")
    app = service_app(settings, ManualClock(START), issuer, consume_vendor_events=True)
    async with serve(app) as base:
        t = Tender(base=base, app=app, clock=app.state.clock, issuer=issuer, settings=settings)
        try:
            yield t
        finally:
            for c in t.clients:
                await c.aclose()


async def test_vendor_events_from_the_broker_decide_who_may_join(tender: Tender) -> None:
    t = tender
    package_id = await announced_package(t)
    vendor_id = f"kafka-{uuid.uuid4().hex[:8]}"
    body = problem(await t.vendor(vendor_id).post(f"/packages/{package_id}/participants"), 422)
    assert "not known" in body["detail"]

    rejected = vendor_facts(
        vendor_id, revision=1, status="rejected", eligible=False, ineligible_reasons=["NIB rejected"]
    )
    verified = vendor_facts(vendor_id, revision=3)
    stale = vendor_facts(vendor_id, revision=2, eligible=False, ineligible_reasons=["stale facts"])
    events = [
        vendor_events.VendorRejected(
            vendor_id=vendor_id,
            rejections=[vendor_events.VendorItemRejection(kind="licence", item_id="nib", reason="blurred scan")],
            rejected_by="verifier-1",
            rejected_at=rejected.as_of,
            facts=rejected,
        ),
        vendor_events.VendorVerified(
            vendor_id=vendor_id,
            items=[vendor_events.VendorItemRef(kind="licence", item_id="nib")],
            verified_by="verifier-1",
            verified_at=verified.as_of,
            facts=verified,
        ),
        vendor_events.VendorQualificationChanged(vendor_id=vendor_id, cause="changed", facts=stale),
    ]
    producer = make_producer(t.settings.broker)
    await producer.start()
    sent: list[str] = []
    try:
        for data in events:
            envelope = Envelope.new(data, source="/eproc/vendor", key=vendor_id)
            sent.append(envelope.id)
            await producer.send_and_wait(
                envelope.topic, envelope.value(), key=envelope.key.encode(), headers=envelope.headers()
            )
    finally:
        await producer.stop()

    async def applied() -> bool:
        # Only these events count: the topic also carries what other tests published on the shared broker.
        rows = await t.sql("SELECT event_id FROM eproc_inbox WHERE consumer = :c", c=t.settings.consumer_group)
        return set(sent) <= {r[0] for r in rows}

    await eventually(applied, timeout_s=60)
    revision = await t.sql("SELECT revision FROM vendor_facts WHERE vendor_id = :v", v=vendor_id)
    assert revision[0][0] == 3  # the late revision 2 did not overwrite revision 3
    joined = ok(await t.vendor(vendor_id).post(f"/packages/{package_id}/participants"), 201)
    assert joined["vendor_name"] == verified.legal_name
