"""Webhook signing secrets encrypted in the database (SQLite and PostgreSQL), with the service running for
real: plaintext rows of earlier releases get encrypted at start, nothing stored holds a secret, a value moved
to another endpoint's row does not sign, and a key rotation keeps every endpoint signing."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from notify_test_support import (
    Clock,
    Issuer,
    Mailbox,
    Publisher,
    Receiver,
    Service,
    announced,
    ensure_all_topics,
    receiving,
    running_service,
    settings_for,
    uid,
)
from sqlalchemy import insert, select, text, update

from eproc_notify.domain.secret_box import UnknownKey, key_id
from eproc_notify.domain.signing import new_secret
from eproc_notify.main import create_app
from eproc_notify.models import endpoints
from eproc_shared.auth import install_auth
from eproc_shared.db import create_engine, upgrade
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import eventually

MIGRATIONS = Path(__file__).resolve().parents[1] / "src/eproc_notify/migrations"
TYPE = "tender.announced.v1"


async def _rows(database_url: str) -> dict[str, dict[str, Any]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return {r["id"]: dict(r) for r in (await conn.execute(select(endpoints))).mappings()}
    finally:
        await engine.dispose()


async def _raw_rows(database_url: str) -> str:
    """Every endpoint row as the database renders it, all columns included."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                rows = (await conn.execute(text("SELECT t::text FROM webhook_endpoints t"))).scalars()
                return "\n".join(rows)
            return "\n".join(repr(tuple(r)) for r in await conn.execute(text("SELECT * FROM webhook_endpoints")))
    finally:
        await engine.dispose()


def _file_bytes(database_url: str) -> bytes | None:
    """The SQLite database and its write-ahead log, byte for byte (None on PostgreSQL)."""
    if not database_url.startswith("sqlite"):
        return None
    path = Path(database_url.split(":///", 1)[1])
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def _forms(secret: str) -> list[bytes]:
    body = secret.removeprefix("whsec_")
    return [secret.encode(), body.encode(), base64.b64decode(body)]


async def _execute(database_url: str, statement: Any) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(statement)
    finally:
        await engine.dispose()


async def _register(svc: Service, receiver: Receiver) -> dict[str, Any]:
    r = await svc.client.post("/webhooks", json={"url": receiver.url, "event_types": [TYPE]}, headers=svc.admin())
    assert r.status_code == 201, r.text
    receiver.secrets.append(r.json()["secret"])
    return r.json()  # type: ignore[no-any-return]


async def _verified(receiver: Receiver, message_id: str) -> list[str]:
    async def check() -> Any:
        calls = receiver.of(message_id)
        return calls[-1].verified_with if calls else None

    return await eventually(check, timeout_s=60)  # type: ignore[no-any-return]


async def _failed_delivery(svc: Service, endpoint_id: str, event_id: str) -> Any:
    async def check() -> Any:
        r = await svc.client.get(f"/webhooks/{endpoint_id}/deliveries", headers=svc.admin(), params={"limit": 100})
        return next((i for i in r.json()["items"] if i["event_id"] == event_id and i["attempts"]), None)

    return await eventually(check, timeout_s=60)


async def test_secrets_are_encrypted_at_rest_bound_to_their_endpoint_and_survive_a_key_rotation(
    database_url: str, broker: BrokerSettings, auth_env: Issuer, mailbox: Mailbox
) -> None:
    first_key, second_key = secrets.token_bytes(32), secrets.token_bytes(32)
    legacy, a, b, c = Receiver(), Receiver(), Receiver(), Receiver()
    await ensure_all_topics(broker)
    async with receiving(legacy), receiving(a), receiving(b), receiving(c), Publisher(broker) as pub:
        # A database of the release before encryption, with an endpoint mid-rotation: both secrets in plaintext.
        engine = create_engine(database_url)
        try:
            await upgrade(engine, MIGRATIONS, "0002")
        finally:
            await engine.dispose()
        now = Clock().now
        legacy_id, legacy_secret, legacy_previous = uid("ep"), new_secret(), new_secret()
        legacy.secrets += [legacy_secret, legacy_previous]
        await _execute(
            database_url,
            insert(endpoints).values(
                id=legacy_id,
                owner="admin-1",
                owner_kind="user",
                url=legacy.url,
                event_types=[TYPE],
                secret=legacy_secret,
                previous_secret=legacy_previous,
                previous_secret_until=now + timedelta(hours=1),
                enabled=True,
                consecutive_failures=0,
                created_at=now,
                updated_at=now,
            ),
        )

        first = {"secret_encryption_key": base64.b64encode(first_key).decode()}
        async with running_service(database_url, broker, auth_env, mailbox.port, **first) as svc:
            # Start-up encrypted the plaintext under the key, bound to the row, and emptied the old columns.
            row = (await _rows(database_url))[legacy_id]
            assert row["secret"] is None
            assert row["previous_secret"] is None
            assert row["secret_encrypted"].startswith(f"v1.{key_id(first_key)}.")
            assert row["previous_secret_encrypted"].startswith(f"v1.{key_id(first_key)}.")
            assert row["previous_secret_until"] == now + timedelta(hours=1)

            ep_a, ep_b = await _register(svc, a), await _register(svc, b)
            # B's row now holds A's encrypted secret, as someone with write access to the table might do.
            moved = (await _rows(database_url))[ep_a["id"]]["secret_encrypted"]
            await _execute(
                database_url, update(endpoints).where(endpoints.c.id == ep_b["id"]).values(secret_encrypted=moved)
            )

            package_id = uid("pkg")
            event = await pub.publish(
                announced(package_id, "Jalan Lingkungan", svc.clock()), package_id, "/eproc/tender"
            )
            # Signing works as before: the migrated endpoint signs with both of its secrets during the overlap.
            assert set(await _verified(legacy, event.id)) == {legacy_secret, legacy_previous}
            assert await _verified(a, event.id) == [ep_a["secret"]]
            # The moved value does not decrypt for B: nothing goes out unsigned or signed with A's secret.
            failed = await _failed_delivery(svc, ep_b["id"], event.id)
            assert "cannot be decrypted" in failed["last_error"]
            assert b.of(event.id) == []

            # Rotating B's secret mends it at once (without an overlap: its old secret is unreadable).
            r = await svc.client.post(f"/webhooks/{ep_b['id']}/rotate-secret", headers=svc.admin())
            assert r.status_code == 200, r.text
            b_secret = r.json()["secret"]
            b.secrets.append(b_secret)
            r = await svc.client.post(f"/webhooks/{ep_b['id']}/deliveries/{failed['id']}/replay", headers=svc.admin())
            assert r.status_code == 202, r.text
            assert await _verified(b, event.id) == [b_secret]

            # Nothing stored holds a secret: not the rows as the database renders them, nor (SQLite) any byte of
            # the file, for the secrets this release wrote.
            raw = (await _raw_rows(database_url)).encode()
            for secret in (legacy_secret, legacy_previous, ep_a["secret"], ep_b["secret"], b_secret):
                for form in _forms(secret)[:2]:
                    assert form not in raw
            stored = _file_bytes(database_url)
            if stored is not None:
                # (The plaintext an earlier release wrote may linger in free pages until VACUUM; README.)
                for secret in (ep_a["secret"], ep_b["secret"], b_secret):
                    for form in _forms(secret):
                        assert form not in stored

        # Key rotation: a new key, the first one kept as an old key.
        second = {
            "secret_encryption_key": base64.b64encode(second_key).decode(),
            "secret_encryption_old_keys": [base64.b64encode(first_key).decode()],
        }
        async with running_service(database_url, broker, auth_env, mailbox.port, **second) as svc:
            ep_c = await _register(svc, c)
            rows = await _rows(database_url)
            # What the first key sealed was re-encrypted at start; the new endpoint uses the new key.
            for endpoint_id in (legacy_id, ep_a["id"], ep_b["id"], ep_c["id"]):
                assert rows[endpoint_id]["secret_encrypted"].startswith(f"v1.{key_id(second_key)}.")
            assert rows[legacy_id]["previous_secret_encrypted"].startswith(f"v1.{key_id(second_key)}.")
            package_id = uid("pkg")
            event = await pub.publish(announced(package_id, "Gedung Sekolah", svc.clock()), package_id, "/eproc/tender")
            assert set(await _verified(legacy, event.id)) == {legacy_secret, legacy_previous}
            assert await _verified(a, event.id) == [ep_a["secret"]]
            assert await _verified(b, event.id) == [b_secret]
            assert await _verified(c, event.id) == [ep_c["secret"]]

        # A key that opens none of the stored secrets: the service refuses to start, and changes nothing.
        before = await _rows(database_url)
        third = {"secret_encryption_key": base64.b64encode(secrets.token_bytes(32)).decode()}
        app = create_app(settings_for(database_url, broker, mailbox.port, **third))
        install_auth(app, auth_env.verifier())
        try:
            with pytest.raises(UnknownKey, match=f"encrypted with key {key_id(second_key)}.*OLD_KEYS"):
                async with app.router.lifespan_context(app):
                    pass
        finally:
            await app.state.runtime.engine.dispose()
        assert await _rows(database_url) == before
