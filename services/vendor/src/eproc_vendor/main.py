"""ASGI entry point: `uvicorn --factory eproc_vendor.main:create_app`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from eproc_shared.service_app import ServiceRuntime, build_service_app
from eproc_vendor import __doc__ as summary
from eproc_vendor.clock import Clock, system_clock
from eproc_vendor.consumers import Handlers, consumer_specs
from eproc_vendor.documents import DocumentStore
from eproc_vendor.models import messaging, metadata
from eproc_vendor.routes import blacklist, files, jobs, public, qualification, records, verification
from eproc_vendor.settings import VendorSettings
from eproc_vendor.sweeps import run_periodically


def create_app(settings: VendorSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    settings = settings or VendorSettings()
    runtime_box: dict[str, ServiceRuntime] = {}
    handlers = Handlers(lambda: runtime_box["runtime"].outbox, clock, settings.blacklist_default_months)

    async def on_start(runtime: ServiceRuntime) -> None:
        runtime_box["runtime"] = runtime
        runtime.tasks.append(
            asyncio.create_task(
                run_periodically(runtime.sessions, runtime.outbox, clock, settings.sweep_interval_s),
                name="vendor-expiry-sweep",
            )
        )

    app = build_service_app(
        settings,
        title="Vendor qualification service",
        description=(
            f"{summary}\n\n"
            "The vendor register (SIKaP): registration, verification, qualification, ratings "
            "and the blacklist."
        ),
        version="0.1.0",
        migrations=Path(__file__).parent / "migrations",
        metadata=metadata,
        tables=messaging,
        routers=[
            public.router,
            records.router,
            files.router,
            verification.router,
            qualification.router,
            blacklist.router,
            jobs.router,
        ],
        consumers=consumer_specs(handlers, settings.consumer_group),
        on_start=on_start,
    )
    app.state.clock = clock
    app.state.documents = DocumentStore(
        settings.storage_dir, max_bytes=settings.max_upload_bytes, allowed=settings.allowed_content_types
    )
    return app
