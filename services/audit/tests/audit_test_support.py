"""Helpers of the audit service tests: a real token issuer, the service on a real socket with a movable
clock, a raw CloudEvents producer, and a migrated audit database for the chain tests.

The issuer is eproc_shared.testing.TestIssuer: real Ed25519 tokens the service verifies with its own
verifier, as in production (the gateway's tests cover JWKS over HTTP and rotation).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import eproc_audit
from eproc_audit.canonical import GENESIS, entry_hash
from eproc_audit.checkpoints import register_key, sign_checkpoint
from eproc_audit.log_writer import append
from eproc_audit.main import create_app
from eproc_audit.models import messaging
from eproc_audit.settings import AuditSettings
from eproc_audit.signing import SigningKey
from eproc_audit.verification import VerificationReport, verify_chain
from eproc_audit.verify_pool import VerifierPool
from eproc_shared.auth import install_auth
from eproc_shared.broker import ensure_topics, make_producer
from eproc_shared.consumer import RawEvent
from eproc_shared.db import create_engine, session_factory, upgrade
from eproc_shared.outbox import Outbox
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import ManualClock, TestIssuer, serve, start_group_at_end
from eproc_shared.topics import load_topics

AUDIENCE = "eproc"
MIGRATIONS = Path(eproc_audit.__file__).parent / "migrations"


class Issuer(TestIssuer):
    pass


class Clock(ManualClock):
    """The service's clock, moved by the test: 10:00 in Jakarta on 2 March 2026 to start with."""

    def __init__(self) -> None:
        super().__init__(datetime(2026, 3, 2, 3, 0, tzinfo=UTC))


def raw_headers(
    type_name: str, *, source: str = "/test/producer", event_id: str | None = None, subject: str | None = None
) -> list[tuple[str, bytes]]:
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", (event_id or str(uuid.uuid4())).encode()),
        ("ce_source", source.encode()),
        ("ce_type", type_name.encode()),
        ("ce_time", datetime.now(UTC).isoformat().replace("+00:00", "Z").encode()),
        ("content-type", b"application/json"),
    ]
    if subject:
        headers.append(("ce_subject", subject.encode()))
    return headers


@dataclass
class Service:
    url: str
    issuer: Issuer
    clock: Clock
    database_url: str
    settings: AuditSettings
    client: httpx.AsyncClient
    producer: AIOKafkaProducer
    sent: list[str] = field(default_factory=list)

    def auth(self, sub: str, *roles: str, **claims: Any) -> dict[str, str]:
        return self.issuer.headers(sub, *roles, **claims)

    @property
    def admin(self) -> dict[str, str]:
        return self.auth("admin-1", "admin")

    def auditor(self, sub: str = "auditor-1") -> dict[str, str]:
        return self.auth(sub, "auditor")

    async def send(
        self,
        topic: str,
        type_name: str,
        data: Any,
        *,
        key: str | None = None,
        event_id: str | None = None,
        subject: str | None = None,
        value: bytes | None = None,
    ) -> str:
        """Publish one CloudEvent (binary mode) as any producer would; returns its id."""
        event_id = event_id or str(uuid.uuid4())
        payload = value if value is not None else json.dumps(data).encode()
        await self.producer.send_and_wait(
            topic,
            value=payload,
            key=key.encode() if key else None,
            headers=raw_headers(type_name, event_id=event_id, subject=subject),
        )
        self.sent.append(event_id)
        return event_id

    async def entries(self, **params: Any) -> list[dict[str, Any]]:
        """Every log entry (admin view), following the cursor."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
            response = await self.client.get("/entries", params=query, headers=self.admin)
            assert response.status_code == 200, response.text
            body = response.json()
            items.extend(body["items"])
            cursor = body["next_cursor"]
            if not cursor:
                return items

    async def logged(self, *event_ids: str) -> list[dict[str, Any]]:
        wanted = set(event_ids)
        return [e for e in await self.entries() if e["event_id"] in wanted]


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
async def service(database_url: str, broker: BrokerSettings, issuer: Issuer, tmp_path: Path) -> AsyncIterator[Service]:
    clock = Clock()
    settings = AuditSettings(
        database_url=database_url,
        broker=broker,
        log_consumer_group=f"audit-log-test-{uuid.uuid4().hex[:8]}",
        dev_signing_key_file=str(tmp_path / "audit-key.pem"),
        checkpoint_interval_s=3600,
        verify_batch_size=7,  # several batches even in a short log
        outbox_poll_interval_s=0.2,
        consumer_retry_backoff_s=0.05,
        consumer_max_attempts=2,
    )
    await ensure_topics(broker, list(load_topics(broker).values()))
    # A new group starts where the shared broker is now, not at every earlier test's events.
    await start_group_at_end(broker, settings.log_consumer_group)
    producer = make_producer(broker)
    await producer.start()
    app = create_app(settings, clock=clock)
    install_auth(app, issuer.verifier())
    try:
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Service(url, issuer, clock, database_url, settings, client, producer)
    finally:
        await producer.stop()


@pytest.fixture(scope="session")
def verifier_pool() -> Iterator[VerifierPool]:
    """Two worker processes for the whole session: spawning them costs about a second, as in a service."""
    pool = VerifierPool(2)
    try:
        yield pool
    finally:
        pool.close()


@dataclass
class LogDb:
    """A migrated audit database, for appending and tampering without the service around it."""

    url: str
    engine: AsyncEngine

    async def sql(self, statement: str, **params: Any) -> Any:
        async with self.engine.begin() as conn:
            return await conn.execute(text(statement), params)

    async def rows(self, statement: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(statement), params)).all()
            await conn.rollback()
        return list(rows)


@pytest.fixture
async def log_db(database_url: str) -> AsyncIterator[LogDb]:
    engine = create_engine(database_url)
    await upgrade(engine, MIGRATIONS)
    try:
        yield LogDb(database_url, engine)
    finally:
        await engine.dispose()


def raw_event(
    type_name: str,
    data: Any,
    *,
    key: str | None = None,
    subject: str | None = None,
    event_id: str | None = None,
    topic: str = "eproc.test.internal",
    offset: int = 0,
) -> RawEvent:
    headers = dict(raw_headers(type_name, event_id=event_id, subject=subject))
    attributes = {k[3:]: v.decode() for k, v in headers.items() if k.startswith("ce_")}
    attributes["datacontenttype"] = "application/json"
    value = json.dumps(data).encode()
    return RawEvent(
        id=attributes["id"],
        source=attributes["source"],
        type=type_name,
        time=attributes["time"],
        subject=subject,
        key=key,
        data=json.loads(value),
        attributes=attributes,
        topic=topic,
        partition=0,
        offset=offset,
        value=value,
    )


KEY = SigningKey.from_private(Ed25519PrivateKey.generate())


class Chain:
    """An audit log to append to, sign, verify and tamper with (``pool``: verify with worker processes)."""

    pool: VerifierPool | None = None

    def __init__(self, db: LogDb) -> None:
        self.db = db
        self.sessions = session_factory(db.engine)
        self.outbox = Outbox(messaging, "/eproc/audit")
        self.clock_s = 0

    def now(self) -> datetime:
        self.clock_s += 1
        return datetime(2026, 3, 2, 3, 0, tzinfo=UTC) + timedelta(seconds=self.clock_s)

    async def add(self, n: int, prefix: str = "PKG") -> list[int | None]:
        seqs = []
        for i in range(n):
            event = raw_event(
                "tender.bid_submitted.v1",
                {"package_id": f"{prefix}-{i % 3}", "opd_id": "dinkes", "vendor_id": f"V-{i}", "fiscal_year": 2026},
                key=f"{prefix}-{i % 3}",
                offset=i,
            )
            async with self.sessions() as session, session.begin():
                seqs.append(await append(session, event, self.now()))
        return seqs

    async def checkpoint(self) -> dict[str, Any] | None:
        async with self.sessions() as session, session.begin():
            await register_key(session, KEY, self.now())
            return await sign_checkpoint(session, KEY, self.outbox, self.now())

    async def verify(self, *, deep: bool = True, batch_size: int = 4) -> VerificationReport:
        sessions = session_factory(self.db.engine, readonly=True)
        return await verify_chain(sessions, batch_size=batch_size, deep=deep, pool=self.pool)

    async def canonical(self, seq: int) -> bytes:
        return bytes((await self.db.rows("SELECT canonical FROM audit_log WHERE seq = :s", s=seq))[0][0])

    async def rehash_from(self, start: int) -> None:
        """What a careful forger does after editing: recompute every hash from ``start`` on, and the head."""
        prev = GENESIS
        rows = await self.db.rows("SELECT seq, canonical FROM audit_log ORDER BY seq")
        for seq, canonical in rows:
            digest = entry_hash(prev, seq, bytes(canonical))
            if seq >= start:
                await self.db.sql("UPDATE audit_log SET hash = :h WHERE seq = :s", h=digest.hex(), s=seq)
            prev = digest
        await self.db.sql("UPDATE audit_log_head SET seq = :s, hash = :h", s=rows[-1][0], h=prev.hex())
