"""ASGI entry point: `uvicorn --factory eproc_audit.main:create_app`."""

from pathlib import Path

from fastapi import FastAPI

from eproc_audit import __doc__ as summary
from eproc_audit.models import messaging, metadata
from eproc_audit.settings import AuditSettings
from eproc_shared.service_app import build_service_app


def create_app(settings: AuditSettings | None = None) -> FastAPI:
    return build_service_app(
        settings or AuditSettings(),
        title="Audit service",
        description=(
            f"{summary}\n\nTamper-evident log of every event, e-Audit, red flags, governance indicators and OCDS."
        ),
        version="0.1.0",
        migrations=Path(__file__).parent / "migrations",
        metadata=metadata,
        tables=messaging,
    )
