"""eproc_shared.auth: what every service uses to verify tokens and enforce roles and object-level rules.

A real issuer publishes its JWKS from a uvicorn server on a free port; a real service built with
install_conventions uses the auth dependencies; time comes from an injectable clock.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi import FastAPI
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from eproc_shared.auth import (
    AuthSettings,
    CurrentPrincipal,
    KeySet,
    OptionalPrincipal,
    Principal,
    Role,
    TokenVerifier,
    ensure_opd,
    ensure_own_vendor,
    install_auth,
    require_roles,
    require_scopes,
    requires,
    vendor_filter,
)
from eproc_shared.problems import ProblemError
from eproc_shared.service_app import install_conventions

AUDIENCE = "eproc"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    def __init__(self) -> None:
        self.value = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.value


class Issuer:
    """A token issuer with rotating keys, whose JWKS a real HTTP server publishes."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[Any, str]] = {}
        self.fetches = 0
        self.available = True
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.active = self.add_key(ed25519.Ed25519PrivateKey.generate(), "EdDSA")

    def add_key(self, key: Any, alg: str) -> str:
        kid = f"k{len(self.keys) + 1}-{uuid.uuid4().hex[:6]}"
        self.keys[kid] = (key, alg)
        return kid

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid, (key, alg) in self.keys.items():
            converter = {"EdDSA": OKPAlgorithm, "RS256": RSAAlgorithm, "ES256": ECAlgorithm}[alg]
            out.append({**converter.to_jwk(key.public_key(), as_dict=True), "kid": kid, "alg": alg, "use": "sig"})
        return {"keys": out}

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/jwks")
        async def jwks() -> Any:
            self.fetches += 1
            if not self.available:
                raise ProblemError(503, "down")
            return self.jwks()

        return app

    def token(self, now: datetime, kid: str | None = None, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        kid = kid or self.active
        key, alg = self.keys[kid]
        body = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "user-1",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=15)).timestamp()),
            "roles": ["ppk"],
            "opd_id": "dinkes",
            "preferred_username": "ppk.dinkes",
            **claims,
        }
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid, **(headers or {})})


async def _serve(app: FastAPI, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task


@pytest.fixture
async def issuer() -> AsyncIterator[Issuer]:
    issuer = Issuer()
    server, task = await _serve(issuer.app(), issuer.port)
    try:
        yield issuer
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def verifier(issuer: Issuer, clock: Clock) -> AsyncIterator[TokenVerifier]:
    settings = AuthSettings(issuer=issuer.url, audience=AUDIENCE, jwks_url=f"{issuer.url}/jwks", jwks_min_refresh_s=0)
    verifier = TokenVerifier(settings, clock=clock)
    try:
        yield verifier
    finally:
        await verifier.aclose()


async def _rejected(verifier: TokenVerifier, token: str, status: int = 401) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        await verifier.verify(token)
    assert caught.value.status == status
    if status == 401:
        assert caught.value.headers is not None
        assert caught.value.headers["WWW-Authenticate"].startswith('Bearer realm="eproc"')
    return caught.value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def test_a_valid_token_becomes_a_principal(issuer: Issuer, verifier: TokenVerifier, clock: Clock) -> None:
    principal = await verifier.verify(issuer.token(clock(), roles=["ppk", "not-a-platform-role"], sid="s1", jti="j1"))
    assert principal.subject == "user-1"
    assert principal.kind == "user"
    assert principal.roles == frozenset({"ppk"})  # unknown roles mean nothing here
    assert principal.opd_id == "dinkes"
    assert principal.username == "ppk.dinkes"
    assert principal.session_id == "s1"
    assert principal.token_id == "j1"
    assert principal.issuer == issuer.url


async def test_time_claims_follow_the_injected_clock(issuer: Issuer, verifier: TokenVerifier, clock: Clock) -> None:
    token = issuer.token(clock())
    clock.value += timedelta(minutes=15, seconds=29)  # within the 30 s leeway
    await verifier.verify(token)
    clock.value += timedelta(seconds=2)
    assert "expired" in (await _rejected(verifier, token)).detail  # type: ignore[operator]
    future = issuer.token(clock() + timedelta(minutes=5))  # issued "in 5 minutes"
    await _rejected(verifier, future)
    not_before = issuer.token(clock(), nbf=int((clock() + timedelta(minutes=2)).timestamp()))
    await _rejected(verifier, not_before)


async def test_forged_tokens_are_rejected(issuer: Issuer, verifier: TokenVerifier, clock: Clock) -> None:
    now = clock()
    good = issuer.token(now)
    await verifier.verify(good)
    # Signed with a key the issuer does not publish, under a published kid.
    stranger = jwt.encode(
        jwt.decode(good, options={"verify_signature": False}),
        ed25519.Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": issuer.active},
    )
    await _rejected(verifier, stranger)
    # alg: none
    header = _b64(json.dumps({"alg": "none", "kid": issuer.active}).encode())
    payload = good.split(".")[1]
    await _rejected(verifier, f"{header}.{payload}.")
    # HS256 keyed with the public JWK (algorithm confusion)
    header = _b64(json.dumps({"alg": "HS256", "kid": issuer.active}).encode())
    await _rejected(verifier, f"{header}.{payload}.{_b64(b'x' * 32)}")
    # Tampered claims keep the old signature.
    claims = jwt.decode(good, options={"verify_signature": False}) | {"roles": ["admin"]}
    h, _, s = good.split(".")
    await _rejected(verifier, f"{h}.{_b64(json.dumps(claims).encode())}.{s}")
    # Wrong audience, unknown issuer, missing sub, garbage.
    await _rejected(verifier, issuer.token(now, aud="other"))
    await _rejected(verifier, issuer.token(now, iss="https://evil.example"))
    await _rejected(verifier, _without(issuer, now, "sub"))
    await _rejected(verifier, "not.a.jwt")


def _without(issuer: Issuer, now: datetime, claim: str) -> str:
    key, alg = issuer.keys[issuer.active]
    body = jwt.decode(issuer.token(now), options={"verify_signature": False})
    body.pop(claim)
    return jwt.encode(body, key, algorithm=alg, headers={"kid": issuer.active})


async def test_an_rsa_key_cannot_sign_as_ec_and_algorithms_must_match(
    issuer: Issuer, verifier: TokenVerifier, clock: Clock
) -> None:
    rsa_kid = issuer.add_key(rsa.generate_private_key(65537, 2048), "RS256")
    ec_kid = issuer.add_key(ec.generate_private_key(ec.SECP256R1()), "ES256")
    assert (await verifier.verify(issuer.token(clock(), kid=rsa_kid))).subject == "user-1"
    assert (await verifier.verify(issuer.token(clock(), kid=ec_kid))).subject == "user-1"
    # PS256 made with the RSA key, but the JWKS pins RS256 for it.
    key, _ = issuer.keys[rsa_kid]
    body = jwt.decode(issuer.token(clock()), options={"verify_signature": False})
    await _rejected(verifier, jwt.encode(body, key, algorithm="PS256", headers={"kid": rsa_kid}))
    # An EdDSA-labelled token pointing at the RSA key.
    header = _b64(json.dumps({"alg": "EdDSA", "kid": rsa_kid}).encode())
    await _rejected(verifier, f"{header}.{issuer.token(clock()).split('.', 1)[1]}")


async def test_rotation_unknown_kid_refetches_and_outage_keeps_cached_keys(
    issuer: Issuer, verifier: TokenVerifier, clock: Clock
) -> None:
    await verifier.verify(issuer.token(clock()))
    fetches = issuer.fetches
    await verifier.verify(issuer.token(clock()))
    assert issuer.fetches == fetches  # cached
    issuer.active = issuer.add_key(ed25519.Ed25519PrivateKey.generate(), "EdDSA")
    await verifier.verify(issuer.token(clock()))  # new kid: fetched once more
    assert issuer.fetches == fetches + 1
    issuer.available = False
    await verifier.verify(issuer.token(clock()))  # known keys keep working during an issuer outage
    await _rejected(verifier, issuer.token(clock(), kid=issuer.add_key(ed25519.Ed25519PrivateKey.generate(), "EdDSA")))


async def test_unreachable_jwks_without_cached_keys_is_503(issuer: Issuer, clock: Clock) -> None:
    settings = AuthSettings(issuer=issuer.url, audience=AUDIENCE, jwks_url=f"http://127.0.0.1:{_free_port()}/jwks")
    verifier = TokenVerifier(settings, clock=clock)
    try:
        await _rejected(verifier, issuer.token(clock()), status=503)
    finally:
        await verifier.aclose()


async def test_keycloak_shaped_claims_and_extra_issuers(issuer: Issuer, clock: Clock) -> None:
    other = ed25519.Ed25519PrivateKey.generate()

    async def gateway_keys() -> dict[str, Any]:
        return {"keys": [{**OKPAlgorithm.to_jwk(other.public_key(), as_dict=True), "kid": "gw", "alg": "EdDSA"}]}

    settings = AuthSettings(
        issuer=issuer.url,
        audience=AUDIENCE,
        jwks_url=f"{issuer.url}/jwks",
        roles_claim="realm_access.roles",
        opd_claim="attributes.opd",
    )
    verifier = TokenVerifier(settings, clock=clock, key_sets={"urn:eproc:gateway": KeySet(gateway_keys)})
    try:
        token = issuer.token(
            clock(),
            roles=None,
            opd_id=None,
            aud=["account", AUDIENCE],
            realm_access={"roles": ["pokja", "offline_access"]},
            attributes={"opd": "dishub"},
            scope="openid profile",
        )
        principal = await verifier.verify(token)
        assert principal.roles == frozenset({"pokja"})
        assert principal.opd_id == "dishub"
        assert principal.scopes == frozenset({"openid", "profile"})
        now = int(clock().timestamp())
        api_call = jwt.encode(
            {
                "iss": "urn:eproc:gateway",
                "aud": AUDIENCE,
                "sub": "apikey:1",
                "iat": now,
                "exp": now + 60,
                "kind": "api_key",
                "scope": "public:read",
            },
            other,
            algorithm="EdDSA",
            headers={"kid": "gw"},
        )
        key_principal = await verifier.verify(api_call)
        assert key_principal.kind == "api_key"
        assert key_principal.has_scope("public:read")
        assert not key_principal.roles
    finally:
        await verifier.aclose()


def _principal(**kwargs: Any) -> Principal:
    return Principal(subject="u", **kwargs)


def test_object_level_rules() -> None:
    ppk = _principal(roles=frozenset({"ppk"}), opd_id="dinkes")
    ensure_opd(ppk, "dinkes")
    with pytest.raises(ProblemError) as other_opd:
        ensure_opd(ppk, "dishub")
    assert other_opd.value.status == 403
    ensure_opd(_principal(roles=frozenset({"admin"})), "dishub")
    with pytest.raises(ProblemError):
        ensure_opd(_principal(roles=frozenset({"verifier"}), opd_id="dinkes"), "dinkes")
    with pytest.raises(ProblemError):
        ensure_opd(_principal(roles=frozenset({"ppk"})), None)  # an official without OPD acts nowhere

    vendor = _principal(roles=frozenset({"vendor"}), vendor_id="v1")
    ensure_own_vendor(vendor, "v1")
    with pytest.raises(ProblemError) as foreign:
        ensure_own_vendor(vendor, "v2", what="bid")
    assert foreign.value.status == 404  # another vendor's bid does not even exist for this vendor
    assert vendor_filter(vendor) == "v1"
    assert vendor_filter(ppk) is None
    with pytest.raises(ProblemError):
        vendor_filter(_principal(roles=frozenset({"vendor"})))
    with pytest.raises(ValueError, match="unknown roles"):
        require_roles("superuser")


async def test_dependencies_in_a_real_service(issuer: Issuer, verifier: TokenVerifier, clock: Clock) -> None:
    app = FastAPI()
    install_conventions(app, "authtest")
    install_auth(app, verifier)

    @app.get("/open")
    async def open_route(principal: OptionalPrincipal) -> dict[str, Any]:
        return {"who": principal.subject if principal else None}

    @app.get("/mine")
    async def mine(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"roles": sorted(principal.roles)}

    @app.post("/packages", dependencies=[requires(Role.PPK, Role.ADMIN)])
    async def create(principal: CurrentPrincipal) -> dict[str, Any]:
        ensure_opd(principal, "dinkes")
        return {"ok": True}

    from fastapi import Depends

    @app.get("/feed", dependencies=[Depends(require_scopes("public:read"))])
    async def feed() -> dict[str, Any]:
        return {"ok": True}

    port = _free_port()
    server, task = await _serve(app, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            def bearer(token: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {token}"}

            assert (await client.get("/open")).json() == {"who": None}
            bad = await client.get("/open", headers=bearer("garbage"))
            assert bad.status_code == 401  # a token that is sent must be valid
            assert bad.headers["content-type"] == "application/problem+json"
            missing = await client.get("/mine")
            assert missing.status_code == 401
            assert missing.headers["www-authenticate"] == 'Bearer realm="eproc"'
            basic = await client.get("/mine", headers={"Authorization": "Basic dXNlcjpwYXNz"})
            assert basic.status_code == 401
            assert (await client.get("/mine", headers=bearer(issuer.token(clock())))).json() == {"roles": ["ppk"]}
            assert (await client.post("/packages", headers=bearer(issuer.token(clock())))).status_code == 200
            other_opd = await client.post("/packages", headers=bearer(issuer.token(clock(), opd_id="dishub")))
            assert other_opd.status_code == 403
            vendor = await client.post("/packages", headers=bearer(issuer.token(clock(), roles=["vendor"])))
            assert vendor.status_code == 403
            assert vendor.json()["title"] == "Forbidden"
            no_scope = issuer.token(clock(), kind="api_key", roles=[], scope="other:read")
            assert (await client.get("/feed", headers=bearer(no_scope))).status_code == 403
            scoped = issuer.token(clock(), kind="api_key", roles=[], scope="public:read")
            assert (await client.get("/feed", headers=bearer(scoped))).status_code == 200
            assert (await client.get("/feed", headers=bearer(issuer.token(clock())))).status_code == 200
    finally:
        server.should_exit = True
        await task


async def test_a_verified_token_is_remembered_but_its_times_are_checked_on_every_use(
    issuer: Issuer, verifier: TokenVerifier, clock: Clock
) -> None:
    token = issuer.token(clock())
    assert (await verifier.verify(token)).subject == "user-1"
    # The issuer stops publishing every key: a new signature check would fail from here on.
    issuer.keys.clear()
    verifier.key_sets[issuer.url]._keys.clear()  # and the key set forgets what it fetched
    clock.value += timedelta(seconds=30)
    assert (await verifier.verify(token)).subject == "user-1", "remembered: no signature check within a minute"
    clock.value += timedelta(seconds=31)
    await _rejected(verifier, token)  # checked again after a minute: the key is gone
    # A remembered token still expires by the clock, to the second.
    fresh = TokenVerifier(verifier.settings, clock=clock, key_sets=verifier.key_sets)
    issuer.active = issuer.add_key(ed25519.Ed25519PrivateKey.generate(), "EdDSA")
    late = issuer.token(clock())
    assert (await fresh.verify(late)).subject == "user-1"
    clock.value += timedelta(minutes=15, seconds=31)  # beyond exp plus the 30 s leeway
    assert "expired" in (await _rejected(fresh, late)).detail  # type: ignore[operator]
