"""Webhook endpoints of outside systems: registration, secret rotation, delivery log and replay.

Who: administrators, and outside systems with their API key. Each sees and changes only its own
endpoints (an administrator sees all); anyone else's answer 404, as if they did not exist.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_notify.consumers import webhook_event_types
from eproc_notify.deps import Now, ReadSession, Secrets, Settings
from eproc_notify.domain.secret_box import SecretUnreadable
from eproc_notify.domain.signing import new_secret
from eproc_notify.endpoint_secrets import current_secret, sealed
from eproc_notify.models import attempts, deliveries, endpoints
from eproc_notify.settings import NotifySettings
from eproc_notify.store import new_id
from eproc_shared.auth import CurrentPrincipal, Principal, forbidden
from eproc_shared.pagination import Page, PageParams, decode_cursor, encode_cursor, page_params
from eproc_shared.problems import FieldProblem, ProblemError
from eproc_shared.service_app import DbSession

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", tags=["webhooks"])
e, d = endpoints.c, deliveries.c


async def webhook_manager(principal: CurrentPrincipal) -> Principal:
    if principal.kind == "api_key" or principal.is_admin:
        return principal
    raise forbidden("Webhooks are registered by administrators and by outside systems with an API key.")


Manager = Annotated[Principal, Depends(webhook_manager)]


class EndpointIn(BaseModel):
    model_config = {"extra": "forbid"}

    url: str = Field(max_length=2000, description="Where events are POSTed (https; http only in development).")
    event_types: list[str] = Field(
        min_length=1, max_length=100, description="Versioned types, e.g. tender.announced.v1."
    )
    description: str | None = Field(default=None, max_length=500)
    contact_email: EmailStr | None = Field(default=None, description="Told when the endpoint is disabled.")


class EndpointPatch(BaseModel):
    model_config = {"extra": "forbid"}

    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    contact_email: EmailStr | None = None
    enabled: bool | None = Field(default=None, description="true enables a disabled endpoint again.")


class EndpointOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str | None
    contact_email: str | None
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    consecutive_failures: int
    created_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="whsec_... : verify signatures with it. Shown now and on rotation only.")


class SecretRotated(BaseModel):
    secret: str
    previous_secret_valid_until: datetime


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    message_id: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_latency_ms: int | None
    last_error: str | None
    replay_of: int | None
    created_at: datetime
    completed_at: datetime | None


class AttemptOut(BaseModel):
    attempted_at: datetime
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None


class DeliveryDetail(DeliveryOut):
    payload: str | None
    attempt_log: list[AttemptOut]


def _out(row: Any, model: type[BaseModel] = EndpointOut) -> Any:
    return model.model_validate({k: row[k] for k in model.model_fields if k in row})


def _check_url(url: str, settings: NotifySettings, field: str = "url") -> str:
    parts = urlsplit(url)
    allowed = ("https", "http") if settings.webhook_allow_http else ("https",)
    problem = None
    if parts.scheme not in allowed:
        problem = f"the URL must start with {' or '.join(s + '://' for s in allowed)}"
    elif not parts.hostname:
        problem = "the URL has no host"
    elif parts.username or parts.password:
        problem = "put no credentials in the URL; verify the signature instead"
    if problem:
        raise ProblemError(
            422,
            "Invalid request",
            f"Check the webhook URL: {problem}.",
            slug="validation",
            errors=[FieldProblem(field=field, location="body", message=problem, code="invalid_url")],
        )
    return url


def _check_types(types: list[str]) -> list[str]:
    known = set(webhook_event_types())
    problems = [
        FieldProblem(
            field=f"event_types.{i}",
            location="body",
            code="unknown_event_type",
            message=f"{name!r} is not a public event type; see GET /webhooks/event-types",
        )
        for i, name in enumerate(types)
        if name not in known
    ]
    if problems:
        raise ProblemError(422, "Invalid request", "Unknown event types.", slug="validation", errors=problems)
    return sorted(set(types))


async def _own(session: AsyncSession, principal: Principal, endpoint_id: str) -> dict[str, Any]:
    row = (await session.execute(select(endpoints).where(e.id == endpoint_id))).mappings().first()
    if row is None or not (principal.is_admin or row["owner"] == principal.subject):
        raise ProblemError(404, "Not found", f"No webhook endpoint {endpoint_id}.", slug="not-found")
    return dict(row)


@router.get("/event-types", summary="Event types an endpoint may ask for (those of public topics)")
async def event_types(principal: Manager) -> dict[str, list[str]]:
    return {"items": webhook_event_types()}


@router.post("", status_code=201, summary="Register a webhook endpoint")
async def create_endpoint(
    body: EndpointIn, principal: Manager, session: DbSession, now: Now, settings: Settings, box: Secrets
) -> EndpointCreated:
    endpoint_id, secret = new_id("ep"), new_secret()
    values = {
        "id": endpoint_id,
        "owner": principal.subject,
        "owner_kind": "api_key" if principal.kind == "api_key" else "user",
        "url": _check_url(body.url, settings),
        "description": body.description,
        "contact_email": str(body.contact_email) if body.contact_email else None,
        "event_types": _check_types(body.event_types),
        **sealed(box, endpoint_id, secret, None, None),
        "enabled": True,
        "disabled_at": None,
        "disabled_reason": None,
        "consecutive_failures": 0,
        "failing_since": None,
        "created_at": now,
        "updated_at": now,
    }
    await session.execute(insert(endpoints).values(**values))
    return _out({**values, "secret": secret}, EndpointCreated)  # type: ignore[no-any-return]


@router.get("", summary="My webhook endpoints (all of them for an administrator)")
async def list_endpoints(principal: Manager, session: ReadSession) -> dict[str, list[EndpointOut]]:
    stmt = select(endpoints).order_by(e.created_at, e.id)
    if not principal.is_admin:
        stmt = stmt.where(e.owner == principal.subject)
    return {"items": [_out(r) for r in (await session.execute(stmt)).mappings()]}


@router.get("/{endpoint_id}", summary="One webhook endpoint")
async def get_endpoint(endpoint_id: str, principal: Manager, session: ReadSession) -> EndpointOut:
    return _out(await _own(session, principal, endpoint_id))  # type: ignore[no-any-return]


@router.patch("/{endpoint_id}", summary="Change an endpoint, or enable it again")
async def patch_endpoint(
    endpoint_id: str,
    body: EndpointPatch,
    principal: Manager,
    session: DbSession,
    now: Now,
    settings: Settings,
    request: Request,
) -> EndpointOut:
    row = await _own(session, principal, endpoint_id)
    changes: dict[str, Any] = {"updated_at": now}
    if body.url is not None:
        changes["url"] = _check_url(body.url, settings)
    if body.event_types is not None:
        changes["event_types"] = _check_types(body.event_types)
    for name in ("description", "contact_email"):
        if name in body.model_fields_set:
            value = getattr(body, name)
            changes[name] = str(value) if value is not None else None
    if body.enabled is True and not row["enabled"]:
        changes |= {
            "enabled": True,
            "disabled_at": None,
            "disabled_reason": None,
            "consecutive_failures": 0,
            "failing_since": None,
        }
        # What waited for the endpoint goes now rather than at its old retry time.
        await session.execute(
            update(deliveries).where(d.endpoint_id == endpoint_id, d.status == "pending").values(next_attempt_at=now)
        )
    elif body.enabled is False and row["enabled"]:
        changes |= {"enabled": False, "disabled_at": now, "disabled_reason": "disabled by its owner"}
    await session.execute(update(endpoints).where(e.id == endpoint_id).values(**changes))
    request.app.state.webhooks.wake()
    return _out({**row, **changes})  # type: ignore[no-any-return]


@router.delete("/{endpoint_id}", status_code=204, summary="Remove an endpoint (its pending deliveries are dropped)")
async def delete_endpoint(endpoint_id: str, principal: Manager, session: DbSession) -> Response:
    await _own(session, principal, endpoint_id)
    await session.execute(delete(attempts).where(attempts.c.endpoint_id == endpoint_id))
    await session.execute(delete(deliveries).where(d.endpoint_id == endpoint_id))
    await session.execute(delete(endpoints).where(e.id == endpoint_id))
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", summary="New signing secret; the old one still signs during the overlap")
async def rotate_secret(
    endpoint_id: str,
    principal: Manager,
    session: DbSession,
    now: Now,
    settings: Settings,
    box: Secrets,
    overlap_s: Annotated[
        int | None, Query(ge=0, le=7 * 86400, description="Seconds the old secret keeps signing.")
    ] = None,
) -> SecretRotated:
    row = await _own(session, principal, endpoint_id)
    until = now + timedelta(seconds=settings.webhook_secret_overlap_s if overlap_s is None else overlap_s)
    try:
        previous: str | None = current_secret(box, row)
    except SecretUnreadable as exc:
        # The way out for a secret that cannot be decrypted: a new one at once, without an overlap.
        log.warning("webhook endpoint %s: %s; rotating without an overlap", endpoint_id, exc)
        previous, until = None, now
    secret = new_secret()
    await session.execute(
        update(endpoints)
        .where(e.id == endpoint_id)
        .values(**sealed(box, endpoint_id, secret, previous, until), updated_at=now)
    )
    return SecretRotated(secret=secret, previous_secret_valid_until=until)


@router.get("/{endpoint_id}/deliveries", summary="Delivery log of an endpoint, newest first")
async def list_deliveries(
    endpoint_id: str,
    principal: Manager,
    session: ReadSession,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
) -> Page[DeliveryOut]:
    await _own(session, principal, endpoint_id)
    stmt = select(deliveries).where(d.endpoint_id == endpoint_id, d.channel == "webhook")
    if status:
        stmt = stmt.where(d.status == status)
    if params.cursor:
        (before,) = decode_cursor(params.cursor, 1)
        if not isinstance(before, int):
            decode_cursor("!", 1)
        stmt = stmt.where(d.id < before)
    rows = list((await session.execute(stmt.order_by(d.id.desc()).limit(params.limit + 1))).mappings())
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return Page[DeliveryOut](
        items=[_out(r, DeliveryOut) for r in rows], next_cursor=encode_cursor([rows[-1]["id"]]) if more else None
    )


async def _delivery(session: AsyncSession, endpoint_id: str, delivery_id: int) -> dict[str, Any]:
    row = (
        (await session.execute(select(deliveries).where(d.id == delivery_id, d.endpoint_id == endpoint_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise ProblemError(404, "Not found", f"No delivery {delivery_id} for this endpoint.", slug="not-found")
    return dict(row)


@router.get("/{endpoint_id}/deliveries/{delivery_id}", summary="One delivery with every attempt")
async def get_delivery(endpoint_id: str, delivery_id: int, principal: Manager, session: ReadSession) -> DeliveryDetail:
    await _own(session, principal, endpoint_id)
    row = await _delivery(session, endpoint_id, delivery_id)
    log = (
        await session.execute(select(attempts).where(attempts.c.delivery_id == delivery_id).order_by(attempts.c.id))
    ).mappings()
    return DeliveryDetail.model_validate(
        {
            **{k: row[k] for k in DeliveryOut.model_fields},
            "payload": row["payload"],
            "attempt_log": [dict(a) for a in log],
        }
    )


@router.post("/{endpoint_id}/deliveries/{delivery_id}/replay", status_code=202, summary="Send a delivery again")
async def replay(
    endpoint_id: str, delivery_id: int, principal: Manager, session: DbSession, now: Now, request: Request
) -> DeliveryOut:
    """A new delivery of the same message (same ``webhook-id``, so the receiver can tell it has seen it)."""
    await _own(session, principal, endpoint_id)
    row = await _delivery(session, endpoint_id, delivery_id)
    values = {
        "dedupe_key": f"replay|{row['id']}|{new_id('r')}",
        "channel": "webhook",
        "endpoint_id": endpoint_id,
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "message_id": row["message_id"],
        "payload": row["payload"],
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "replay_of": row["id"],
        "created_at": now,
    }
    result = await session.execute(insert(deliveries).values(**values).returning(d.id))
    new = result.scalar_one()
    request.app.state.webhooks.wake()
    return _out(
        {
            **values,
            "id": new,
            "last_status_code": None,
            "last_latency_ms": None,
            "last_error": None,
            "completed_at": None,
        },
        DeliveryOut,
    )  # type: ignore[no-any-return]
