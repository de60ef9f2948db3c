"""ASGI entry point: `uvicorn --factory eproc_contract.main:create_app`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from eproc_contract import __doc__ as summary
from eproc_contract.clock import Clock, system_clock
from eproc_contract.consumers import consumer_specs
from eproc_contract.domain import ContractRuleError, StateConflict
from eproc_contract.models import messaging, metadata
from eproc_contract.routes import contracts, public
from eproc_contract.settings import ContractSettings
from eproc_shared.problems import FieldProblem, problem_response
from eproc_shared.service_app import ServiceRuntime, build_service_app


def create_app(settings: ContractSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    settings = settings or ContractSettings()
    runtime_box: dict[str, ServiceRuntime] = {}

    async def on_start(runtime: ServiceRuntime) -> None:
        runtime_box["runtime"] = runtime

    app = build_service_app(
        settings,
        title="Contract management service",
        description=(
            f"{summary}\n\ne-Kontrak: contracts from award to handover, payments, amendments and vendor rating."
        ),
        version="0.1.0",
        migrations=Path(__file__).parent / "migrations",
        metadata=metadata,
        tables=messaging,
        routers=[public.router, contracts.router],
        consumers=consumer_specs(lambda: runtime_box["runtime"].outbox, clock, settings),
        on_start=on_start,
    )
    app.state.clock = clock

    @app.exception_handler(ContractRuleError)
    async def _rule(request: Request, exc: ContractRuleError) -> JSONResponse:
        conflict = isinstance(exc, StateConflict)
        errors = (
            [FieldProblem(field=exc.field, location="body", message=exc.message, code=exc.code)] if exc.field else None
        )
        return problem_response(
            request,
            409 if conflict else 422,
            "Conflict with the contract's state" if conflict else "Contract rule not met",
            exc.message,
            slug=exc.code,
            errors=errors,
        )

    return app
