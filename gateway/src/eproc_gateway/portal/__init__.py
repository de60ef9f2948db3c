"""The public transparency portal: server-rendered HTML pages under /portal, in Bahasa Indonesia and English,
built from the services' public read APIs (fetched server-side with the gateway's upstream client)."""

from __future__ import annotations

from fastapi import FastAPI

from eproc_gateway.portal.pages import router
from eproc_gateway.portal.upstream import PublicApi


def install_portal(app: FastAPI) -> None:
    """Mount the pages (public: ``/portal/**`` in access.ACCESS_TABLE); call after the proxy is on ``app.state``."""
    app.state.portal_api = PublicApi(app.state.proxy)
    app.include_router(router)
