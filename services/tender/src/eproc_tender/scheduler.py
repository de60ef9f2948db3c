"""Applies time-driven transitions when they fall due, without polling every package.

Each package row carries ``next_due_at`` (indexed), computed from the state machine whenever the package
changes. The scheduler sleeps until the earliest one, settles the packages that are due, and sleeps
again; a commit that changes a due time, or a test clock that moves, wakes it early. After a restart it
starts from the table, so nothing that fell due while the service was down is missed.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any

from sqlalchemy import func, select

from eproc_shared.outbox import Outbox
from eproc_tender.clock import Clock
from eproc_tender.models import packages
from eproc_tender.settings import TenderSettings
from eproc_tender.store import Ctx, lock_package, settle

log = logging.getLogger(__name__)
MAX_SLEEP_S = 60.0


class Scheduler:
    def __init__(self, sessions: Any, outbox: Outbox, settings: TenderSettings, clock: Clock) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.settings = settings
        self.clock = clock
        self._wake = asyncio.Event()
        self.rounds = 0
        clock.listeners.append(self.wake)

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> float:
        """Settle every package that is due; returns how long to sleep until the next one."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            due = (
                (
                    await session.execute(
                        select(packages.c.id)
                        .where(packages.c.next_due_at <= now)
                        .order_by(packages.c.next_due_at)
                        .limit(200)
                    )
                )
                .scalars()
                .all()
            )
        for package_id in due:
            try:
                async with self.sessions() as session, session.begin():
                    ctx = Ctx(session=session, outbox=self.outbox, settings=self.settings, now=now)
                    await settle(ctx, await lock_package(ctx, package_id))
            except Exception:
                log.exception("settling package %s failed; retrying later", package_id)
        self.rounds += 1
        async with self.sessions() as session, session.begin():
            upcoming = (await session.execute(select(func.min(packages.c.next_due_at)))).scalar_one_or_none()
        if upcoming is None:
            return MAX_SLEEP_S
        return min(max((upcoming - self.clock.now()).total_seconds(), 0.0), MAX_SLEEP_S)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler round failed")
                delay = 5.0
            if delay > 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
