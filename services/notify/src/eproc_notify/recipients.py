"""Who hears of an event, resolved from the service's own copies of other services' events.

Users (officials and vendor users) come from identity events, vendor contacts from vendor events,
participants from tender.participant_registered. A recipient's language and e-mail choice are its
own preferences, set through this service.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_notify.models import participants, preferences, users, vendors


@dataclass(frozen=True)
class Recipient:
    """``user_id`` gets an inbox item; ``email`` gets a mail, in ``language``."""

    user_id: str | None
    email: str | None
    language: str


async def _user_recipients(
    session: AsyncSession, rows: list[dict[str, object]], default_language: str
) -> list[Recipient]:
    if not rows:
        return []
    ids = [str(r["user_id"]) for r in rows]
    prefs = {
        p["user_id"]: p
        for p in (await session.execute(select(preferences).where(preferences.c.user_id.in_(ids)))).mappings()
    }
    found = []
    for row in rows:
        pref = prefs.get(row["user_id"])
        language = pref["language"] if pref else default_language
        email = (pref["email"] or row["email"]) if pref else row["email"]
        if pref is not None and not pref["email_enabled"]:
            email = None
        found.append(Recipient(user_id=str(row["user_id"]), email=str(email) if email else None, language=language))
    return found


async def user(session: AsyncSession, user_id: str, default_language: str) -> list[Recipient]:
    """One user; one known only from its own requests (its identity events not seen yet) still gets its inbox."""
    row = (await session.execute(select(users).where(users.c.user_id == user_id))).mappings().first()
    if row is not None and not row["active"]:
        return []
    found = dict(row) if row is not None else {"user_id": user_id, "email": None}
    return await _user_recipients(session, [found], default_language)


async def officials(
    session: AsyncSession, role: str, default_language: str, *, opd_id: str | None = None
) -> list[Recipient]:
    """Active users holding ``role`` (in ``opd_id`` when given)."""
    stmt = select(users).where(users.c.active)
    if opd_id is not None:
        stmt = stmt.where(users.c.opd_id == opd_id)
    rows = [dict(r) for r in (await session.execute(stmt)).mappings() if role in (r["roles"] or [])]
    return await _user_recipients(session, rows, default_language)


async def vendor(
    session: AsyncSession, vendor_id: str, default_language: str, *, contact_email: str | None = None
) -> list[Recipient]:
    """The vendor's users, and its company contact address when no user already has it."""
    rows = [
        dict(r)
        for r in (await session.execute(select(users).where(users.c.vendor_id == vendor_id, users.c.active))).mappings()
    ]
    found = await _user_recipients(session, rows, default_language)
    contact = contact_email or await session.scalar(
        select(vendors.c.contact_email).where(vendors.c.vendor_id == vendor_id)
    )
    known = {r.email.casefold() for r in found if r.email} | {str(r["email"]).casefold() for r in rows if r["email"]}
    if contact and contact.casefold() not in known:
        found.append(Recipient(user_id=None, email=contact, language=default_language))
    return found


async def participant_ids(session: AsyncSession, package_id: str) -> list[str]:
    stmt = select(participants.c.vendor_id).where(participants.c.package_id == package_id)
    return sorted((await session.execute(stmt)).scalars())


async def vendors_of(session: AsyncSession, vendor_ids: list[str], default_language: str) -> list[Recipient]:
    found: list[Recipient] = []
    for vendor_id in vendor_ids:
        found.extend(await vendor(session, vendor_id, default_language))
    return found


async def vendor_name(session: AsyncSession, vendor_id: str) -> str:
    name = await session.scalar(select(vendors.c.legal_name).where(vendors.c.vendor_id == vendor_id))
    return name or vendor_id
