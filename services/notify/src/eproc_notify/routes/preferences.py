"""The signed-in user's language and e-mail choices."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import select

from eproc_notify.deps import Now, ReadSession, Settings, User
from eproc_notify.models import preferences, users
from eproc_notify.store import upsert
from eproc_shared.service_app import DbSession

router = APIRouter(prefix="/preferences", tags=["preferences"])


class PreferencesIn(BaseModel):
    model_config = {"extra": "forbid"}

    language: Literal["id", "en"] = Field(description="id (Bahasa Indonesia) or en (English).")
    email_enabled: bool = Field(default=True, description="Also send notifications by e-mail.")
    email: EmailStr | None = Field(
        default=None, description="Where to send them; default: the address of the account (from registration)."
    )


class PreferencesOut(BaseModel):
    language: Literal["id", "en"]
    email_enabled: bool
    email: str | None
    account_email: str | None


@router.get("", summary="My notification preferences")
async def get_preferences(user: User, session: ReadSession, settings: Settings) -> PreferencesOut:
    pref = (await session.execute(select(preferences).where(preferences.c.user_id == user.subject))).mappings().first()
    account = await session.scalar(select(users.c.email).where(users.c.user_id == user.subject))
    if pref is None:
        return PreferencesOut(language=settings.default_language, email_enabled=True, email=None, account_email=account)
    return PreferencesOut(
        language=pref["language"], email_enabled=pref["email_enabled"], email=pref["email"], account_email=account
    )


@router.put("", summary="Set my notification preferences")
async def put_preferences(body: PreferencesIn, user: User, session: DbSession, now: Now) -> PreferencesOut:
    await upsert(
        session,
        preferences,
        {
            "user_id": user.subject,
            "language": body.language,
            "email_enabled": body.email_enabled,
            "email": str(body.email) if body.email else None,
            "updated_at": now,
        },
        ["user_id"],
    )
    account = await session.scalar(select(users.c.email).where(users.c.user_id == user.subject))
    return PreferencesOut(
        language=body.language,
        email_enabled=body.email_enabled,
        email=str(body.email) if body.email else None,
        account_email=account,
    )
