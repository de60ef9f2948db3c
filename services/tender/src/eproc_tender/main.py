"""ASGI entry point: `uvicorn --factory eproc_tender.main:create_app`."""

from pathlib import Path

from fastapi import FastAPI

from eproc_shared.service_app import build_service_app
from eproc_tender import __doc__ as summary
from eproc_tender.models import messaging, metadata
from eproc_tender.settings import TenderSettings


def create_app(settings: TenderSettings | None = None) -> FastAPI:
    return build_service_app(
        settings or TenderSettings(),
        title="Tender service",
        description=(
            f"{summary}\n\n"
            "Competitive and direct procurement: packages, schedules, sealed bids, "
            "evaluation, objections and award; recording of non-tender, swakelola and "
            "emergency purchases."
        ),
        version="0.1.0",
        migrations=Path(__file__).parent / "migrations",
        metadata=metadata,
        tables=messaging,
    )
