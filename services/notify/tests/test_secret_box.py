"""Webhook secrets encrypted at rest, without a database: AES-GCM values bound to their endpoint, key
rotation, and the settings that refuse the development key in production."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eproc_notify.domain.secret_box import SecretBox, SecretUnreadable, UnknownKey, key_id
from eproc_notify.domain.signing import new_secret
from eproc_notify.endpoint_secrets import current_secret, previous_secret, sealed, signing_secrets
from eproc_notify.main import create_app
from eproc_notify.settings import DEV_SECRET_ENCRYPTION_KEY, NotifySettings, ProductionConfigError
from eproc_shared.devstack.embedded_broker import free_port


def _key() -> bytes:
    return secrets.token_bytes(32)


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_a_sealed_secret_names_its_key_hides_the_secret_and_opens_only_for_its_endpoint() -> None:
    key = _key()
    box = SecretBox(key)
    secret = new_secret()
    sealed = box.seal(secret, "ep_1")
    assert sealed.startswith(f"v1.{key_id(key)}.")
    assert key_id(key) not in (_b64(key), key.hex())  # the key id names the key without being it
    body = secret.removeprefix("whsec_")
    assert secret not in sealed
    assert body not in sealed
    assert box.seal(secret, "ep_1") != sealed  # a fresh nonce each time
    assert box.open(sealed, "ep_1") == secret
    # Copied into another endpoint's row, it does not decrypt there.
    with pytest.raises(SecretUnreadable, match="ep_2 does not belong to it or was altered"):
        box.open(sealed, "ep_2")
    # Nor does an altered value.
    version, kid, data = sealed.split(".")
    raw = bytearray(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    raw[-1] ^= 1
    altered = f"{version}.{kid}.{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"
    with pytest.raises(SecretUnreadable, match="altered"):
        box.open(altered, "ep_1")
    for garbage in ("", "whsec_abc", "v1.x.", "v2.abc.def", f"v1.{kid}.!!!", f"v1.{kid}.AAAA"):
        with pytest.raises(SecretUnreadable):
            box.open(garbage, "ep_1")


def test_after_a_key_rotation_old_values_still_open_and_new_ones_use_the_new_key() -> None:
    old_key, new_key = _key(), _key()
    secret = new_secret()
    before = SecretBox(old_key).seal(secret, "ep_1")
    rotated = SecretBox(new_key, [old_key])
    assert rotated.open(before, "ep_1") == secret
    assert not rotated.is_current(before)
    after = rotated.seal(secret, "ep_1")
    assert after.startswith(f"v1.{key_id(new_key)}.")
    assert rotated.is_current(after)
    assert SecretBox(new_key).open(after, "ep_1") == secret
    # Without the old key, the value names the key it needs.
    with pytest.raises(UnknownKey, match=f"{key_id(old_key)}.*NOTIFY_SECRET_ENCRYPTION_OLD_KEYS"):
        SecretBox(new_key).open(before, "ep_1")
    # A value claiming another known key's id is refused, not opened with the wrong key.
    forged = before.replace(key_id(old_key), key_id(new_key))
    with pytest.raises(SecretUnreadable, match="altered"):
        rotated.open(forged, "ep_1")


def test_plaintext_written_by_an_earlier_release_counts_as_the_newer_secret() -> None:
    # During a rolling upgrade a replica of the previous release may rotate a secret this release encrypted:
    # it writes the new secret in plaintext and, unable to read the encrypted one, no previous secret.
    box = SecretBox(_key())
    now = datetime.now(UTC)
    encrypted, rotated = new_secret(), new_secret()
    row = {"id": "ep_1", **sealed(box, "ep_1", encrypted, None, None)}
    assert row["secret"] is None
    assert row["previous_secret"] is None
    assert current_secret(box, row) == encrypted
    assert previous_secret(box, row) is None
    row |= {"secret": rotated, "previous_secret": None, "previous_secret_until": now + timedelta(minutes=5)}
    assert current_secret(box, row) == rotated
    assert previous_secret(box, row) == encrypted
    assert signing_secrets(box, row, now) == [rotated, encrypted]
    assert signing_secrets(box, row, now + timedelta(minutes=5)) == [rotated]  # the overlap is over
    # A previous secret that cannot be read matters only while it would still sign.
    row = {"id": "ep_1", **sealed(box, "ep_1", rotated, encrypted, now - timedelta(seconds=1))}
    row["previous_secret_encrypted"] = sealed(box, "ep_2", encrypted, None, None)["secret_encrypted"]
    assert signing_secrets(box, row, now) == [rotated]
    row["previous_secret_until"] = now + timedelta(seconds=1)
    with pytest.raises(SecretUnreadable):
        signing_secrets(box, row, now)


def test_keys_come_from_the_environment_as_base64(monkeypatch: pytest.MonkeyPatch) -> None:
    current, old = _key(), _key()
    monkeypatch.setenv("NOTIFY_SECRET_ENCRYPTION_KEY", _b64(current))
    monkeypatch.setenv("NOTIFY_SECRET_ENCRYPTION_OLD_KEYS", json.dumps([_b64(old)]))
    box = NotifySettings().secret_box()
    assert box.current_key_id == key_id(current)
    assert box.open(SecretBox(old).seal("whsec_x", "ep"), "ep") == "whsec_x"
    monkeypatch.setenv("NOTIFY_SECRET_ENCRYPTION_KEY", "not base64!")
    with pytest.raises(ValueError, match="NOTIFY_SECRET_ENCRYPTION_KEY must be base64"):
        NotifySettings()
    monkeypatch.setenv("NOTIFY_SECRET_ENCRYPTION_KEY", _b64(b"16 bytes only!!!"))
    with pytest.raises(ValueError, match="NOTIFY_SECRET_ENCRYPTION_KEY must decode to 32 bytes"):
        NotifySettings()
    monkeypatch.setenv("NOTIFY_SECRET_ENCRYPTION_KEY", _b64(current))
    monkeypatch.setenv("NOTIFY_SECRET_ENCRYPTION_OLD_KEYS", json.dumps([_b64(old), "short"]))
    with pytest.raises(ValueError, match=r"NOTIFY_SECRET_ENCRYPTION_OLD_KEYS\[1\]"):
        NotifySettings()


def test_production_refuses_to_start_with_the_development_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPROC_ENV", "production")
    # The settings still load, so that migrations (run without the key) work...
    settings = NotifySettings()
    assert settings.secret_encryption_key.get_secret_value() == DEV_SECRET_ENCRYPTION_KEY
    # ...but the service does not start.
    with pytest.raises(ProductionConfigError, match="NOTIFY_SECRET_ENCRYPTION_KEY must be set in production"):
        create_app(settings)
    dev_key_kept = NotifySettings(
        secret_encryption_key=_b64(_key()), secret_encryption_old_keys=[DEV_SECRET_ENCRYPTION_KEY]
    )
    with pytest.raises(ProductionConfigError, match="OLD_KEYS holds the development key"):
        dev_key_kept.check()
    NotifySettings(secret_encryption_key=_b64(_key())).check()
    monkeypatch.setenv("EPROC_ENV", "development")
    NotifySettings().check()  # the published key is fine where nothing real is kept


def test_the_process_exits_in_production_without_a_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_")}
    database = tmp_path / "notify.db"
    env |= {
        "EPROC_ENV": "production",
        "NOTIFY_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "NOTIFY_PORT": str(free_port("127.0.0.1")),
    }
    done = subprocess.run(
        [sys.executable, "-m", "eproc_notify"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert "NOTIFY_SECRET_ENCRYPTION_KEY must be set in production (the development key is public)" in done.stderr
    assert not database.exists()  # refused before touching anything
