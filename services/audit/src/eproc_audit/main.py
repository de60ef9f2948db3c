"""ASGI entry point: `uvicorn --factory eproc_audit.main:create_app`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from eproc_audit import __doc__ as summary
from eproc_audit.checkpoints import register_key, run_checkpoints
from eproc_audit.clock import Clock, system_clock
from eproc_audit.log_consumer import log_consumer
from eproc_audit.models import messaging, metadata
from eproc_audit.routes import assignments, feed, indicators, integrity, ocds, public, red_flags, timelines
from eproc_audit.settings import AuditSettings
from eproc_audit.signing import load_signing_key
from eproc_audit.verify_pool import VerifierPool
from eproc_shared.service_app import ServiceRuntime, build_service_app


def create_app(settings: AuditSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    settings = settings or AuditSettings()
    # Loaded before the app exists, so that a missing or unreadable key stops the start at once.
    key = load_signing_key(
        settings.signing_key_file, dev_path=settings.dev_signing_key_file, environment=settings.environment
    )

    async def on_start(runtime: ServiceRuntime) -> None:
        async with runtime.sessions() as session, session.begin():
            await register_key(session, key, clock())
        runtime.consumers.append(log_consumer(runtime, settings, clock))
        runtime.tasks.append(
            asyncio.create_task(
                run_checkpoints(runtime.sessions, key, runtime.outbox, clock, settings.checkpoint_interval_s),
                name="audit-checkpoints",
            )
        )

    # Worker processes start with the first verification, if any; they stop after the service's own shutdown.
    pool = VerifierPool(settings.verify_workers)

    async def on_stop(_: ServiceRuntime) -> None:
        await asyncio.to_thread(pool.close)

    app = build_service_app(
        settings,
        title="Audit service",
        description=(
            f"{summary}\n\nTamper-evident log of every event with signed checkpoints and verification, "
            "and e-Audit: auditors read the history of the packages in their assignment letters."
        ),
        version="0.1.0",
        migrations=Path(__file__).parent / "migrations",
        metadata=metadata,
        tables=messaging,
        routers=[
            public.router,
            feed.router,
            red_flags.router,
            indicators.router,
            ocds.router,
            integrity.router,
            assignments.router,
            timelines.router,
        ],
        on_start=on_start,
        on_stop=on_stop,
    )
    app.state.clock = clock
    app.state.signing_key = key
    app.state.verifier_pool = pool
    return app
