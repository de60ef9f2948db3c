"""The checkpoint key: kept under var/ in development, required in production; and the catch-all's own rule."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from eproc_audit.models import messaging
from eproc_audit.settings import AuditSettings
from eproc_audit.signing import SigningKeyError, load_signing_key
from eproc_shared.consumer import EventConsumer
from eproc_shared.db import create_engine, session_factory
from eproc_shared.settings import BrokerSettings


def test_a_development_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "var" / "audit-key.pem"
    first = load_signing_key(None, dev_path=str(path), environment="development")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_signing_key(None, dev_path=str(path), environment="development")
    assert again.key_id == first.key_id
    configured = load_signing_key(str(path), dev_path=str(tmp_path / "unused.pem"), environment="production")
    assert configured.key_id == first.key_id
    assert not (tmp_path / "unused.pem").exists()


def test_production_refuses_a_missing_or_wrong_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPROC_ENV", "production")
    with pytest.raises(ValidationError, match="AUDIT_SIGNING_KEY_FILE"):
        AuditSettings()
    with pytest.raises(SigningKeyError):
        load_signing_key(None, dev_path=str(tmp_path / "k.pem"), environment="production")
    rsa_like = tmp_path / "not-a-key.pem"
    rsa_like.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(SigningKeyError):
        load_signing_key(str(rsa_like), dev_path=str(tmp_path / "k.pem"), environment="production")


def test_a_catch_all_consumer_must_name_its_topics(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")

    async def record(session: object, event: object) -> None:
        return None

    with pytest.raises(ValueError, match="needs the topics"):
        EventConsumer(
            "c",
            sessions=session_factory(engine),
            tables=messaging,
            broker=BrokerSettings(),
            handlers={},
            catch_all=record,  # type: ignore[arg-type]
        )
