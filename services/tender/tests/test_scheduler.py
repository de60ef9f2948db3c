"""Time-driven transitions are applied by the scheduler when due, also for what fell due while the service was down."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from tender_test_support import DEADLINE, START, Issuer, Tender, announced_package

from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import eventually, serve
from eproc_tender.clock import ManualClock
from eproc_tender.main import create_app
from eproc_tender.models import packages
from eproc_tender.settings import TenderSettings


async def test_a_deadline_passed_during_downtime_is_applied_at_start(
    issuer: Issuer, database_url: str, broker: BrokerSettings, tmp_path: Path
) -> None:
    settings = TenderSettings(
        database_url=database_url,
        broker=broker,
        storage_dir=str(tmp_path),
        consumer_group=f"tender-test-{uuid.uuid4().hex[:8]}",
        environment="test",
    )
    first = create_app(settings, clock=ManualClock(START))
    async with serve(first) as base:
        t = Tender(base=base, app=first, clock=first.state.clock, issuer=issuer, settings=settings)
        package_id = await announced_package(t)
        row = await t.sql("SELECT next_due_at FROM packages WHERE id = :p", p=package_id)
        assert row[0][0] is not None
        for c in t.clients:
            await c.aclose()

    # Restarted an hour after the deadline: nobody calls the API, the scheduler closes submission itself.
    second = create_app(settings, clock=ManualClock(DEADLINE + timedelta(hours=1)))
    async with serve(second):
        runtime = second.state.runtime

        async def closed() -> bool:
            async with runtime.sessions() as session, session.begin():
                status = (
                    await session.execute(select(packages.c.status).where(packages.c.id == package_id))
                ).scalar_one()
            return status == "closed"

        await eventually(closed, timeout_s=10)
        async with runtime.sessions() as session, session.begin():
            due = (
                await session.execute(select(packages.c.next_due_at).where(packages.c.id == package_id))
            ).scalar_one()
        assert due is None  # nothing more happens by itself until the Pokja opens the bids
