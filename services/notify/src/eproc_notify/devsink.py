"""Development only: an SMTP sink inside the notify process, so a newcomer running ``make run`` can read
the mails the platform sends (``GET /dev/mail`` as JSON, ``GET /dev/mail/page`` as a page).

It is aiosmtpd's SMTP server on the service's own event loop, keeping the newest mails in memory.
The settings refuse it in production.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import escape

from eproc_shared.problems import ProblemError

# aiosmtpd logs every SMTP command at INFO; only its warnings are worth a log line.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass(frozen=True)
class ReceivedMail:
    number: int
    received_at: str
    mail_from: str
    to: list[str]
    subject: str
    text: str
    html: str | None


def parse(number: int, mail_from: str, to: list[str], raw: bytes) -> ReceivedMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text_part = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    html_part = message.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    return ReceivedMail(
        number=number,
        received_at=datetime.now(UTC).isoformat(),
        mail_from=mail_from,
        to=to,
        subject=str(message.get("Subject", "")),
        text=text_part.get_content() if text_part is not None else "",
        html=html_part.get_content() if html_part is not None else None,
    )


class MailSink:
    """An aiosmtpd handler that keeps the newest ``keep`` mails."""

    def __init__(self, keep: int = 500) -> None:
        self.mails: deque[ReceivedMail] = deque(maxlen=keep)
        self._count = 0
        self._server: asyncio.AbstractServer | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._count += 1
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        self.mails.append(parse(self._count, envelope.mail_from or "", list(envelope.rcpt_tos), raw))
        return "250 Message accepted for delivery"

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self, hostname="notify-dev-sink"), host, port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


def get_sink(request: Request) -> MailSink:
    sink: MailSink | None = getattr(request.app.state, "dev_sink", None)
    if sink is None:
        raise ProblemError(
            404, "Not found", "The development mail sink is off (NOTIFY_DEV_SMTP_SINK).", slug="not-found"
        )
    return sink


router = APIRouter(prefix="/dev/mail", tags=["development"])


@router.get("", summary="Mails the development SMTP sink received, newest first (development only)")
async def list_mails(request: Request, to: str | None = None) -> dict[str, Any]:
    mails = [
        asdict(m)
        for m in reversed(get_sink(request).mails)
        if to is None or to.casefold() in (t.casefold() for t in m.to)
    ]
    return {"items": mails}


@router.get("/page", summary="The same, as a page to read in a browser", response_class=HTMLResponse)
async def page(request: Request) -> HTMLResponse:
    rows = "".join(
        f"<article><h2>{escape(m.subject)}</h2><p><b>To:</b> {escape(', '.join(m.to))} &middot; "
        f"<b>Received:</b> {escape(m.received_at)}</p><pre>{escape(m.text)}</pre></article><hr>"
        for m in reversed(get_sink(request).mails)
    )
    return HTMLResponse(
        '<!doctype html><html><head><meta charset="utf-8"><title>Development mail</title>'
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}pre{white-space:pre-wrap}</style></head>"
        f"<body><h1>Mail received by the development SMTP sink</h1>{rows or '<p>No mail yet.</p>'}</body></html>"
    )
