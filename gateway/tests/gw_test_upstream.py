"""A test-only service behind the gateway: built like a real service (install_conventions, eproc_shared.auth).

Used in-process by the tests, and as a subprocess (``uvicorn --factory gw_test_upstream:create_app``)
for the upload memory test. Settings come from the unprefixed AUTH_* variables like any service.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from opentelemetry import trace

from eproc_shared.auth import (
    AuthSettings,
    CurrentPrincipal,
    OptionalPrincipal,
    Role,
    TokenVerifier,
    ensure_opd,
    ensure_own_vendor,
    install_auth,
    requires,
)
from eproc_shared.logging_setup import request_id_var
from eproc_shared.service_app import install_conventions
from eproc_shared.settings import TelemetrySettings
from eproc_shared.telemetry import setup_tracing


def create_app(name: str | None = None, verifier: TokenVerifier | None = None, slow_s: float = 3.0) -> FastAPI:
    name = name or os.environ.get("TEST_UPSTREAM_NAME", "tender")
    setup_tracing(name, TelemetrySettings())
    app = FastAPI(title=f"{name} test service", version="0.0.1")
    install_conventions(app, name)
    install_auth(app, verifier or TokenVerifier(AuthSettings()))

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/echo", summary="What arrived at the service")
    @app.get("/public/echo", summary="What arrived at the service (public route)")
    async def echo(request: Request, principal: OptionalPrincipal) -> dict[str, object]:
        span = trace.get_current_span().get_span_context()
        return {
            "service": name,
            "headers": dict(request.headers),
            "request_id": request_id_var.get(),
            "trace_id": format(span.trace_id, "032x") if span.is_valid else None,
            "query": request.url.query,
            "path": request.url.path,
            "principal": principal.model_dump(mode="json") if principal else None,
        }

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, object]:
        return principal.model_dump(mode="json")

    @app.get("/packages/{opd_id}", dependencies=[requires(Role.PPK, Role.ADMIN)])
    async def package(opd_id: str, principal: CurrentPrincipal) -> dict[str, str]:
        ensure_opd(principal, opd_id)
        return {"opd_id": opd_id}

    @app.get("/bids/{vendor_id}")
    async def bid(vendor_id: str, principal: CurrentPrincipal) -> dict[str, str]:
        ensure_own_vendor(principal, vendor_id, what="bid")
        return {"vendor_id": vendor_id}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, object]:
        digest, size = hashlib.sha256(), 0
        async for chunk in request.stream():
            digest.update(chunk)
            size += len(chunk)
        return {"size": size, "sha256": digest.hexdigest()}

    @app.get("/download/{megabytes}")
    async def download(megabytes: int) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            chunk = b"\x5a" * 1_048_576
            for _ in range(megabytes):
                yield chunk

        return StreamingResponse(body(), media_type="application/octet-stream")

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(slow_s)
        return {"status": "late"}

    @app.get("/public/announcements", summary="Public announcements")
    async def announcements() -> list[dict[str, str]]:
        return [{"code": "PKG-1", "name": "Pembangunan jalan"}]

    @app.api_route("/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def anything(rest: str) -> dict[str, str]:
        return {"reached": name, "path": rest}

    return app
