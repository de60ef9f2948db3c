"""Time-driven transitions are applied by the scheduler when due, also for what fell due while the service was down."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from tender_test_support import DEADLINE, START, Tender, announced_package, service_app, settings_for

from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import TestIssuer, eventually, serve
from eproc_tender.clock import ManualClock
from eproc_tender.models import packages


async def test_a_deadline_passed_during_downtime_is_applied_at_start(
    issuer: TestIssuer, database_url: str, broker: BrokerSettings, tmp_path: Path
) -> None:
    settings = settings_for(database_url, broker, tmp_path)
    first = service_app(settings, ManualClock(START), issuer)
    async with serve(first) as base:
        t = Tender(base=base, app=first, clock=first.state.clock, issuer=issuer, settings=settings)
        package_id = await announced_package(t)
        row = await t.sql("SELECT next_due_at FROM packages WHERE id = :p", p=package_id)
        assert row[0][0] is not None
        for c in t.clients:
            await c.aclose()

    # Restarted an hour after the deadline: nobody calls the API, the scheduler closes submission itself.
    second = service_app(settings, ManualClock(DEADLINE + timedelta(hours=1)), issuer)
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
