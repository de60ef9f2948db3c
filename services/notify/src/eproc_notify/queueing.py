"""Putting deliveries in the queue: one row per event, recipient and channel (a unique key), in the
same transaction as the consumer's inbox row, so a redelivered event or a restart never repeats one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_notify.models import deliveries, endpoints
from eproc_notify.recipients import Recipient
from eproc_notify.rendering import Message, Renderer
from eproc_notify.store import insert_once
from eproc_shared.events.envelope import Envelope


def dedupe_key(source: str, event_id: str, recipient: str, channel: str) -> str:
    return f"{source}|{event_id}|{recipient}|{channel}"


class Queue:
    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    async def notify(
        self,
        session: AsyncSession,
        *,
        source: str,
        event_id: str,
        event_type: str,
        kind: str,
        recipients: Iterable[Recipient],
        context: dict[str, Any],
        now: datetime,
        link: str | None = None,
    ) -> int:
        """Inbox items and mails for ``recipients``; answers how many rows were new."""
        rendered: dict[str, Message] = {}
        created = 0
        for recipient in recipients:
            if recipient.language not in rendered:
                rendered[recipient.language] = self.renderer.render(kind, recipient.language, context, link)
            message = rendered[recipient.language]
            common = {
                "event_id": event_id,
                "event_type": event_type,
                "message_id": event_id,
                "language": message.language,
                "subject": message.subject,
                "link": link,
                "attempts": 0,
                "created_at": now,
            }
            if recipient.user_id:
                created += await insert_once(
                    session,
                    deliveries,
                    {
                        **common,
                        "dedupe_key": dedupe_key(source, event_id, f"user:{recipient.user_id}", "inbox"),
                        "channel": "inbox",
                        "user_id": recipient.user_id,
                        "body": message.body,
                        "status": "delivered",
                        "completed_at": now,
                    },
                    ["dedupe_key"],
                )
            if recipient.email:
                created += await insert_once(
                    session,
                    deliveries,
                    {
                        **common,
                        "dedupe_key": dedupe_key(source, event_id, f"email:{recipient.email.casefold()}", "email"),
                        "channel": "email",
                        "user_id": recipient.user_id,
                        "address": recipient.email,
                        "body": message.text(),
                        "payload": message.html(),
                        "status": "pending",
                        "next_attempt_at": now,
                    },
                    ["dedupe_key"],
                )
        return created

    async def fan_out(self, session: AsyncSession, envelope: Envelope[Any], now: datetime) -> int:
        """A webhook delivery of this event to every enabled endpoint that asked for its type."""
        rows = (await session.execute(select(endpoints.c.id, endpoints.c.event_types).where(endpoints.c.enabled))).all()
        wanted = [row.id for row in rows if envelope.type in (row.event_types or [])]
        if not wanted:
            return 0
        body = json.dumps(envelope.to_json(), separators=(",", ":"), ensure_ascii=False)
        created = 0
        for endpoint_id in wanted:
            created += await insert_once(
                session,
                deliveries,
                {
                    "dedupe_key": dedupe_key(envelope.source, envelope.id, f"endpoint:{endpoint_id}", "webhook"),
                    "channel": "webhook",
                    "endpoint_id": endpoint_id,
                    "event_id": envelope.id,
                    "event_type": envelope.type,
                    "message_id": envelope.id,
                    "payload": body,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                },
                ["dedupe_key"],
            )
        return created
