"""Helpers of the gateway tests: real servers under uvicorn on free ports, a controllable clock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gw_test_upstream
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from eproc_gateway.main import create_app
from eproc_gateway.settings import GatewaySettings
from eproc_shared.auth import AuthSettings, TokenVerifier
from eproc_shared.settings import BrokerSettings

SERVICES = ("tender", "vendor", "contract", "audit", "notify")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    """One controllable time source for wall-clock (token expiry) and monotonic (limits, circuits) uses."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC)
        self.offset = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return 1_000.0 + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Server:
    """A uvicorn server in the test's event loop."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Server:
        # proxy_headers off: the gateway's own GATEWAY_TRUSTED_PROXIES decides whom to believe, not uvicorn.
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", proxy_headers=False
        )
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(500):
            if self.server.started:
                return self
            if self.task.done():
                self.task.result()
                raise RuntimeError("server exited during start")
            await asyncio.sleep(0.01)
        raise RuntimeError("server did not start")

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 10)
            self.server = self.task = None


@dataclass
class Stack:
    gateway: Server
    app: FastAPI
    settings: GatewaySettings
    clock: Clock
    upstreams: dict[str, Server]
    upstream_port: dict[str, int]
    credentials: dict[str, dict[str, Any]]
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.gateway.url

    async def sign_in(self, role: str) -> dict[str, Any]:
        account = self.credentials[role]
        response = await self.client.post(
            "/auth/token", data={"username": account["username"], "password": account["password"]}
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def token(self, role: str) -> str:
        if role not in self.tokens:
            self.tokens[role] = (await self.sign_in(role))["access_token"]
        return self.tokens[role]

    async def as_role(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(role)}"}


def service_verifier(gateway_url: str, clock: Clock, **auth: Any) -> TokenVerifier:
    settings = AuthSettings(
        issuer=auth.pop("issuer", gateway_url),
        audience="eproc",
        jwks_url=auth.pop("jwks_url", f"{gateway_url}/.well-known/jwks.json"),
        jwks_min_refresh_s=0,
        **auth,
    )
    return TokenVerifier(settings, clock=clock.now)


def gateway_settings(tmp_path: Path, port: int, upstreams: dict[str, str], **overrides: Any) -> GatewaySettings:
    auth = overrides.pop("auth", None) or AuthSettings(
        issuer=f"http://127.0.0.1:{port}", audience="eproc", jwks_url=f"http://127.0.0.1:{port}/.well-known/jwks.json"
    )
    values: dict[str, Any] = {
        "environment": "test",
        "port": port,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        "upstreams": upstreams,
        "dev_seed": True,
        "dev_credentials_file": str(tmp_path / "dev-credentials.json"),
        "password_hash_memory_kib": 1024,
        "password_hash_time_cost": 1,
        "password_hash_parallelism": 1,
        "upstream_connect_timeout_s": 1.0,
        "broker": BrokerSettings(bootstrap_servers="127.0.0.1:1", request_timeout_ms=1000),
        "outbox_max_backoff_s": 60,
        "auth": auth,
    }
    values.update(overrides)
    return GatewaySettings(**values)


def read_credentials(settings: GatewaySettings) -> dict[str, dict[str, Any]]:
    document = json.loads(Path(settings.dev_credentials_file).read_text())
    return {a["role"]: a for a in document["accounts"]}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def make_stack(tmp_path: Path, clock: Clock) -> AsyncIterator[Callable[..., Any]]:
    """Start test services for every upstream and a gateway in front of them; everything stops after the test."""
    started: list[Server] = []
    clients: list[httpx.AsyncClient] = []

    async def make(
        *,
        services: tuple[str, ...] = SERVICES,
        upstream_kwargs: dict[str, Any] | None = None,
        service_auth: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> Stack:
        gateway_port = free_port()
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        ports = {name: free_port() for name in services}
        upstreams: dict[str, Server] = {}
        for name in services:
            verifier = service_verifier(gateway_url, clock, **dict(service_auth or {}))
            app = gw_test_upstream.create_app(name, verifier, **(upstream_kwargs or {}))
            upstreams[name] = await Server(app, ports[name]).start()
            started.append(upstreams[name])
        settings = gateway_settings(
            tmp_path, gateway_port, {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}, **overrides
        )
        app = create_app(settings, clock=clock.now, monotonic=clock.monotonic)
        gateway = await Server(app, gateway_port).start()
        started.append(gateway)
        credentials = read_credentials(settings) if settings.dev_seed else {}
        client = httpx.AsyncClient(base_url=gateway_url, timeout=30)
        clients.append(client)
        return Stack(gateway, app, settings, clock, upstreams, ports, credentials, client)

    try:
        yield make
    finally:
        for client in clients:
            await client.aclose()
        await asyncio.gather(*(server.stop() for server in started))


def is_problem(response: httpx.Response, status: int) -> bool:
    return (
        response.status_code == status
        and response.headers.get("content-type", "").startswith("application/problem+json")
        and response.json().get("status") == status
    )


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    import asyncpg

    try:
        admin = await asyncpg.connect(PG_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc!r}")
    name = f"gateway_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
