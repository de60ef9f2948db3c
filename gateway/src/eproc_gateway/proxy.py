"""Forwarding of /api/<service>/... to the service, streaming bodies both ways.

One shared ``httpx.AsyncClient`` with pooled connections; per-route timeouts; a circuit breaker
per service; hop-by-hop headers dropped and ``X-Request-ID``, ``traceparent`` and
``X-Forwarded-*`` set. Public reads get ``ETag`` and ``Cache-Control``. Server-sent event streams
(``text/event-stream``) pass through chunk by chunk as the service writes them: never buffered, no
``ETag``, and no read timeout ending a stream that is quiet between events.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import httpx
from opentelemetry import propagate
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from eproc_gateway.breaker import CircuitBreaker, CircuitOpen
from eproc_gateway.edge import API_KEY_HEADER, ClientAddress
from eproc_gateway.identity import IdentityStore
from eproc_gateway.settings import GatewaySettings
from eproc_shared.auth import Principal
from eproc_shared.logging_setup import request_id_var
from eproc_shared.problems import problem_response

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Set by the gateway itself, never taken from the caller.
REPLACED_REQUEST = frozenset(
    {"host", "x-request-id", "traceparent", "tracestate", "forwarded", API_KEY_HEADER}
    | {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-real-ip"}
)
DROPPED_RESPONSE = frozenset({"server", "date", "x-request-id"})
EVENT_STREAM = "text/event-stream"
#: Answers up to this size are read whole and sent with their length, not streamed.
SMALL_BODY_BYTES = 64 * 1024


def is_event_stream(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == EVENT_STREAM


@dataclass
class Upstream:
    name: str
    base_url: str
    breaker: CircuitBreaker


class Proxy:
    def __init__(
        self,
        settings: GatewaySettings,
        clients: Sequence[httpx.AsyncClient],
        store: IdentityStore,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clients``: the connection pools requests are spread over, in turn. httpcore looks at every
        connection of a pool (a poll(2) each) on every request, so one pool of a hundred connections costs
        the gateway more CPU per request than the proxying itself; several small pools keep that short."""
        self.settings = settings
        self.clients = list(clients)
        self.client = self.clients[0]
        self._turn = itertools.cycle(self.clients)
        self.store = store
        self.address = ClientAddress(settings.trusted_proxies)
        self.upstreams = {
            name: Upstream(
                name,
                url.rstrip("/"),
                CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_open_s, clock=monotonic),
            )
            for name, url in settings.upstreams.items()
        }
        self._route_timeouts = sorted(settings.upstream_timeouts.items(), key=lambda kv: len(kv[0]), reverse=True)

    def timeout_for(self, path: str) -> httpx.Timeout:
        seconds = next(
            (t for prefix, t in self._route_timeouts if path.startswith(prefix)), self.settings.upstream_timeout_s
        )
        return httpx.Timeout(seconds, connect=self.settings.upstream_connect_timeout_s, pool=5.0)

    def request_headers(self, request: Request) -> list[tuple[str, str]]:
        connection_listed = {
            token.strip().lower() for token in request.headers.get("connection", "").split(",") if token.strip()
        }
        headers = [
            (k, v)
            for k, v in request.headers.items()
            if k not in HOP_BY_HOP and k not in REPLACED_REQUEST and k not in connection_listed
        ]
        peer = request.client.host if request.client else ""
        trusted_peer = bool(self.address.trusted) and self.address.is_trusted(peer)
        prior_for = request.headers.get("x-forwarded-for") if trusted_peer else None
        proto = (request.headers.get("x-forwarded-proto") if trusted_peer else None) or request.url.scheme
        host = (request.headers.get("x-forwarded-host") if trusted_peer else None) or request.headers.get("host", "")
        headers += [
            ("x-forwarded-for", f"{prior_for}, {peer}" if prior_for else peer),
            ("x-forwarded-proto", proto),
            ("x-forwarded-host", host),
            ("x-request-id", request_id_var.get() or ""),
        ]
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is not None and principal.kind == "api_key":
            headers = [(k, v) for k, v in headers if k != "authorization"]
            headers.append(("authorization", f"Bearer {self.store.api_key_token(principal)}"))
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # W3C traceparent of the gateway's span: one trace across the hop
        headers += list(carrier.items())
        return headers

    async def forward(self, request: Request, service: str) -> Response:
        upstream = self.upstreams.get(service)
        if upstream is None:
            return problem_response(request, 404, "Not found", f"No service named {service!r}.", slug="not-found")
        try:
            upstream.breaker.before_call()
        except CircuitOpen as exc:
            return _unavailable(request, service, exc.retry_after_header, "it failed repeatedly; not retrying yet")
        raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
        prefix = f"/api/{service}".encode()
        sub = raw_path[len(prefix) :] if raw_path.startswith(prefix) else b"/"
        url = httpx.URL(upstream.base_url + (sub.decode("latin-1") or "/"), query=request.scope["query_string"])
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        client = next(self._turn)
        outgoing = client.build_request(
            request.method,
            url,
            headers=self.request_headers(request),
            content=request.stream() if has_body else None,
            timeout=self.timeout_for(request.url.path),
        )
        try:
            response = await client.send(outgoing, stream=True)
        except ClientDisconnect:
            upstream.breaker.release()
            return Response(status_code=499)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            upstream.breaker.failure()
            return _unavailable(request, service, "5", "it cannot be reached")
        except httpx.PoolTimeout:
            upstream.breaker.release()
            return _unavailable(request, service, "2", "the gateway has no free connection to it")
        except httpx.TimeoutException:
            upstream.breaker.failure()
            return problem_response(
                request,
                504,
                "Upstream timeout",
                f"The {service} service did not answer in time; retry shortly.",
                slug="upstream-timeout",
            )
        except httpx.TransportError as exc:
            upstream.breaker.failure()
            log.warning("%s: transport error %r", service, exc)
            return problem_response(
                request, 502, "Bad gateway", f"The {service} service broke the connection.", slug="bad-gateway"
            )
        if response.status_code in (502, 503, 504):
            upstream.breaker.failure()
        else:
            upstream.breaker.success()
        if is_event_stream(response.headers.get("content-type")):
            # The headers came within the route's timeout; from here only silence beyond the stream idle limit
            # ends it. httpcore reads the timeouts from this extension when the body starts, that is after this.
            timeouts = dict(outgoing.extensions.get("timeout") or {})
            outgoing.extensions["timeout"] = {**timeouts, "read": self.settings.stream_idle_timeout_s}
        return await self._respond(request, response)

    async def _respond(self, request: Request, upstream: httpx.Response) -> Response:
        headers = {k: v for k, v in upstream.headers.items() if k not in HOP_BY_HOP and k not in DROPPED_RESPONSE}
        rule = getattr(request.state, "access_rule", None)
        is_public = rule is not None and rule.kind == "public"
        if is_event_stream(upstream.headers.get("content-type")):
            headers.setdefault("cache-control", "no-cache")
            headers["x-accel-buffering"] = "no"  # nor may an nginx ingress in front of the gateway hold it back
            if is_public:
                headers["vary"] = "Accept, Accept-Encoding, Authorization"
            return _stream(upstream, headers, ends_quietly=True)
        if "cache-control" not in headers:
            headers["cache-control"] = (
                f"public, max-age={self.settings.public_cache_max_age_s}" if is_public else "private, no-store"
            )
        if is_public:
            headers["vary"] = "Accept, Accept-Encoding, Authorization"
        if not (is_public and request.method in ("GET", "HEAD") and upstream.status_code == 200):
            declared = upstream.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) <= SMALL_BODY_BYTES:
                # A small answer (a bid receipt, a problem) is read whole: streaming it costs a task group and a
                # disconnect listener per request, which at a deadline is most of what the gateway does.
                try:
                    raw = b"".join([chunk async for chunk in upstream.aiter_raw()])
                except httpx.TransportError as exc:
                    log.warning("%s: broke off an answer: %r", upstream.url.host, exc)
                    return problem_response(
                        request, 502, "Bad gateway", "The service broke off its answer; retry.", slug="bad-gateway"
                    )
                finally:
                    await upstream.aclose()
                return Response(raw, status_code=upstream.status_code, headers=headers)
            return _stream(upstream, headers)
        etag = headers.get("etag")
        body: bytes | None = None
        if etag is None:
            declared = upstream.headers.get("content-length")
            limit = self.settings.public_etag_max_bytes
            if declared is not None and int(declared) > limit:
                return _stream(upstream, headers)
            chunks, size = [], 0
            async for chunk in upstream.aiter_raw():
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    return _stream(upstream, headers, prefix=b"".join(chunks))
            await upstream.aclose()
            body = b"".join(chunks)
            etag = '"' + base64.urlsafe_b64encode(hashlib.sha256(body).digest()[:18]).decode() + '"'
            headers["etag"] = etag
        if etag_matches(request.headers.get("if-none-match"), etag):
            await upstream.aclose()
            kept = {k: v for k, v in headers.items() if k in ("etag", "cache-control", "vary", "last-modified")}
            return Response(status_code=304, headers=kept)
        if body is None:
            return _stream(upstream, headers)
        return Response(body, status_code=200, headers=headers)


def _stream(
    upstream: httpx.Response, headers: dict[str, str], prefix: bytes = b"", *, ends_quietly: bool = False
) -> StreamingResponse:
    """The upstream body as it arrives. A broken download aborts the connection so that the client sees it
    incomplete; an event stream (``ends_quietly``) has no length to be short of, so it just ends and the
    client's EventSource reconnects with ``Last-Event-ID``."""

    async def body() -> AsyncIterator[bytes]:
        if prefix:
            yield prefix
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        except httpx.TransportError as exc:
            if not ends_quietly:
                raise
            log.info("event stream from %s ended: %r", upstream.url.host, exc)

    return StreamingResponse(
        body(), status_code=upstream.status_code, headers=headers, background=BackgroundTask(upstream.aclose)
    )


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2), as If-None-Match asks: lists and ``*`` included."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    weak = etag.removeprefix("W/")
    return any(candidate.strip().removeprefix("W/") == weak for candidate in if_none_match.split(","))


def _unavailable(request: Request, service: str, retry_after: str, why: str) -> Response:
    return problem_response(
        request,
        503,
        "Service unavailable",
        f"The {service} service is unavailable ({why}); retry after {retry_after} s.",
        slug="upstream-unavailable",
        headers={"Retry-After": retry_after},
    )
