"""Vendor subscriptions to new announcements, and who an announcement reaches."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_notify import recipients as who
from eproc_notify.domain.matching import Announcement, Criteria, matches
from eproc_notify.models import subscriptions
from eproc_notify.recipients import Recipient
from eproc_shared.events.types.tender import TenderPackageFacts


async def matching_subscribers(session: AsyncSession, package: TenderPackageFacts, language: str) -> list[Recipient]:
    announcement = Announcement(name=package.name, opd_id=package.opd_id, kbli_codes=frozenset(package.kbli_codes))
    rows = (await session.execute(select(subscriptions))).mappings().all()
    user_ids = sorted(
        {
            row["user_id"]
            for row in rows
            if matches(
                Criteria(frozenset(row["kbli_codes"]), frozenset(row["opd_ids"]), tuple(row["keywords"])),
                announcement,
            )
        }
    )
    found: list[Recipient] = []
    for user_id in user_ids:
        found.extend(await who.user(session, user_id, language))
    return found
