"""The signed-in user's in-app inbox: newest first with cursor paging, unread count, mark read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel
from sqlalchemy import func, select, update

from eproc_notify.deps import Now, ReadSession, User
from eproc_notify.models import deliveries
from eproc_shared.pagination import Page, PageParams, decode_cursor, encode_cursor, page_params
from eproc_shared.problems import ProblemError
from eproc_shared.service_app import DbSession

router = APIRouter(prefix="/inbox", tags=["inbox"])
c = deliveries.c


class InboxItem(BaseModel):
    id: int
    event_type: str
    subject: str | None
    body: str | None
    link: str | None
    language: str | None
    created_at: datetime
    read_at: datetime | None


class UnreadCount(BaseModel):
    unread: int


def _item(row: dict[str, object]) -> InboxItem:
    return InboxItem.model_validate({k: row[k] for k in InboxItem.model_fields})


def _mine(user_id: str):  # type: ignore[no-untyped-def]
    return (c.channel == "inbox") & (c.user_id == user_id)


@router.get("", summary="My notifications, newest first")
async def list_inbox(
    user: User,
    session: ReadSession,
    params: Annotated[PageParams, Depends(page_params)],
    unread: Annotated[bool, Query(description="Only the unread ones.")] = False,
) -> Page[InboxItem]:
    stmt = select(deliveries).where(_mine(user.subject))
    if unread:
        stmt = stmt.where(c.read_at.is_(None))
    if params.cursor:
        (before,) = decode_cursor(params.cursor, 1)
        if not isinstance(before, int):
            decode_cursor("!", 1)  # answers the same 400 as any cursor this API did not issue
        stmt = stmt.where(c.id < before)
    rows = [dict(r) for r in (await session.execute(stmt.order_by(c.id.desc()).limit(params.limit + 1))).mappings()]
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return Page[InboxItem](
        items=[_item(r) for r in rows], next_cursor=encode_cursor([rows[-1]["id"]]) if more else None
    )


@router.get("/unread-count", summary="How many of my notifications are unread")
async def unread_count(user: User, session: ReadSession) -> UnreadCount:
    count = await session.scalar(
        select(func.count()).select_from(deliveries).where(_mine(user.subject), c.read_at.is_(None))
    )
    return UnreadCount(unread=int(count or 0))


@router.post("/{item_id}/read", summary="Mark one notification read")
async def mark_read(
    item_id: Annotated[int, Path(ge=1, le=2**63 - 1)], user: User, session: DbSession, now: Now
) -> InboxItem:
    row = (await session.execute(select(deliveries).where(c.id == item_id, _mine(user.subject)))).mappings().first()
    if row is None:
        # Someone else's item answers the same as a missing one.
        raise ProblemError(404, "Not found", f"No notification {item_id} in your inbox.", slug="not-found")
    if row["read_at"] is None:
        await session.execute(update(deliveries).where(c.id == item_id).values(read_at=now))
        row = {**row, "read_at": now}
    return _item(dict(row))


@router.post("/read-all", summary="Mark all my notifications read")
async def mark_all_read(user: User, session: DbSession, now: Now) -> UnreadCount:
    await session.execute(update(deliveries).where(_mine(user.subject), c.read_at.is_(None)).values(read_at=now))
    return UnreadCount(unread=0)
