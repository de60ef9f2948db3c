"""Public: every public-topic event in log order, resumable with a cursor (for monitors and other cities)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from eproc_audit.log_consumer import public_topics
from eproc_audit.models import log_entries
from eproc_audit.routes.deps import ReadSession, SettingsDep
from eproc_shared.pagination import decode_cursor, encode_cursor
from eproc_shared.problems import FieldProblem, ProblemError

router = APIRouter(prefix="/public", tags=["public"])
L = log_entries.c


class PublicEvent(BaseModel):
    seq: int = Field(description="Position in the audit log (gaps are non-public entries).")
    hash: str = Field(description="The entry's chain hash: check it against a signed checkpoint.")
    topic: str
    type: str
    source: str
    id: str
    time: str | None
    subject: str | None = None
    data: Any


class EventFeed(BaseModel):
    items: list[PublicEvent]
    next_cursor: str = Field(description="Always set: pass it back to get what came after, now or later.")


@router.get("/events", response_model=EventFeed, summary="Public events in log order, from a cursor")
async def public_events(
    session: ReadSession,
    settings: SettingsDep,
    response: Response,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous call; none: from the start.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventFeed:
    """Entries are numbered under the log's head lock and committed in that order, so a cursor (the last
    sequence number seen) resumes without gaps or repeats while new events arrive."""
    after = decode_cursor(cursor, 1)[0] if cursor else 0
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise ProblemError(
            400,
            "Invalid cursor",
            "The cursor is not one this API issued; start again without it.",
            slug="invalid-cursor",
            errors=[FieldProblem(field="cursor", location="query", message="not a log position", code="invalid")],
        )
    rows = (
        await session.execute(
            select(L.seq, L.hash, L.topic, L.canonical)
            .where(L.seq > after, L.topic.in_(sorted(public_topics(settings))))
            .order_by(L.seq)
            .limit(limit)
        )
    ).all()
    # A full page can never change (the log only grows at its end); a short one is the head and will.
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if len(rows) == limit else "no-cache"
    items = []
    for row in rows:
        event = json.loads(row.canonical)["event"]
        items.append(
            PublicEvent(
                seq=row.seq,
                hash=row.hash,
                topic=row.topic,
                type=event["type"],
                source=event["source"],
                id=event["id"],
                time=event.get("time"),
                subject=event.get("subject"),
                data=event["data"] if "data" in event else {"data_base64": event.get("data_base64")},
            )
        )
    return EventFeed(items=items, next_cursor=encode_cursor([rows[-1].seq if rows else after]))
