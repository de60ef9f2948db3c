"""Runs a service with uvicorn on its configured host and port: ``python -m eproc_<service>``."""

from __future__ import annotations

import uvicorn

from eproc_shared.settings import ServiceSettings


def run(factory: str, settings: ServiceSettings) -> None:
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        access_log=False,  # the request middleware logs and measures requests
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
