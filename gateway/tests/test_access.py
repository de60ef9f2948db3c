"""Who may call what: the role x route matrix, object-level rules, rate limits, public caching, CORS."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from gw_test_support import Clock, Stack, is_problem
from starlette.routing import BaseRoute, Host, Mount, Route, WebSocketRoute

from eproc_gateway.access import ACCESS_TABLE, ALL, READ, Rule, find_rule, table_markdown

USERS = ("admin", "ppk", "pokja", "pejabat_pengadaan", "verifier", "vendor", "auditor")
CALLERS = ("anonymous", *USERS, "api_key")
EVERYONE = frozenset(CALLERS)
ALL_USERS = frozenset(USERS)

# The expected matrix, written out by hand (not derived from the access table), route by route:
# who gets through. Everyone else gets 401 (anonymous) or 403 (signed in / API key).
MATRIX: list[tuple[str, str, frozenset[str]]] = [
    ("GET", "/health/live", EVERYONE),
    ("GET", "/health/ready", EVERYONE),
    ("GET", "/openapi.json", EVERYONE),
    ("GET", "/asyncapi.json", EVERYONE),
    ("GET", "/docs", EVERYONE),
    ("GET", "/docs/oauth2-redirect", EVERYONE),
    ("GET", "/.well-known/jwks.json", EVERYONE),
    ("GET", "/.well-known/openid-configuration", EVERYONE),
    ("GET", "/auth/me", ALL_USERS),
    ("GET", "/admin/users", frozenset({"admin"})),
    ("GET", "/admin/api-keys", frozenset({"admin"})),
    ("GET", "/admin/signing-keys", frozenset({"admin"})),
    ("GET", "/portal/data", EVERYONE),
    ("GET", "/portal/static/portal.css", EVERYONE),
    ("GET", "/api/tender/public/announcements", EVERYONE),
    ("GET", "/api/vendor/public/vendors/1", EVERYONE),
    ("GET", "/api/contract/public/contracts", EVERYONE),
    ("GET", "/api/audit/public/indicators", EVERYONE),
    ("GET", "/api/tender/packages", frozenset({"admin", "ppk", "pokja", "pejabat_pengadaan", "vendor", "auditor"})),
    ("POST", "/api/tender/packages", frozenset({"admin", "ppk", "pokja", "pejabat_pengadaan", "vendor"})),
    ("DELETE", "/api/tender/packages/1", frozenset({"admin", "ppk", "pokja", "pejabat_pengadaan", "vendor"})),
    ("GET", "/api/vendor/vendors", ALL_USERS),
    ("PATCH", "/api/vendor/vendors/1", frozenset({"admin", "verifier", "vendor"})),
    ("GET", "/api/contract/contracts", frozenset({"admin", "ppk", "pejabat_pengadaan", "vendor", "auditor"})),
    ("POST", "/api/contract/contracts", frozenset({"admin", "ppk", "pejabat_pengadaan", "vendor"})),
    ("GET", "/api/audit/assignments", frozenset({"admin", "auditor"})),
    ("POST", "/api/audit/assignments", frozenset({"admin"})),
    ("GET", "/api/notify/inbox", ALL_USERS),
    ("PUT", "/api/notify/inbox/1", ALL_USERS),
    ("GET", "/api/notify/webhooks", ALL_USERS),  # the public:read key may not; see the webhooks-key test
]


async def _caller_headers(stack: Stack) -> dict[str, dict[str, str]]:
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in USERS:
        headers[role] = await stack.as_role(role)
    created = await stack.client.post(
        "/admin/api-keys", json={"name": "opentender", "scopes": ["public:read"]}, headers=headers["admin"]
    )
    assert created.status_code == 201, created.text
    headers["api_key"] = {"X-API-Key": created.json()["key"]}
    return headers


async def test_role_by_route_matrix(make_stack: Any) -> None:
    stack = await make_stack()
    callers = await _caller_headers(stack)
    failures = []
    for method, path, allowed in MATRIX:
        for caller in CALLERS:
            response = await stack.client.request(
                method, path, headers=callers[caller], json={} if method != "GET" else None
            )
            if caller in allowed:
                ok = response.status_code < 400
            else:
                expected = 401 if caller == "anonymous" else 403
                ok = is_problem(response, expected)
            if not ok:
                failures.append(f"{method} {path} as {caller}: {response.status_code} {response.text[:120]}")
    assert not failures, "\n".join(failures)


async def test_unknown_routes_and_methods_are_refused(make_stack: Any) -> None:
    stack = await make_stack(services=("tender",))
    admin = await stack.as_role("admin")
    assert is_problem(await stack.client.get("/api/unknown/x", headers=admin), 404)
    assert is_problem(await stack.client.get("/nothing-here", headers=admin), 404)
    assert is_problem(await stack.client.delete("/auth/me", headers=admin), 405)
    assert is_problem(await stack.client.post("/portal/data", headers=admin), 405)  # the portal is read-only
    # The metrics endpoint answers only inside the cluster network, never through the load balancer.
    assert (await stack.client.get("/metrics")).status_code == 200
    assert is_problem(await stack.client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}), 404)


def served_routes(routes: Sequence[BaseRoute]) -> Iterator[tuple[str, frozenset[str]]]:
    """Each (path template, methods) the app answers, through included routers, mounts and hosts.

    Newer FastAPI keeps an included router as one lazy entry in ``app.routes`` (no path, no methods), so a
    walk of ``app.routes`` alone never sees the auth, admin and portal routes. ``iter_route_contexts`` (what
    FastAPI's own OpenAPI builder walks) expands them with their prefixes. A route of a kind this walk does
    not understand is reported with the method ``?`` so that it fails the test instead of being skipped.
    """
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, Mount):
            inner = context.routes
            yield from (
                ((context.path + path, methods) for path, methods in served_routes(inner))
                if inner
                else [(context.path + "/{path:path}", READ)]  # an opaque ASGI app (StaticFiles and the like)
            )
        elif isinstance(route, Host):
            yield from served_routes(context.routes)
        elif isinstance(route, WebSocketRoute | APIWebSocketRoute):
            yield context.path, frozenset({"WEBSOCKET"})
        elif isinstance(route, Route):
            # A Route around a plain ASGI app has no methods: it answers every method.
            yield context.path, frozenset(context.methods or ALL)
        else:
            yield f"{context.path} ({type(route).__name__})", frozenset({"?"})


def test_every_route_of_the_gateway_is_in_the_access_table() -> None:
    from eproc_gateway.edge import EdgeMiddleware
    from eproc_gateway.main import create_app
    from eproc_gateway.settings import GatewaySettings

    settings = GatewaySettings(environment="test", dev_seed=False, database_url="sqlite+aiosqlite:///:memory:")
    app = create_app(settings)
    (edge,) = [m for m in app.user_middleware if m.cls is EdgeMiddleware]
    assert edge.kwargs.get("table", ACCESS_TABLE) is ACCESS_TABLE, "the edge must enforce access.py's table as written"
    # Frontend (static build) routes are matched after all others and are not in ``app.routes``; the
    # gateway has none, and any would need this walk extended.
    assert not list(getattr(app.router, "_iter_low_priority_routes", list)()), "frontend routes are not checked"

    served = list(served_routes(app.routes))
    paths = {path for path, _ in served}
    # The walk reaches into every included router; without it this test would pass while checking nothing.
    assert {"/auth/token", "/admin/users/{user_id}", "/portal/pengumuman/{package_id}", "/health/live"} <= paths
    missing = []
    for path, methods in served:
        if "WEBSOCKET" in methods:
            missing.append(f"WEBSOCKET {path} (the edge checks HTTP only)")
            continue
        expanded = [path]
        if path.startswith("/api/{service}/"):
            expanded = [path.replace("{service}", service) for service in settings.upstreams]
        for each in expanded:
            concrete = re.sub(r"\{[^}]+\}", "x", each)
            for method in sorted(methods - {"OPTIONS"}):
                if not isinstance(find_rule(method, concrete), Rule):
                    missing.append(f"{method} {each}")
    assert not missing, f"routes without an access rule: {missing}"


def test_readme_shows_the_access_table() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert table_markdown() in readme, "gateway/README.md must contain access.table_markdown() verbatim"
    assert len(ACCESS_TABLE) > 20


async def test_object_level_rules_are_enforced_by_the_service(make_stack: Any) -> None:
    stack = await make_stack(services=("tender", "contract"))
    ppk, vendor, admin = await stack.as_role("ppk"), await stack.as_role("vendor"), await stack.as_role("admin")
    own_opd = stack.credentials["ppk"]["opd_id"]
    assert (await stack.client.get(f"/api/tender/packages/{own_opd}", headers=ppk)).status_code == 200
    assert is_problem(await stack.client.get("/api/tender/packages/other-opd", headers=ppk), 403)
    assert (await stack.client.get("/api/tender/packages/other-opd", headers=admin)).status_code == 200
    own_vendor = stack.credentials["vendor"]["vendor_id"]
    assert (await stack.client.get(f"/api/contract/bids/{own_vendor}", headers=vendor)).status_code == 200
    assert is_problem(await stack.client.get("/api/contract/bids/another-vendor", headers=vendor), 404)


async def test_rate_limits_per_ip_user_and_api_key(make_stack: Any, clock: Clock) -> None:
    stack = await make_stack(
        services=("tender",),
        rate_limit_anonymous_per_min=3,
        rate_limit_user_per_min=4,
        rate_limit_api_key_per_min=2,
        rate_limit_max_keys=100,
    )
    client = stack.client
    admin = await stack.as_role("admin")  # sign-in was anonymous call 1
    key = (await client.post("/admin/api-keys", json={"name": "k", "scopes": ["public:read"]}, headers=admin)).json()
    url = "/api/tender/public/announcements"
    assert (await client.get(url)).status_code == 200  # anonymous 2
    assert (await client.get(url)).status_code == 200  # anonymous 3
    limited = await client.get(url)
    assert is_problem(limited, 429)
    assert 1 <= int(limited.headers["retry-after"]) <= 20
    # A signed-in user and an API key have their own budgets.
    for _ in range(3):  # admin already used one request to create the key
        assert (await client.get(url, headers=admin)).status_code == 200
    assert is_problem(await client.get(url, headers=admin), 429)
    api = {"X-API-Key": key["key"]}
    assert (await client.get(url, headers=api)).status_code == 200
    assert (await client.get(url, headers=api)).status_code == 200
    assert is_problem(await client.get(url, headers=api), 429)
    # Health probes are never limited.
    assert (await client.get("/health/live")).status_code == 200
    clock.advance(21)  # 3 per minute: one more every 20 s
    assert (await client.get(url)).status_code == 200
    assert is_problem(await client.get(url), 429)


async def test_public_reads_have_etag_and_cache_control(make_stack: Any) -> None:
    stack = await make_stack(services=("tender",), public_cache_max_age_s=120)
    first = await stack.client.get("/api/tender/public/announcements")
    assert first.status_code == 200
    assert first.json() == [{"code": "PKG-1", "name": "Pembangunan jalan"}]
    assert first.headers["cache-control"] == "public, max-age=120"
    etag = first.headers["etag"]
    again = await stack.client.get("/api/tender/public/announcements", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert again.content == b""
    # Non-public answers must not be cached by shared caches.
    private = await stack.client.get("/api/tender/packages", headers=await stack.as_role("ppk"))
    assert private.headers["cache-control"] == "private, no-store"
    assert "etag" not in private.headers


@pytest.mark.parametrize("origin", ["https://lpse.tangerangkota.go.id", "https://evil.example"])
async def test_cors_from_settings(make_stack: Any, origin: str) -> None:
    stack = await make_stack(services=("tender",), cors_origins=["https://lpse.tangerangkota.go.id"])
    preflight = await stack.client.options(
        "/api/tender/packages",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    simple = await stack.client.get("/api/tender/public/announcements", headers={"Origin": origin})
    if origin.endswith("tangerangkota.go.id"):
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        assert simple.headers["access-control-allow-origin"] == origin
    else:
        assert "access-control-allow-origin" not in preflight.headers
        assert "access-control-allow-origin" not in simple.headers


async def test_api_keys_are_scoped_hashed_exchanged_and_revocable(make_stack: Any) -> None:
    stack = await make_stack(services=("tender",))
    client, admin = stack.client, await stack.as_role("admin")
    assert is_problem(
        await client.post("/admin/api-keys", json={"name": "x", "scopes": ["everything"]}, headers=admin), 422
    )
    created = (
        await client.post("/admin/api-keys", json={"name": "monitor", "scopes": ["public:read"]}, headers=admin)
    ).json()
    secret = created["key"]
    listed = (await client.get("/admin/api-keys", headers=admin)).json()
    assert [k["prefix"] for k in listed] == [secret[:10]]
    assert all("key" not in k for k in listed)
    async with stack.app.state.sessions() as db:
        from sqlalchemy import text

        stored = " ".join(str(v) for row in (await db.execute(text("SELECT * FROM api_keys"))).all() for v in row)
    assert secret not in stored
    assert secret[10:] not in stored

    # Upstream, the key becomes a short-lived signed token the service verifies like any other.
    echo = await client.get("/api/tender/public/echo", headers={"X-API-Key": secret})
    assert echo.status_code == 200, echo.text
    seen = echo.json()
    assert "x-api-key" not in seen["headers"]
    assert seen["principal"]["kind"] == "api_key"
    assert seen["principal"]["scopes"] == ["public:read"]
    assert is_problem(await client.get("/api/tender/packages", headers={"X-API-Key": secret}), 403)
    assert is_problem(await client.get("/api/tender/public/echo", headers={"X-API-Key": "ek_forged"}), 401)

    assert (await client.delete(f"/admin/api-keys/{created['id']}", headers=admin)).status_code == 204
    assert is_problem(await client.get("/api/tender/public/echo", headers={"X-API-Key": secret}), 401)
    assert is_problem(await client.delete("/admin/api-keys/nope", headers=admin), 404)


async def test_forwarded_headers_from_untrusted_clients_are_replaced(make_stack: Any) -> None:
    stack = await make_stack(services=("tender",))
    spoofed = {"X-Forwarded-For": "10.9.9.9", "X-Forwarded-Host": "evil.example", "X-Real-IP": "10.9.9.9"}
    seen = (await stack.client.get("/api/tender/public/echo", headers=spoofed)).json()["headers"]
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-host"] == stack.url.removeprefix("http://")
    assert "x-real-ip" not in seen


async def test_trusted_proxy_forwarded_for_decides_the_rate_limited_address(make_stack: Any) -> None:
    stack = await make_stack(services=("tender",), trusted_proxies=["127.0.0.0/8"], rate_limit_anonymous_per_min=1)
    url = "/api/tender/public/announcements"
    assert (await stack.client.get(url, headers={"X-Forwarded-For": "198.51.100.1"})).status_code == 200
    assert is_problem(await stack.client.get(url, headers={"X-Forwarded-For": "198.51.100.1"}), 429)
    other = await stack.client.get(url, headers={"X-Forwarded-For": "198.51.100.2"})
    assert other.status_code == 200
    async with httpx.AsyncClient(base_url=stack.url) as client:
        seen = (await client.get("/api/tender/public/echo", headers={"X-Forwarded-For": "198.51.100.3"})).json()
    assert seen["headers"]["x-forwarded-for"] == "198.51.100.3, 127.0.0.1"


async def test_an_api_key_with_the_webhooks_scope_manages_webhooks_and_nothing_else(make_stack: Any) -> None:
    stack = await make_stack(services=("notify", "tender"))
    admin = await stack.as_role("admin")
    created = await stack.client.post(
        "/admin/api-keys", json={"name": "city-monitor", "scopes": ["webhooks:manage"]}, headers=admin
    )
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    assert (await stack.client.get("/api/notify/webhooks", headers=key)).status_code == 200
    assert (await stack.client.post("/api/notify/webhooks", json={}, headers=key)).status_code < 400
    assert is_problem(await stack.client.get("/api/notify/inbox", headers=key), 403)
    assert is_problem(await stack.client.get("/api/tender/packages", headers=key), 403)
