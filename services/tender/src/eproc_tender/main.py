"""ASGI entry point: `uvicorn --factory eproc_tender.main:create_app`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from eproc_shared.db import is_sqlite, session_factory
from eproc_shared.problems import FieldProblem, problem_response
from eproc_shared.service_app import ServiceRuntime, build_service_app
from eproc_tender import __doc__ as summary
from eproc_tender.clock import Clock
from eproc_tender.consumers import vendor_facts_consumer
from eproc_tender.domain import DomainError
from eproc_tender.flows.bid_writer import BidWriter
from eproc_tender.models import messaging, metadata
from eproc_tender.recording_import import Importer
from eproc_tender.routes import auction, bids, direct, evaluation, packages, prequalification, public, recording
from eproc_tender.scheduler import Scheduler
from eproc_tender.settings import TenderSettings
from eproc_tender.store import PackageSnapshots


def create_app(
    settings: TenderSettings | None = None, *, clock: Clock | None = None, consume_vendor_events: bool = True
) -> FastAPI:
    """``clock`` replaces the wall clock (tests move time with a ManualClock instead of sleeping).

    ``consume_vendor_events=False`` leaves out the vendor-facts consumer, for a process (a test) that feeds the
    facts another way: it then neither joins the consumer group nor waits to leave it when it stops.
    """
    settings = settings or TenderSettings()
    clock = clock or Clock()

    async def start(runtime: ServiceRuntime) -> None:
        app.state.read_sessions = session_factory(runtime.engine, readonly=True)
        scheduler = Scheduler(runtime.sessions, runtime.outbox, settings, clock)
        app.state.scheduler = scheduler
        runtime.tasks.append(asyncio.create_task(scheduler.run(), name="tender-scheduler"))
        importer = Importer(runtime.sessions, runtime.outbox, settings, clock)
        app.state.importer = importer
        runtime.tasks.append(asyncio.create_task(importer.run(), name="tender-recording-import"))
        # SQLite has one writer anyway; PostgreSQL writes several batches at once.
        writers = 1 if is_sqlite(settings.database_url) else settings.bid_writers
        app.state.bid_writer = BidWriter(runtime.sessions, runtime.outbox, writers=writers)
        app.state.package_snapshots = PackageSnapshots()
        runtime.tasks.extend(app.state.bid_writer.start())

    app = build_service_app(
        settings,
        title="Tender service",
        description=(
            f"{summary}\n\n"
            "Competitive procurement (tender and seleksi): packages, schedules and addenda, participation, "
            "clarification, sealed bids, opening, evaluation, winner, objections (sanggah) and award (SPPBJ); "
            "tender cepat (reverse auction in rounds); pengadaan and penunjukan langsung; recording (pencatatan)."
        ),
        version="0.2.0",
        migrations=Path(__file__).parent / "migrations",
        metadata=metadata,
        tables=messaging,
        # Public reads first: GET /packages/{id} must not be shadowed, and writes live on sub-paths.
        routers=[
            # Bids first: at a deadline they are nearly every request, and each route tried before costs a match.
            bids.router,
            public.router,
            public.public_alias,
            packages.public_documents,
            packages.router,
            prequalification.router,
            evaluation.router,
            direct.router,
            auction.router,
            auction.public_alias,
            recording.router,
            recording.public_alias,
        ],
        consumers=[vendor_facts_consumer(settings.consumer_group)] if consume_vendor_events else [],
        on_start=start,
    )
    app.state.clock = clock

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        errors = (
            [FieldProblem(field=exc.field, location="body", message=exc.message, code=exc.code)] if exc.field else None
        )
        title = "Not possible now" if exc.status == 409 else "Invalid request"
        return problem_response(request, exc.status, title, exc.message, slug=exc.code, errors=errors)

    return app
