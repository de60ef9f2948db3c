"""ASGI entry point: `uvicorn --factory eproc_contract.main:create_app`."""

from pathlib import Path

from fastapi import FastAPI

from eproc_contract import __doc__ as summary
from eproc_contract.models import messaging, metadata
from eproc_contract.settings import ContractSettings
from eproc_shared.service_app import build_service_app


def create_app(settings: ContractSettings | None = None) -> FastAPI:
    return build_service_app(
        settings or ContractSettings(),
        title="Contract management service",
        description=(
            f"{summary}\n\ne-Kontrak: contracts from award to handover, payments, amendments and vendor rating."
        ),
        version="0.1.0",
        migrations=Path(__file__).parent / "migrations",
        metadata=metadata,
        tables=messaging,
    )
