"""ASGI entry point: `uvicorn --factory eproc_gateway.main:create_app`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse

from eproc_gateway import __doc__ as summary
from eproc_gateway.edge import EdgeMiddleware, Limiters
from eproc_gateway.identity import IdentityStore
from eproc_gateway.keys import KeyRing
from eproc_gateway.models import messaging
from eproc_gateway.openapi import MergedOpenAPI
from eproc_gateway.portal import install_portal
from eproc_gateway.proxy import Proxy
from eproc_gateway.routes import admin, auth
from eproc_gateway.seed import ensure_bootstrap_admin, seed_dev_accounts
from eproc_gateway.settings import GatewaySettings
from eproc_shared.auth import Clock, KeySet, TokenVerifier, install_auth, utcnow
from eproc_shared.db import create_engine, ping, session_factory, upgrade
from eproc_shared.logging_setup import setup_logging
from eproc_shared.outbox import Outbox, OutboxRelay
from eproc_shared.problems import PROBLEM_JSON
from eproc_shared.service_app import install_conventions
from eproc_shared.telemetry import instrument_engine, setup_tracing

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(
    settings: GatewaySettings | None = None,
    *,
    clock: Clock = utcnow,
    monotonic: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The gateway. ``clock`` and ``monotonic`` are injectable so that tests control time."""
    settings = settings or GatewaySettings()
    settings.check()  # refuses production with dev seeding or default secrets
    setup_logging("gateway", settings.telemetry.log_level, settings.telemetry.log_format)
    setup_tracing("gateway", settings.telemetry)

    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    instrument_engine(engine, settings.telemetry)
    sessions = session_factory(engine)
    outbox = Outbox(messaging, settings.source)
    keyring = KeyRing(
        engine,
        key_files=settings.signing_key_files,
        max_age=timedelta(days=settings.signing_key_max_age_days),
        token_lifetime=timedelta(seconds=max(settings.access_token_ttl_s, settings.api_key_token_ttl_s)),
        leeway=timedelta(seconds=settings.auth.leeway_s),
        clock=clock,
    )
    store = IdentityStore(settings, sessions, outbox, keyring, clock=clock, monotonic=monotonic)

    async def own_keys() -> dict[str, Any]:
        await keyring.reload()  # picks up keys another replica rotated in
        return keyring.jwks()

    verifier = TokenVerifier(
        settings.auth,
        key_sets={settings.issuer: KeySet(own_keys, cache_s=60, min_refresh_s=1, monotonic=monotonic)},
        clock=clock,
    )
    limiters = Limiters.from_settings(settings, clock=monotonic)
    shards = settings.upstream_pools
    limits = httpx.Limits(
        max_connections=-(-settings.upstream_max_connections // shards),
        max_keepalive_connections=-(-settings.upstream_max_keepalive // shards),
        # Below uvicorn's 5 s keep-alive timeout: a pooled connection the service is about to close is not
        # reused, which under load (bench/deadline_rush.py) surfaced as an occasional 502 on a bid.
        keepalive_expiry=4.0,
    )
    clients = [httpx.AsyncClient(limits=limits, timeout=settings.upstream_timeout_s) for _ in range(shards)]
    client = clients[0]
    proxy = Proxy(settings, clients, store, monotonic=monotonic)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        relay = OutboxRelay(
            engine,
            outbox,
            settings.broker,
            service="gateway",
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            max_backoff_s=settings.outbox_max_backoff_s,
        )
        try:
            if settings.run_migrations:
                await upgrade(engine, MIGRATIONS)
            await keyring.load()
            await ensure_bootstrap_admin(store, settings)
            if settings.dev_seed:
                await seed_dev_accounts(store, settings, f"http://{settings.host}:{settings.port}")
            tasks.append(asyncio.create_task(relay.run(), name="gateway-outbox-relay"))
            if not keyring.from_files:
                tasks.append(asyncio.create_task(_rotate_when_due(keyring), name="gateway-key-rotation"))
            log.info("gateway started (%s identity, %d upstreams)", settings.identity_mode, len(settings.upstreams))
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError, Exception):
                    await task
            await relay.close()
            for pool in clients:
                await pool.aclose()
            await verifier.aclose()
            await engine.dispose()

    app = FastAPI(
        title="E-procurement platform API",
        description=f"{summary}\n\nSign in at `POST /auth/token`; every service's API is under `/api/<service>`.",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.identity = store
    app.state.keyring = keyring
    app.state.sessions = sessions
    app.state.limiters = limiters
    app.state.proxy = proxy
    app.state.engine = engine
    install_auth(app, verifier)

    # Outermost last: request id (install_conventions) -> CORS -> edge check -> routes.
    app.add_middleware(EdgeMiddleware, settings=settings, verifier=verifier, store=store, limiters=limiters)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=PROXY_METHODS,
            allow_headers=["authorization", "content-type", "x-api-key", "x-request-id", "if-none-match"],
            expose_headers=["x-request-id", "etag", "retry-after", "location"],
            max_age=600,
        )
    install_conventions(app, "gateway")
    app.include_router(auth)
    app.include_router(admin)
    install_portal(app)

    merged = MergedOpenAPI(
        app.openapi, settings.upstreams, client, cache_s=settings.openapi_cache_s, monotonic=monotonic
    )

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_document() -> JSONResponse:
        return JSONResponse(await merged.document(), headers={"Cache-Control": "public, max-age=30"})

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=app.title, oauth2_redirect_url="/docs/oauth2-redirect"
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def docs_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/health/live", tags=["health"], summary="The process is running")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["health"], summary="The gateway's database, and each service's readiness")
    async def ready(request: Request) -> Response:
        async def upstream_ready(url: str) -> bool:
            try:
                return (await client.get(f"{url}/health/ready", timeout=2)).status_code == 200
            except httpx.HTTPError:
                return False

        async def database_ready() -> bool:
            try:
                await asyncio.wait_for(ping(engine), 2)
                return True
            except Exception:
                return False

        names = list(proxy.upstreams)
        results = await asyncio.gather(database_ready(), *(upstream_ready(proxy.upstreams[n].base_url) for n in names))
        checks = {"database": results[0], **dict(zip(names, results[1:], strict=True))}
        upstreams = {
            n: {"ready": ok, "circuit": proxy.upstreams[n].breaker.state}
            for n, ok in zip(names, results[1:], strict=True)
        }
        # The gateway stays ready while a service is down: its other routes still work.
        status = "unavailable" if not checks["database"] else ("ok" if all(checks.values()) else "degraded")
        body = {"status": status, "checks": checks, "upstreams": upstreams}
        if not checks["database"]:
            problem = {"type": "about:blank", "title": "Not ready", "status": 503, "detail": "database", **body}
            return JSONResponse(problem, status_code=503, media_type=PROBLEM_JSON)
        return JSONResponse(body)

    @app.api_route("/api/{service}/{path:path}", methods=PROXY_METHODS, include_in_schema=False)
    async def forward(service: str, path: str, request: Request) -> Response:
        return await proxy.forward(request, service)

    return app


async def _rotate_when_due(keyring: KeyRing, every_s: float = 3600) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await keyring.reload()
            newest = keyring.keys[-1] if keyring.keys else None
            if newest is None or keyring.clock() - newest.created_at > keyring.max_age:
                await keyring.rotate()
        except Exception:
            log.exception("signing key rotation check failed; will retry")
