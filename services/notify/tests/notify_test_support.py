"""Helpers of the notify service tests: a real token issuer, a real SMTP server, a real webhook receiver,
a publisher on the real broker, the service on a real socket and a clock the test moves.

The issuer is eproc_shared.testing.TestIssuer: real Ed25519 tokens, verified by the service as in production.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP
from fastapi import FastAPI, Request, Response
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from eproc_notify.main import create_app
from eproc_notify.models import deliveries, messaging
from eproc_notify.settings import NotifySettings
from eproc_shared.auth import install_auth
from eproc_shared.broker import ensure_topics, make_producer
from eproc_shared.db import create_engine
from eproc_shared.devstack.embedded_broker import free_port
from eproc_shared.events.catalogue import CATALOGUE, Event
from eproc_shared.events.envelope import Envelope
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import TestIssuer, eventually, serve, start_group_at_end

AUDIENCE = "eproc"


class Issuer(TestIssuer):
    pass


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def auth_env(issuer: Issuer) -> Issuer:
    """The issuer the service trusts (kept under this name for the tests that ask for it)."""
    return issuer


class Clock:
    """The service's clock, moved by the test. It starts at the real time, because webhook receivers
    judge a signature's timestamp against their own clock (five minutes of tolerance)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# A real SMTP server ------------------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd SMTP server on a free port, keeping what it receives."""

    def __init__(self) -> None:
        self.port = free_port("127.0.0.1")
        self.messages: list[EmailMessage] = []
        self._server: asyncio.AbstractServer | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self), "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    box = Mailbox()
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


# A real webhook receiver -------------------------------------------------------------------------


@dataclass
class Call:
    message_id: str
    timestamp: str
    signatures: str
    body: bytes
    verified_with: list[str]
    status: int


@dataclass
class Receiver:
    """An HTTP server that verifies Standard Webhooks signatures with every secret it is given.

    ``fail_first`` failing answers per message id before succeeding; ``always_fail`` never succeeds;
    ``gate`` (when set) holds every call until the test releases it (a slow receiver, without sleeping).
    """

    secrets: list[str] = field(default_factory=list)
    fail_first: int = 0
    always_fail: bool = False
    gate: asyncio.Event | None = None
    calls: list[Call] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            if self.gate is not None:
                await self.gate.wait()
            verified = []
            for secret in self.secrets:
                try:
                    Webhook(secret).verify(body, dict(request.headers))
                    verified.append(secret)
                except WebhookVerificationError:
                    pass
            message_id = request.headers.get("webhook-id", "")
            self.seen[message_id] += 1
            failing = self.always_fail or self.seen[message_id] <= self.fail_first
            status = 500 if failing or not verified else 204
            self.calls.append(
                Call(
                    message_id,
                    request.headers.get("webhook-timestamp", ""),
                    request.headers.get("webhook-signature", ""),
                    body,
                    verified,
                    status,
                )
            )
            return Response(status_code=status)

        return app

    def of(self, message_id: str) -> list[Call]:
        return [c for c in self.calls if c.message_id == message_id]


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[Receiver]:
    async with serve(receiver.app()) as url:
        receiver.url = f"{url}/hook"
        try:
            yield receiver
        finally:
            if receiver.gate is not None:
                receiver.gate.set()  # a held call must end for the server to stop


# Events over the real broker ---------------------------------------------------------------------


class Publisher:
    def __init__(self, broker: BrokerSettings) -> None:
        self.broker = broker
        self.producer = make_producer(broker)

    async def __aenter__(self) -> Publisher:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def send(self, envelope: Envelope[Any]) -> Envelope[Any]:
        await self.producer.send_and_wait(
            envelope.topic, value=envelope.value(), key=envelope.key.encode(), headers=envelope.headers()
        )
        return envelope

    async def publish(self, data: Event, key: str, source: str) -> Envelope[Any]:
        return await self.send(Envelope.new(data, source=source, key=key))


async def ensure_all_topics(broker: BrokerSettings) -> None:
    await ensure_topics(broker, list(CATALOGUE.topics.values()))


# The service -------------------------------------------------------------------------------------


@dataclass
class Service:
    url: str
    issuer: Issuer
    clock: Clock
    database_url: str
    client: httpx.AsyncClient
    app: FastAPI
    group: str

    def auth(self, sub: str, *roles: str, **claims: Any) -> dict[str, str]:
        return self.issuer.headers(sub, *roles, **claims)

    def vendor(self, user_id: str, vendor_id: str) -> dict[str, str]:
        return self.auth(user_id, "vendor", vendor_id=vendor_id)

    def admin(self, user_id: str = "admin-1") -> dict[str, str]:
        return self.auth(user_id, "admin")

    async def rows(self, **where: Any) -> list[dict[str, Any]]:
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as conn:
                stmt = select(deliveries).order_by(deliveries.c.id)
                for name, value in where.items():
                    stmt = stmt.where(deliveries.c[name] == value)
                return [dict(r) for r in (await conn.execute(stmt)).mappings()]
        finally:
            await engine.dispose()

    async def consumed(self, event_id: str) -> bool:
        """Whether this service's consumer group applied the event (its inbox row is committed)."""
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as conn:
                inbox = messaging.inbox.c
                stmt = select(inbox.id).where(inbox.event_id == event_id, inbox.consumer == self.group)
                return (await conn.scalar(stmt)) is not None
        finally:
            await engine.dispose()

    async def wait_consumed(self, *envelopes: Envelope[Any]) -> None:
        for envelope in envelopes:
            await eventually(lambda: self.consumed(envelope.id), timeout_s=60)


def settings_for(database_url: str, broker: BrokerSettings, smtp_port: int, **overrides: Any) -> NotifySettings:
    options: dict[str, Any] = {
        "database_url": database_url,
        "broker": broker,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_timeout_s": 5,
        "consumer_group": f"notify-test-{uuid.uuid4().hex[:8]}",
        "outbox_poll_interval_s": 0.2,
        "consumer_retry_backoff_s": 0.05,
        "consumer_max_attempts": 2,
        "worker_poll_interval_s": 0.05,
        "webhook_timeout_s": 5,
    }
    return NotifySettings(**(options | overrides))


@asynccontextmanager
async def running_service(
    database_url: str,
    broker: BrokerSettings,
    issuer: Issuer,
    smtp_port: int,
    clock: Clock | None = None,
    **overrides: Any,
) -> AsyncIterator[Service]:
    """The notify service on a free port, verifying tokens of ``issuer``."""
    clock = clock or Clock()
    settings = settings_for(database_url, broker, smtp_port, **overrides)
    if "consumer_group" not in overrides:
        # A new group starts where the shared broker is now, not at every earlier test's events.
        await start_group_at_end(broker, settings.consumer_group)
    app = create_app(settings, clock=clock)
    install_auth(app, issuer.verifier())
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield Service(url, issuer, clock, database_url, client, app, settings.consumer_group)


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# Events ------------------------------------------------------------------------------------------


def package_facts(package_id: str, name: str, *, opd_id: str = "dpupr", kbli: tuple[str, ...] = ("42101",)) -> Any:
    from eproc_shared.events.types.tender import TenderPackageFacts

    return TenderPackageFacts(
        package_id=package_id,
        code=f"TGR-{package_id[-6:]}",
        name=name,
        opd_id=opd_id,
        fiscal_year=2026,
        procurement_type="pekerjaan_konstruksi",
        method="tender",
        qualification="pasca",
        envelope_system="one_file",
        evaluation_system="lowest_price",
        contract_type="lumsum",
        pagu=2_000_000_000,
        hps=1_500_000_000,
        kbli_codes=list(kbli),
    )


def announced(package_id: str, name: str, at: datetime, **facts: Any) -> Any:
    from eproc_shared.events.types.tender import TenderAnnounced, TenderStageWindow

    return TenderAnnounced(
        package=package_facts(package_id, name, **facts),
        schedule=[
            TenderStageWindow(stage="registration", starts_at=at, ends_at=at + timedelta(days=5)),
            TenderStageWindow(stage="submission", starts_at=at, ends_at=at + timedelta(days=7)),
        ],
        announced_at=at,
    )


def eligibility(vendor_id: str, name: str, at: datetime) -> Any:
    from eproc_shared.events.types.vendor import VendorEligibilityFacts

    return VendorEligibilityFacts(
        vendor_id=vendor_id,
        revision=1,
        as_of=at,
        legal_name=name,
        npwp="013121660091000",
        status="verified",
        verified=True,
        blacklisted=False,
        eligible=True,
    )
