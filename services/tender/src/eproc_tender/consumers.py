"""The service's own copy of the vendor register: the highest revision of each vendor's eligibility facts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types import vendor as vendor_events
from eproc_shared.service_app import ConsumerSpec
from eproc_tender.models import vendor_facts

FACT_EVENTS = [
    vendor_events.VendorVerified,
    vendor_events.VendorRejected,
    vendor_events.VendorQualificationChanged,
    vendor_events.VendorLicenceExpired,
    vendor_events.VendorBlacklisted,
    vendor_events.VendorBlacklistLifted,
]


async def keep_facts(session: AsyncSession, envelope: Envelope[Any]) -> None:
    facts: vendor_events.VendorEligibilityFacts = envelope.data.facts
    current = (
        await session.execute(select(vendor_facts.c.revision).where(vendor_facts.c.vendor_id == facts.vendor_id))
    ).scalar_one_or_none()
    values = {"revision": facts.revision, "facts": facts.model_dump(mode="json"), "updated_at": facts.as_of}
    if current is None:
        await session.execute(insert(vendor_facts).values(vendor_id=facts.vendor_id, **values))
    elif facts.revision > current:
        await session.execute(update(vendor_facts).where(vendor_facts.c.vendor_id == facts.vendor_id).values(**values))
    # An older revision arriving late is ignored: the copy already holds newer facts.


def vendor_facts_consumer(group: str) -> ConsumerSpec:
    return ConsumerSpec(group, {cls.type_name(): keep_facts for cls in FACT_EVENTS})
