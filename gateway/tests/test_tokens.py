"""Token lifecycle: sign-in, refresh rotation, reuse detection, logout, and every kind of bad token.

The bad-token cases run against the built-in issuer and against an outside OpenID Connect issuer
(a locally generated RSA key served as a JWKS, with Keycloak-shaped claims), at the gateway and
at a service reached around the gateway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from fastapi import FastAPI
from gw_test_support import Clock, Server, Stack, is_problem
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select

from eproc_gateway.models import refresh_tokens
from eproc_shared.auth import AuthSettings


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/auth/token", data={"grant_type": "refresh_token", "refresh_token": token})


async def test_sign_in_refresh_rotation_and_logout_sqlite(make_stack: Any) -> None:
    await _lifecycle(await make_stack())


@pytest.mark.postgres
async def test_sign_in_refresh_rotation_and_logout_postgres(make_stack: Any, postgres_url: str) -> None:
    await _lifecycle(await make_stack(database_url=postgres_url))


async def _lifecycle(stack: Stack) -> None:
    client = stack.client
    first = await stack.sign_in("ppk")
    assert first["token_type"] == "Bearer"
    assert first["expires_in"] == stack.settings.access_token_ttl_s
    claims = claims_of(first["access_token"])
    assert claims["roles"] == ["ppk"]
    assert claims["opd_id"] == "dev-opd"
    assert claims["aud"] == "eproc"
    assert header_of(first["access_token"])["alg"] == "EdDSA"
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert me.status_code == 200
    assert me.json()["roles"] == ["ppk"]

    # Refresh rotates: a new pair, and the refresh token is stored only as a hash.
    second = (
        await client.post("/auth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    async with stack.app.state.sessions() as db:
        hashes = (await db.execute(select(refresh_tokens.c.token_hash))).scalars().all()
    assert first["refresh_token"] not in hashes
    assert all(len(h) == 64 for h in hashes)
    secret_part = first["refresh_token"].split(".", 1)[1]
    assert not any(secret_part in h for h in hashes)

    # Reusing the used refresh token revokes the whole session: the newer refresh token and
    # the session's access tokens stop working too.
    reuse = await client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert is_problem(reuse, 401)
    assert "www-authenticate" in reuse.headers
    after = await client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    )
    assert is_problem(after, 401)
    revoked = await client.get("/auth/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert is_problem(revoked, 401)

    # Logout revokes: refresh fails and the access token is refused at the gateway.
    third = await stack.sign_in("ppk")
    assert (await client.post("/auth/logout", json={"refresh_token": third["refresh_token"]})).status_code == 204
    assert is_problem(await refresh(client, third["refresh_token"]), 401)
    assert is_problem(await client.get("/auth/me", headers={"Authorization": f"Bearer {third['access_token']}"}), 401)
    # A garbage refresh token is 401 as well, never 500.
    assert is_problem(await refresh(client, "nope.nope"), 401)


async def test_wrong_password_is_401_and_sign_in_is_limited_per_account_and_ip(make_stack: Any, clock: Clock) -> None:
    stack = await make_stack(login_attempts_per_account=3, login_attempts_per_ip=5, login_window_s=60)
    client, account = stack.client, stack.credentials["pokja"]
    for _ in range(3):
        wrong = await client.post("/auth/token", data={"username": account["username"], "password": "wrong-password"})
        assert is_problem(wrong, 401)
        assert "wrong-password" not in wrong.text
    # The account is now locked for a while, even with the right password.
    locked = await client.post("/auth/token", data={"username": account["username"], "password": account["password"]})
    assert is_problem(locked, 429)
    assert int(locked.headers["retry-after"]) >= 1
    # Unknown usernames from the same address run into the per-IP limit.
    for i in range(2):
        assert is_problem(await client.post("/auth/token", data={"username": f"ghost{i}", "password": "x"}), 401)
    assert is_problem(await client.post("/auth/token", data={"username": "ghost9", "password": "x"}), 429)
    clock.advance(61)
    ok = await client.post("/auth/token", data={"username": account["username"], "password": account["password"]})
    assert ok.status_code == 200


# Bad tokens against both kinds of issuer ------------------------------------------------------


@dataclass
class Issuer:
    stack: Stack
    mint: Any  # (claims overrides) -> a valid token
    kid: str
    alg: str


def _outside_jwks_app(key: rsa.RSAPrivateKey, kid: str) -> FastAPI:
    app = FastAPI()
    jwk = {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "alg": "RS256", "use": "sig"}

    @app.get("/realms/eproc/protocol/openid-connect/certs")
    async def certs() -> dict[str, Any]:
        return {"keys": [jwk]}

    return app


@pytest.fixture(params=["builtin", "oidc"])
async def issuer(request: pytest.FixtureRequest, make_stack: Any, clock: Clock) -> Any:
    if request.param == "builtin":
        stack = await make_stack()
        token = await stack.token("ppk")
        header = header_of(token)

        def mint_builtin(**overrides: Any) -> str:
            claims = {**claims_of(token), **overrides}
            return stack.app.state.keyring.sign(claims)

        yield Issuer(stack, mint_builtin, header["kid"], header["alg"])
        return
    # An outside OpenID Connect provider (Keycloak-shaped), with its own locally generated RSA key.
    key = rsa.generate_private_key(65537, 2048)
    kid = "outside-key-1"
    outside = await Server(_outside_jwks_app(key, kid)).start()
    issuer_url = f"{outside.url}/realms/eproc"
    jwks_url = f"{issuer_url}/protocol/openid-connect/certs"
    auth = {"issuer": issuer_url, "jwks_url": jwks_url, "roles_claim": "realm_access.roles"}
    stack = await make_stack(
        identity_mode="oidc",
        dev_seed=False,
        auth=AuthSettings(audience="eproc", **auth),
        service_auth=auth,
    )

    def mint_outside(**overrides: Any) -> str:
        now = int(clock.now().timestamp())
        claims = {
            "iss": issuer_url,
            "aud": ["eproc", "account"],
            "sub": str(uuid.uuid4()),
            "iat": now,
            "exp": now + 300,
            "preferred_username": "ppk.kota",
            "realm_access": {"roles": ["ppk", "offline_access", "uma_authorization"]},
            "opd_id": "dev-opd",
            "scope": "openid profile",
            **overrides,
        }
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    try:
        yield Issuer(stack, mint_outside, kid, "RS256")
    finally:
        await outside.stop()


async def _refused_everywhere(stack: Stack, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    at_gateway = await stack.client.get("/api/tender/whoami", headers=headers)
    assert is_problem(at_gateway, 401), at_gateway.text
    assert at_gateway.headers["www-authenticate"].startswith("Bearer")
    async with httpx.AsyncClient() as direct:  # around the gateway: the service checks too
        at_service = await direct.get(f"http://127.0.0.1:{stack.upstream_port['tender']}/whoami", headers=headers)
    assert is_problem(at_service, 401), at_service.text


async def test_a_valid_token_is_accepted_at_gateway_and_service(issuer: Issuer) -> None:
    headers = {"Authorization": f"Bearer {issuer.mint()}"}
    through = await issuer.stack.client.get("/api/tender/whoami", headers=headers)
    assert through.status_code == 200, through.text
    assert through.json()["roles"] == ["ppk"]
    assert through.json()["opd_id"] == "dev-opd"
    async with httpx.AsyncClient() as direct:
        response = await direct.get(f"http://127.0.0.1:{issuer.stack.upstream_port['tender']}/whoami", headers=headers)
    assert response.status_code == 200
    assert response.json()["roles"] == ["ppk"]


async def test_expired_token_is_401(issuer: Issuer, clock: Clock) -> None:
    token = issuer.mint()
    clock.advance(claims_of(token)["exp"] - clock.now().timestamp() + 31)  # past exp and the 30 s leeway
    await _refused_everywhere(issuer.stack, token)


async def test_token_signed_with_another_key_is_401(issuer: Issuer) -> None:
    claims = claims_of(issuer.mint())
    if issuer.alg == "EdDSA":
        forged = jwt.encode(
            claims, ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": issuer.kid}
        )
    else:
        forged = jwt.encode(
            claims, rsa.generate_private_key(65537, 2048), algorithm="RS256", headers={"kid": issuer.kid}
        )
    await _refused_everywhere(issuer.stack, forged)
    # ... and with a key id nobody publishes
    unknown = jwt.encode(claims, ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "nobody"})
    await _refused_everywhere(issuer.stack, unknown)


async def test_alg_none_is_401(issuer: Issuer) -> None:
    claims = {**claims_of(issuer.mint()), "realm_access": {"roles": ["admin"]}, "roles": ["admin"]}
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": issuer.kid}).encode())
    payload = b64(json.dumps(claims).encode())
    await _refused_everywhere(issuer.stack, f"{header}.{payload}.")


async def test_hmac_signed_with_the_public_key_is_401(issuer: Issuer) -> None:
    """Algorithm confusion: HS256 keyed with the issuer's public JWK must not verify."""
    async with httpx.AsyncClient() as client:
        jwks_url = issuer.stack.settings.auth.jwks_url
        if issuer.stack.settings.identity_mode == "builtin":
            jwks_url = f"{issuer.stack.url}/.well-known/jwks.json"
        public = (await client.get(jwks_url)).json()["keys"][0]
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}).encode())
    payload = b64(json.dumps(claims_of(issuer.mint())).encode())
    signature = hmac.new(json.dumps(public).encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    await _refused_everywhere(issuer.stack, f"{header}.{payload}.{b64(signature)}")


async def test_tampered_claims_are_401(issuer: Issuer) -> None:
    header, payload, signature = issuer.mint().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    claims["realm_access"] = {"roles": ["admin"]}
    tampered = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    await _refused_everywhere(issuer.stack, tampered)


async def test_wrong_audience_and_untrusted_issuer_are_401(issuer: Issuer) -> None:
    await _refused_everywhere(issuer.stack, issuer.mint(aud="someone-else"))
    await _refused_everywhere(issuer.stack, issuer.mint(iss="https://evil.example/realms/eproc"))


async def test_malformed_and_missing_tokens(issuer: Issuer) -> None:
    await _refused_everywhere(issuer.stack, "not-a-jwt")
    missing = await issuer.stack.client.get("/api/tender/whoami")
    assert is_problem(missing, 401)
    async with httpx.AsyncClient() as direct:
        response = await direct.get(f"http://127.0.0.1:{issuer.stack.upstream_port['tender']}/whoami")
    assert is_problem(response, 401)


async def test_oidc_mode_turns_off_password_sign_in(make_stack: Any) -> None:
    stack = await make_stack(identity_mode="oidc", dev_seed=False)
    response = await stack.client.post("/auth/token", data={"username": "a", "password": "b"})
    assert is_problem(response, 404)
    assert stack.settings.issuer == "urn:eproc:gateway"


# Key rotation ---------------------------------------------------------------------------------


async def test_signing_key_rotation_keeps_old_tokens_valid_until_they_expire(make_stack: Any, clock: Clock) -> None:
    stack = await make_stack()
    client = stack.client
    admin = await stack.as_role("admin")
    old_token = await stack.token("ppk")
    old_kid = header_of(old_token)["kid"]

    rotated = await client.post("/admin/signing-keys/rotate", headers=admin)
    assert rotated.status_code == 201, rotated.text
    new_kid = rotated.json()["kid"]
    kids = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert kids == {old_kid, new_kid}  # published before it signs

    clock.advance(61)  # the new key now signs
    new_token = (await stack.sign_in("pokja"))["access_token"]
    assert header_of(new_token)["kid"] == new_kid
    for token in (old_token, new_token):  # the service fetches the new key when it meets its kid
        response = await client.get("/api/tender/whoami", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text

    clock.advance(stack.settings.access_token_ttl_s + 31)  # every token of the old key has expired
    kids = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert kids == {new_kid}


async def test_jwks_has_etag_and_cache_control(make_stack: Any) -> None:
    stack = await make_stack(services=())
    first = await stack.client.get("/.well-known/jwks.json")
    assert first.status_code == 200
    assert "max-age" in first.headers["cache-control"]
    again = await stack.client.get("/.well-known/jwks.json", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
