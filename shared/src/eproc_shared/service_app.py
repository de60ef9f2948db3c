"""Builds a service's FastAPI app with everything the platform expects of every service.

Health (``/health/live``, ``/health/ready``), ``/metrics``, ``/openapi.json``, problem+json
errors, request ids, tracing, migrations at start, the outbox relay and the service's
consumers. A service supplies only its settings, migrations, routers and handlers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from eproc_shared.auth import AuthSettings, TokenVerifier, install_auth
from eproc_shared.consumer import EventConsumer, Handler
from eproc_shared.db import create_engine, ping, session_factory, upgrade
from eproc_shared.events.catalogue import CATALOGUE, Catalogue
from eproc_shared.http_middleware import RequestContextMiddleware
from eproc_shared.logging_setup import setup_logging
from eproc_shared.messaging_tables import MessagingTables
from eproc_shared.metrics import render
from eproc_shared.outbox import Outbox, OutboxRelay
from eproc_shared.problems import PROBLEM_JSON, install_problem_handlers
from eproc_shared.settings import ServiceSettings
from eproc_shared.telemetry import instrument_engine, setup_tracing

log = logging.getLogger(__name__)


@dataclass
class ConsumerSpec:
    """A consumer group this service runs: its name and a handler per event type."""

    name: str
    handlers: dict[str, Handler]


@dataclass
class ServiceRuntime:
    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    outbox: Outbox
    relay: OutboxRelay
    consumers: list[EventConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def get_runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def _runtime(request: Request) -> ServiceRuntime:
    # async: FastAPI runs a plain ``def`` dependency on a worker thread, a thread hop per request for a lookup.
    return get_runtime(request)


Runtime = Annotated[ServiceRuntime, Depends(_runtime)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the route returns and rolls back on error."""
    async with get_runtime(request).sessions() as session, session.begin():
        yield session


# Scope "function": the transaction commits before the response is sent, so a client never reads
# before its own write is visible and never gets a success for a commit that then fails.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


def build_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    version: str,
    migrations: Path,
    metadata: MetaData,
    tables: MessagingTables,
    routers: Sequence[APIRouter] = (),
    consumers: Sequence[ConsumerSpec] = (),
    on_start: Callable[[ServiceRuntime], Awaitable[None]] | None = None,
    on_stop: Callable[[ServiceRuntime], Awaitable[None]] | None = None,
    catalogue: Catalogue = CATALOGUE,
) -> FastAPI:
    service = settings.service_name

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        instrument_engine(engine, settings.telemetry)
        if settings.run_migrations:
            await upgrade(engine, migrations)
        outbox = Outbox(tables, settings.source)
        relay = OutboxRelay(
            engine,
            outbox,
            settings.broker,
            service=service,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            max_backoff_s=settings.outbox_max_backoff_s,
            topics=catalogue.topics.values(),
        )
        sessions = session_factory(engine)
        runtime = ServiceRuntime(settings=settings, engine=engine, sessions=sessions, outbox=outbox, relay=relay)
        for spec in consumers:
            runtime.consumers.append(
                EventConsumer(
                    spec.name,
                    sessions=sessions,
                    tables=tables,
                    broker=settings.broker,
                    handlers=spec.handlers,
                    catalogue=catalogue,
                    max_attempts=settings.consumer_max_attempts,
                    retry_backoff_s=settings.consumer_retry_backoff_s,
                )
            )
        app.state.runtime = runtime
        # A verifier installed before start-up (tests, an embedding app) wins; otherwise AUTH_* settings.
        own_verifier = getattr(app.state, "token_verifier", None) is None
        if own_verifier:
            install_auth(app, TokenVerifier(AuthSettings()))
        if on_start is not None:
            await on_start(runtime)
        runtime.tasks.append(asyncio.create_task(relay.run(), name=f"{service}-outbox-relay"))
        for consumer in runtime.consumers:
            runtime.tasks.append(asyncio.create_task(consumer.run(), name=f"{service}-consumer-{consumer.name}"))
        log.info("%s started", service)
        try:
            yield
        finally:
            for task in runtime.tasks:
                task.cancel()
            for task in runtime.tasks:
                with suppress(asyncio.CancelledError, Exception):
                    await task
            if on_stop is not None:
                await on_stop(runtime)
            await relay.close()
            for consumer in runtime.consumers:
                await consumer.close()
            if own_verifier:
                await app.state.token_verifier.aclose()
            await engine.dispose()
            log.info("%s stopped", service)

    setup_logging(service, settings.telemetry.log_level, settings.telemetry.log_format)
    setup_tracing(service, settings.telemetry)
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    install_conventions(app, service)
    app.include_router(health_router(ready_check=_service_ready, requires_broker=settings.ready_requires_broker))
    for router in routers:
        app.include_router(router)
    return app


def install_conventions(app: FastAPI, service: str) -> None:
    """Problem+json errors, request ids, metrics and tracing: also used by the gateway."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, service=service)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health/live,health/ready,metrics")

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, content_type = render()
        return Response(body, media_type=content_type)


async def _service_ready(request: Request) -> dict[str, bool]:
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return {"database": False, "broker": False}
    try:
        await asyncio.wait_for(ping(runtime.engine), 2)
        database = True
    except Exception:
        database = False
    return {"database": database, "broker": await runtime.relay.broker_ready()}


def health_router(ready_check: Callable[[Request], Awaitable[dict[str, bool]]], *, requires_broker: bool) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live", summary="The process is running")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health/ready", summary="Database and broker reachable", response_model=None)
    async def ready(request: Request) -> Any:
        checks = await ready_check(request)
        # A broker outage does not stop the API (writes go to the outbox), so by default it only
        # marks the service degraded; set READY_REQUIRES_BROKER to make it fail readiness too.
        failing = [name for name, ok in checks.items() if not ok and (name != "broker" or requires_broker)]
        status = "unavailable" if failing else ("ok" if all(checks.values()) else "degraded")
        body = {"status": status, "checks": checks}
        if failing:
            return JSONResponse(
                {
                    "type": "about:blank",
                    "title": "Not ready",
                    "status": 503,
                    "detail": f"Unavailable: {', '.join(failing)}",
                    **body,
                },
                status_code=503,
                media_type=PROBLEM_JSON,
            )
        return body

    return router
