"""ASGI entry point: `uvicorn --factory eproc_vendor.main:create_app`."""

from pathlib import Path

from fastapi import FastAPI

from eproc_shared.service_app import build_service_app
from eproc_vendor import __doc__ as summary
from eproc_vendor.models import messaging, metadata
from eproc_vendor.settings import VendorSettings


def create_app(settings: VendorSettings | None = None) -> FastAPI:
    return build_service_app(
        settings or VendorSettings(),
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
    )
