"""The periodic check of time-bound facts: licence and tax-status expiry, blacklist periods ending.

Each expiry and each end is announced once (the item remembers the validity it was announced for).
Reads judge time themselves, so a vendor is never treated as eligible on a day its licence no longer
covers, even before this sweep runs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eproc_shared.events.types.vendor import VendorBlacklistLifted, VendorItemRef, VendorLicenceExpired
from eproc_shared.outbox import Outbox
from eproc_vendor.clock import Clock, jakarta_today
from eproc_vendor.domain import blacklist as bl
from eproc_vendor.models import blacklist_entries, vendor_items, vendors
from eproc_vendor.publishing import contact_email, refresh
from eproc_vendor.store import record

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    day: date
    expired: list[str] = field(default_factory=list)
    lifted: list[str] = field(default_factory=list)


def _as_date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


async def _expire(session: AsyncSession, outbox: Outbox, item: Any, until: date, day: date, now: datetime) -> None:
    v = item["verified_data"]
    is_tax = item["kind"] == "tax_status"
    await session.execute(update(vendor_items).where(vendor_items.c.id == item["id"]).values(expiry_notified_for=until))
    await record(
        session,
        item["vendor_id"],
        now,
        None,
        "expired",
        item_kind=item["kind"],
        item_id=item["id"],
        detail=f"valid until {until}",
    )

    def events(loaded: Any, facts: Any) -> list[Any]:
        return [
            VendorLicenceExpired(
                vendor_id=item["vendor_id"],
                item=VendorItemRef(kind=item["kind"], item_id=item["id"]),
                licence_kind=None if is_tax else v["kind"],
                number=None if is_tax else v["number"],
                valid_until=until,
                effective_on=until + timedelta(days=1),
                kbli_codes=[] if is_tax else list(v.get("kbli_codes") or []),
                facts=facts,
                contact_email=contact_email(loaded),
            )
        ]

    await refresh(
        session,
        outbox,
        item["vendor_id"],
        now,
        "tax_status_expired" if is_tax else "licence_expired",
        make_events=events,
    )


async def sweep(sessions: async_sessionmaker[AsyncSession], outbox: Outbox, clock: Clock) -> SweepReport:
    now = clock()
    day = jakarta_today(now)
    report = SweepReport(day=day)
    async with sessions() as session:
        candidates = list(
            (
                await session.execute(
                    select(vendor_items).where(
                        vendor_items.c.kind.in_(["licence", "tax_status"]),
                        vendor_items.c.deleted.is_(False),
                        vendor_items.c.verified_data.is_not(None),
                    )
                )
            ).mappings()
        )
        await session.rollback()
    for item in candidates:
        until = _as_date((item["verified_data"] or {}).get("valid_until"))
        if until is None or day <= until or item["expiry_notified_for"] == until:
            continue
        # One transaction per item: a failure leaves the others announced and this one for next time.
        async with sessions() as session, session.begin():
            fresh = (
                (await session.execute(select(vendor_items).where(vendor_items.c.id == item["id"]).with_for_update()))
                .mappings()
                .one()
            )
            fresh_until = _as_date((fresh["verified_data"] or {}).get("valid_until"))
            if fresh["deleted"] or fresh_until != until or fresh["expiry_notified_for"] == until:
                continue
            await _expire(session, outbox, fresh, until, day, now)
            report.expired.append(item["id"])
    async with sessions() as session:
        ending = list(
            (
                await session.execute(
                    select(blacklist_entries.c.id).where(
                        blacklist_entries.c.status == bl.CONFIRMED, blacklist_entries.c.ends_on < day
                    )
                )
            ).scalars()
        )
        await session.rollback()
    for entry_id in ending:
        async with sessions() as session, session.begin():
            row = (
                (
                    await session.execute(
                        select(blacklist_entries).where(blacklist_entries.c.id == entry_id).with_for_update()
                    )
                )
                .mappings()
                .one()
            )
            if row["status"] != bl.CONFIRMED:
                continue
            lifted_on = bl.lifted_on(row["ends_on"])
            await session.execute(
                update(blacklist_entries)
                .where(blacklist_entries.c.id == entry_id)
                .values(status=bl.LIFTED, lifted_on=lifted_on)
            )
            await record(
                session, row["vendor_id"], now, None, "blacklist_lifted", detail=f"period ended {row['ends_on']}"
            )
            if await session.scalar(select(vendors.c.id).where(vendors.c.id == row["vendor_id"])) is None:
                report.lifted.append(entry_id)
                continue
            await refresh(
                session,
                outbox,
                row["vendor_id"],
                now,
                "blacklist_lifted",
                make_events=lambda loaded, facts, row=row, lifted_on=lifted_on: [
                    VendorBlacklistLifted(
                        vendor_id=row["vendor_id"], entry_id=row["id"], lifted_on=lifted_on, cause="ended", facts=facts
                    )
                ],
            )
            report.lifted.append(entry_id)
    return report


async def run_periodically(
    sessions: async_sessionmaker[AsyncSession], outbox: Outbox, clock: Clock, interval_s: float
) -> None:
    while True:
        try:
            report = await sweep(sessions, outbox, clock)
            if report.expired or report.lifted:
                log.info(
                    "sweep of %s: %d expired, %d blacklist entries lifted",
                    report.day,
                    len(report.expired),
                    len(report.lifted),
                )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("expiry sweep failed; trying again next round")
        await asyncio.sleep(interval_s)
