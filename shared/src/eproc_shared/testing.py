"""Pytest fixtures every test suite of the platform uses: a real broker, real databases, real HTTP.

Loaded by the repository's root conftest.py (``pytest_plugins``); a region testing one
service alone loads it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.engine import make_url

from eproc_shared.devstack.embedded_broker import EmbeddedBroker, free_port
from eproc_shared.events.catalogue import Catalogue, Event
from eproc_shared.settings import BrokerSettings
from eproc_shared.topics import TopicSpec

POSTGRES_ADMIN_URL = os.environ.get("EPROC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_pg_state: dict[str, str | None] = {}


def broker_settings(bootstrap: str, **overrides: Any) -> BrokerSettings:
    """Settings for a test broker: fast group membership so fail-over tests stay short."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "enable_idempotence": False,
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 500,
        "request_timeout_ms": 5000,
    }
    return BrokerSettings(**(options | overrides))


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerSettings]:
    """One embedded Tansu broker for the session (tests isolate themselves with unique topics)."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log) as embedded:
        yield broker_settings(embedded.bootstrap_servers)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker this test may stop and restart (on the same port)."""
    embedded = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
    try:
        yield embedded
    finally:
        embedded.stop()


async def postgres_unavailable_reason() -> str | None:
    if "reason" not in _pg_state:
        import asyncpg

        try:
            conn = await asyncio.wait_for(asyncpg.connect(POSTGRES_ADMIN_URL), 3)
            await conn.close()
            _pg_state["reason"] = None
        except Exception as exc:
            _pg_state["reason"] = (
                f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} ({exc!r}); set EPROC_TEST_POSTGRES_URL"
            )
    return _pg_state["reason"]


@asynccontextmanager
async def throwaway_postgres() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards; yields its asyncpg URL."""
    import asyncpg

    reason = await postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    name = f"eproc_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test that takes this runs twice: on a SQLite file and on a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    async with throwaway_postgres() as url:
        yield url


async def start_group_at_end(broker: BrokerSettings, group: str, topics: list[str] | None = None) -> None:
    """Commit a new consumer group's offsets at the current end of ``topics`` (default: every catalogue topic).

    The session broker keeps every event earlier tests published on the platform's real topics; a service
    under test with a fresh group would otherwise read all of them (``earliest``) before reaching its own.
    Call it before the service starts, and only for a group that should see what comes next.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from eproc_shared.broker import ensure_topics
    from eproc_shared.events.catalogue import CATALOGUE

    specs = CATALOGUE.topics
    names = topics if topics is not None else sorted(specs)
    await ensure_topics(broker, [specs[n] for n in names if n in specs])
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap_servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fetches the metadata that partitions_for_topic reads
        partitions = [TopicPartition(n, p) for n in names for p in sorted(consumer.partitions_for_topic(n) or ())]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit({tp: offset for tp, offset in ends.items()})
    finally:
        await consumer.stop()


def isolated_catalogue(partitions: int = 3, visibility: str = "internal") -> tuple[Catalogue, str]:
    """A private catalogue bound to a fresh topic, so tests never see each other's events."""
    topic = f"test.{uuid.uuid4().hex[:10]}"
    spec = TopicSpec(
        name=topic,
        owner="test",
        visibility=visibility,  # type: ignore[arg-type]
        partitions=partitions,
        replication_factor=1,
        retention_ms=-1,
        min_insync_replicas=1,
    )
    return Catalogue(topics={topic: spec}), topic


def order_events(catalogue: Catalogue, topic: str) -> type[Event]:
    """Registers the event type the messaging tests use: an order placed, with a per-key sequence."""

    @catalogue.register("test.order_placed", 1, topic)
    class OrderPlaced(Event):
        order_id: str
        seq: int
        poison: bool = False

    return OrderPlaced


@asynccontextmanager
async def serve(app: Any, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Run an ASGI app on a real socket (lifespan included) for the duration of the block."""
    port = free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # the test runner owns signals
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during start-up")
        await asyncio.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task


async def eventually(check: Any, timeout_s: float = 20.0, interval_s: float = 0.1) -> Any:
    """Poll an async ``check`` until it returns a truthy value; fail with its last value on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s; last value: {last!r}")


class TestIssuer:
    """A token issuer for service tests: one Ed25519 key, tokens for any principal, and a verifier that
    trusts it without any HTTP (install it on a service app with ``install_auth`` before it starts).

    The gateway's own tests exercise the real issuer, JWKS over HTTP and rotation; services only need
    tokens their verifier accepts, so that their object-level rules can be tested with real signatures.
    """

    __test__ = False  # not a test class, despite its name

    def __init__(self, issuer: str = "https://issuer.test", audience: str = "eproc") -> None:
        from cryptography.hazmat.primitives.asymmetric import ed25519

        self.issuer = issuer
        self.audience = audience
        self.key = ed25519.Ed25519PrivateKey.generate()
        self.kid = uuid.uuid4().hex[:8]

    def jwks(self) -> dict[str, Any]:
        from jwt.algorithms import OKPAlgorithm

        jwk = OKPAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def verifier(self) -> Any:
        from eproc_shared.auth import AuthSettings, KeySet, TokenVerifier

        async def fetch() -> dict[str, Any]:
            return self.jwks()

        settings = AuthSettings(issuer=self.issuer, audience=self.audience, jwks_url="http://127.0.0.1:9/unused")
        return TokenVerifier(settings, key_sets={self.issuer: KeySet(fetch)})

    def token(self, sub: str, roles: list[str], **claims: Any) -> str:
        import jwt

        now = datetime.now(UTC)
        body = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=1)).timestamp()),
            "roles": roles,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def headers(self, sub: str, *roles: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub, list(roles), **claims)}"}


class ManualClock:
    """A clock a test moves by hand; services take it as their injectable clock."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
