"""ASGI entry point: `uvicorn --factory eproc_notify.main:create_app`."""

from pathlib import Path

from fastapi import FastAPI

from eproc_notify import __doc__ as summary
from eproc_notify.models import messaging, metadata
from eproc_notify.settings import NotifySettings
from eproc_shared.service_app import build_service_app


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    return build_service_app(
        settings or NotifySettings(),
        title="Notification service",
        description=(f"{summary}\n\nEmail, signed webhooks and the in-app inbox, in Bahasa Indonesia and English."),
        version="0.1.0",
        migrations=Path(__file__).parent / "migrations",
        metadata=metadata,
        tables=messaging,
    )
