"""The edge check every request passes before any route runs: who is calling, how often, and may it.

Pure ASGI (no BaseHTTPMiddleware), so request and response bodies stream through untouched.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from eproc_gateway.access import ACCESS_TABLE, Rule, decide
from eproc_gateway.identity import IdentityStore
from eproc_gateway.ratelimit import RateLimiter
from eproc_gateway.settings import GatewaySettings
from eproc_shared.auth import AuthError, Principal, TokenVerifier, bearer_token
from eproc_shared.problems import ProblemError, problem_response

log = logging.getLogger(__name__)
API_KEY_HEADER = "x-api-key"
UNLIMITED_PREFIXES = ("/health/", "/metrics")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class Limiters:
    user: RateLimiter
    api_key: RateLimiter
    anonymous: RateLimiter
    login_account: RateLimiter
    login_ip: RateLimiter

    @classmethod
    def from_settings(cls, settings: GatewaySettings, clock: Callable[[], float] = time.monotonic) -> Limiters:
        def make(limit: int, window: float) -> RateLimiter:
            return RateLimiter(limit, window, max_keys=settings.rate_limit_max_keys, clock=clock)

        return cls(
            user=make(settings.rate_limit_user_per_min, 60),
            api_key=make(settings.rate_limit_api_key_per_min, 60),
            anonymous=make(settings.rate_limit_anonymous_per_min, 60),
            login_account=make(settings.login_attempts_per_account, settings.login_window_s),
            login_ip=make(settings.login_attempts_per_ip, settings.login_window_s),
        )


class ClientAddress:
    """The caller's IP: the peer, or, behind trusted proxies, the last untrusted X-Forwarded-For hop."""

    def __init__(self, trusted: list[str]) -> None:
        self.trusted: list[Network] = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def of(self, scope: Scope) -> str:
        peer = scope["client"][0] if scope.get("client") else "unknown"
        if not self.trusted or not self.is_trusted(peer):
            return peer
        forwarded = _header(scope, b"x-forwarded-for")
        if not forwarded:
            return peer
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop
        return hops[0] if hops else peer


def internal_peer(scope: Scope) -> bool:
    """Reached from the cluster network directly, not through the load balancer."""
    if _header(scope, b"x-forwarded-for") is not None:
        return False
    peer = scope["client"][0] if scope.get("client") else ""
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: GatewaySettings,
        verifier: TokenVerifier,
        store: IdentityStore,
        limiters: Limiters,
        table: tuple[Rule, ...] = ACCESS_TABLE,
    ) -> None:
        self.app = app
        self.settings = settings
        self.verifier = verifier
        self.store = store
        self.limiters = limiters
        self.table = table
        self.address = ClientAddress(settings.trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        client_ip = self.address.of(scope)
        state = scope.setdefault("state", {})
        state["client_ip"] = client_ip
        principal: Principal | None = None
        try:
            principal = await self.authenticate(scope)
        except ProblemError as exc:
            limited = self.limit(path, None, client_ip)
            if limited is not None:
                await limited(scope, receive, send)
                return
            await problem_response(
                Request(scope), exc.status, exc.title, exc.detail, slug=exc.slug, headers=exc.headers
            )(scope, receive, send)
            return
        limited = self.limit(path, principal, client_ip)
        if limited is not None:
            await limited(scope, receive, send)
            return
        decision = decide(method, path, principal, internal_peer=internal_peer(scope), table=self.table)
        if not decision.allowed:
            titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed"}
            headers = {"WWW-Authenticate": 'Bearer realm="eproc"'} if decision.status == 401 else None
            slug = {401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed"}
            await problem_response(
                Request(scope),
                decision.status,
                titles[decision.status],
                decision.detail,
                slug=slug[decision.status],
                headers=headers,
            )(scope, receive, send)
            return
        state["principal"] = principal
        state["access_rule"] = decision.rule
        await self.app(scope, receive, send)

    async def authenticate(self, scope: Scope) -> Principal | None:
        authorization = _header(scope, b"authorization")
        api_key = _header(scope, API_KEY_HEADER.encode())
        token = bearer_token(authorization)
        if token is not None:
            principal = await self.verifier.verify(token)
            if (
                principal.kind == "user"
                and principal.issuer == self.settings.issuer
                and principal.session_id
                and not await self.store.session_active(principal.session_id)
            ):
                raise AuthError("This sign-in session has ended (signed out or revoked); sign in again.")
            return principal
        if api_key:
            return await self.store.verify_api_key(api_key)
        return None

    def limit(self, path: str, principal: Principal | None, client_ip: str) -> JSONResponse | None:
        if path.startswith(UNLIMITED_PREFIXES):
            return None
        if principal is None:
            limiter, key, who = self.limiters.anonymous, f"ip:{client_ip}", "this address"
        elif principal.kind == "api_key":
            limiter, key, who = self.limiters.api_key, principal.subject, "this API key"
        else:
            limiter, key, who = self.limiters.user, f"user:{principal.subject}", "this user"
        verdict = limiter.hit(key)
        if verdict.allowed:
            return None
        return problem_response(
            None,
            429,
            "Too many requests",
            f"The request limit for {who} is reached; retry after {verdict.retry_after_header} s.",
            slug="rate-limited",
            headers={"Retry-After": verdict.retry_after_header},
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
