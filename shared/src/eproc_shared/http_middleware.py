"""ASGI middleware every process uses: request ids and request metrics.

Plain ASGI rather than BaseHTTPMiddleware, so streamed bodies (bid uploads) pass untouched.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eproc_shared.logging_setup import request_id_var
from eproc_shared.metrics import HTTP_LATENCY

_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestContextMiddleware:
    """Honours a well-formed ``X-Request-ID`` (or makes one), returns it, and times the request."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _VALID_ID.match(incoming) else str(uuid.uuid4())
        token = request_id_var.set(request_id)
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("http.request_id", request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            HTTP_LATENCY.labels(self.service, scope["method"], path, str(status)).observe(time.perf_counter() - started)
            request_id_var.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def header_value(scope: dict[str, Any], name: str) -> str | None:
    return _header(scope, name.lower().encode())
