"""Accounts: vendor self-registration and its event, administration, dev seeding, production refusals."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from gw_test_support import Server, free_port, gateway_settings, is_problem, read_credentials
from sqlalchemy import select

from eproc_gateway.main import create_app
from eproc_gateway.models import messaging, users
from eproc_gateway.settings import GatewaySettings, ProductionConfigError


async def test_vendor_self_registration_creates_a_vendor_user_and_an_event(make_stack: Any) -> None:
    stack = await make_stack(services=("vendor",))
    body = {
        "username": "pt-maju-jaya",
        "password": "correct horse battery",
        "email": "admin@majujaya.co.id",
        "company_name": "PT Maju Jaya",
        "tax_id": "01.234.567.8-901.000",
        "contact_name": "Budi",
    }
    created = await stack.client.post("/auth/register/vendor", json=body)
    assert created.status_code == 201, created.text
    vendor_id = created.json()["vendor_id"]
    assert is_problem(await stack.client.post("/auth/register/vendor", json=body), 409)
    weak = await stack.client.post("/auth/register/vendor", json={**body, "username": "other", "password": "tiny1"})
    assert is_problem(weak, 422)
    assert "tiny1" not in weak.text

    signed_in = await stack.client.post("/auth/token", data={"username": "PT-Maju-Jaya", "password": body["password"]})
    assert signed_in.status_code == 200
    me = (
        await stack.client.get("/auth/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"})
    ).json()
    assert me["roles"] == ["vendor"]
    assert me["vendor_id"] == vendor_id

    async with stack.app.state.sessions() as db:
        rows = (await db.execute(select(messaging.outbox).where(messaging.outbox.c.key == vendor_id))).all()
        stored = (await db.execute(select(users.c.password_hash).where(users.c.username == "pt-maju-jaya"))).scalar()
    assert [r.type for r in rows] == ["identity.vendor_user_registered.v1"]
    assert rows[0].topic == "eproc.identity.internal"
    payload = json.loads(rows[0].payload)
    assert payload["company_name"] == "PT Maju Jaya"
    assert payload["user_id"] == created.json()["user_id"]
    assert body["password"] not in rows[0].payload.decode()
    assert stored.startswith("$argon2id$")


async def test_admin_manages_users_and_deactivation_ends_sessions(make_stack: Any) -> None:
    stack = await make_stack(services=("tender",))
    client, admin = stack.client, await stack.as_role("admin")
    no_opd = await client.post(
        "/admin/users",
        json={"username": "ppk.dinkes", "password": "a long password 1", "roles": ["ppk"]},
        headers=admin,
    )
    assert is_problem(no_opd, 422)
    created = await client.post(
        "/admin/users",
        json={"username": "ppk.dinkes", "password": "a long password 1", "roles": ["ppk"], "opd_id": "dinkes"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    login = await client.post("/auth/token", data={"username": "ppk.dinkes", "password": "a long password 1"})
    access = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await client.get("/api/tender/packages/dinkes", headers=access)).status_code == 200

    listed = (await client.get("/admin/users", params={"limit": 3}, headers=admin)).json()
    assert len(listed["items"]) == 3
    assert listed["next_cursor"]
    rest = (await client.get("/admin/users", params={"cursor": listed["next_cursor"]}, headers=admin)).json()
    names = [u["username"] for u in listed["items"] + rest["items"]]
    assert names == sorted(names)
    assert "ppk.dinkes" in names

    patched = await client.patch(f"/admin/users/{user_id}", json={"active": False}, headers=admin)
    assert patched.status_code == 200
    assert patched.json()["active"] is False
    assert is_problem(await client.get("/auth/me", headers=access), 401)
    again = await client.post("/auth/token", data={"username": "ppk.dinkes", "password": "a long password 1"})
    assert is_problem(again, 401)
    refreshed = await client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"]}
    )
    assert is_problem(refreshed, 401)
    async with stack.app.state.sessions() as db:
        types = (await db.execute(select(messaging.outbox.c.type).where(messaging.outbox.c.key == user_id))).scalars()
        assert list(types) == ["identity.user_created.v1", "identity.user_updated.v1"]


async def test_dev_seed_writes_private_credentials_and_keeps_them_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    settings = gateway_settings(tmp_path, port, {})
    first = await Server(create_app(settings), port).start()
    await first.stop()
    path = Path(settings.dev_credentials_file)
    accounts = read_credentials(settings)
    assert sorted(accounts) == sorted(["admin", "ppk", "pokja", "pejabat_pengadaan", "verifier", "vendor", "auditor"])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert accounts["ppk"]["opd_id"] == "dev-opd"
    assert accounts["vendor"]["vendor_id"]
    second = await Server(create_app(settings), port).start()
    try:
        assert read_credentials(settings) == accounts
        async with httpx.AsyncClient(base_url=second.url) as client:
            for role in ("vendor", "auditor"):
                account = accounts[role]
                response = await client.post(
                    "/auth/token", data={"username": account["username"], "password": account["password"]}
                )
                assert response.status_code == 200, response.text
    finally:
        await second.stop()


def _key_file(tmp_path: Path) -> str:
    path = tmp_path / "signing.pem"
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(path)


GOOD_PRODUCTION = {
    "environment": "production",
    "token_hash_key": "x" * 40,
    "password_hash_memory_kib": 19456,
    "password_hash_time_cost": 2,
}


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"dev_seed": True}, "GATEWAY_DEV_SEED"),
        ({"token_hash_key": "dev-only-token-hash-key-change-me"}, "GATEWAY_TOKEN_HASH_KEY"),
        ({"signing_key_files": []}, "GATEWAY_SIGNING_KEY_FILES"),
        ({"password_hash_memory_kib": 4096}, "argon2id"),
        ({"bootstrap_admin_password": "admin"}, "GATEWAY_BOOTSTRAP_ADMIN_PASSWORD"),
    ],
)
def test_production_refuses_dev_seeding_and_default_secrets(
    tmp_path: Path, override: dict[str, Any], complaint: str
) -> None:
    values = {**GOOD_PRODUCTION, "signing_key_files": [_key_file(tmp_path)], **override}
    with pytest.raises(ProductionConfigError, match=complaint):
        create_app(GatewaySettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/g.db", **values))


async def test_production_starts_with_keys_from_files(tmp_path: Path) -> None:
    port = free_port()
    key_file = _key_file(tmp_path)
    settings = GatewaySettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/g.db",
        port=port,
        upstreams={},
        signing_key_files=[key_file],
        bootstrap_admin_username="lpse-admin",
        bootstrap_admin_password="a very long bootstrap password",
        dev_credentials_file=str(tmp_path / "dev-credentials.json"),
        **GOOD_PRODUCTION,
    )
    assert settings.dev_seed is False  # off by default outside development
    server = await Server(create_app(settings), port).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
            assert len(keys) == 1
            assert keys[0]["alg"] == "EdDSA"
            signed_in = await client.post(
                "/auth/token", data={"username": "lpse-admin", "password": "a very long bootstrap password"}
            )
            assert signed_in.status_code == 200
            rotate = await client.post(
                "/admin/signing-keys/rotate", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"}
            )
            assert is_problem(rotate, 409)
    finally:
        await server.stop()
    assert not (tmp_path / "dev-credentials.json").exists()
