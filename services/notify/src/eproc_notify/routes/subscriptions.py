"""Vendor subscriptions to new announcements, by KBLI, OPD and keywords."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import delete, func, select

from eproc_notify.deps import Now, ReadSession, User
from eproc_notify.domain.matching import normalise_keywords
from eproc_notify.models import subscriptions
from eproc_notify.store import new_id
from eproc_shared.auth import Principal, Role, forbidden
from eproc_shared.problems import FieldProblem, ProblemError
from eproc_shared.service_app import DbSession

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])
MAX_PER_USER = 50

Kbli = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
OpdId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=60)]


class SubscriptionIn(BaseModel):
    model_config = {"extra": "forbid"}

    kbli_codes: list[Kbli] = Field(default=[], max_length=50, description="5-digit KBLI codes; any of them matches.")
    opd_ids: list[OpdId] = Field(default=[], max_length=50, description="Agencies (OPD); any of them matches.")
    keywords: list[Keyword] = Field(
        default=[], max_length=20, description="Words or phrases of the package name; any of them matches."
    )


class SubscriptionOut(BaseModel):
    id: str
    kbli_codes: list[str]
    opd_ids: list[str]
    keywords: list[str]
    created_at: datetime


def _vendor_user(principal: Principal) -> str:
    if not principal.has_role(Role.VENDOR) or not principal.vendor_id:
        raise forbidden("Announcement subscriptions are for vendor users.")
    return principal.vendor_id


@router.post("", status_code=201, summary="Subscribe to new announcements")
async def create_subscription(body: SubscriptionIn, user: User, session: DbSession, now: Now) -> SubscriptionOut:
    vendor_id = _vendor_user(user)
    if not (body.kbli_codes or body.opd_ids or body.keywords):
        raise ProblemError(
            422,
            "Invalid request",
            "A subscription needs at least one KBLI code, OPD or keyword.",
            slug="validation",
            errors=[
                FieldProblem(field=name, location="body", message="give at least one criterion", code="missing")
                for name in ("kbli_codes", "opd_ids", "keywords")
            ],
        )
    count = await session.scalar(
        select(func.count()).select_from(subscriptions).where(subscriptions.c.user_id == user.subject)
    )
    if (count or 0) >= MAX_PER_USER:
        raise ProblemError(
            409, "Too many subscriptions", f"At most {MAX_PER_USER} subscriptions per user.", slug="conflict"
        )
    values = {
        "id": new_id("sub"),
        "user_id": user.subject,
        "vendor_id": vendor_id,
        "kbli_codes": sorted(set(body.kbli_codes)),
        "opd_ids": sorted(set(body.opd_ids)),
        "keywords": list(normalise_keywords(body.keywords)),
        "created_at": now,
    }
    await session.execute(subscriptions.insert().values(**values))
    return SubscriptionOut.model_validate(values)


@router.get("", summary="My subscriptions")
async def list_subscriptions(user: User, session: ReadSession) -> dict[str, list[SubscriptionOut]]:
    stmt = select(subscriptions).where(subscriptions.c.user_id == user.subject).order_by(subscriptions.c.created_at)
    rows = (await session.execute(stmt)).mappings()
    return {"items": [SubscriptionOut.model_validate(dict(r)) for r in rows]}


@router.delete("/{subscription_id}", status_code=204, summary="Unsubscribe")
async def delete_subscription(subscription_id: str, user: User, session: DbSession) -> Response:
    result = await session.execute(
        delete(subscriptions).where(subscriptions.c.id == subscription_id, subscriptions.c.user_id == user.subject)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise ProblemError(404, "Not found", f"No subscription {subscription_id} of yours.", slug="not-found")
    return Response(status_code=204)
