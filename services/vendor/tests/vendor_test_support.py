"""Helpers of the vendor service tests: a real token issuer, the service on a real socket, a movable clock.

The issuer is the smallest local equivalent of the one in shared/tests/test_auth.py (a JWKS served
over HTTP, Ed25519 tokens); the service verifies every token against it as in production.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from eproc_shared.auth import install_auth
from eproc_shared.db import create_engine
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import ManualClock, TestIssuer, serve, start_group_at_end
from eproc_vendor.main import create_app
from eproc_vendor.models import messaging
from eproc_vendor.settings import VendorSettings

AUDIENCE = "eproc"


class Issuer(TestIssuer):
    pass


class Clock(ManualClock):
    """The service's clock, moved by the test: 10:00 in Jakarta on 2 January 2026 to start with."""

    def __init__(self) -> None:
        super().__init__(datetime(2026, 1, 2, 3, 0, tzinfo=UTC))


@dataclass
class Service:
    url: str
    issuer: Issuer
    clock: Clock
    database_url: str
    storage: Path
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, sub: str, *roles: str, **claims: Any) -> dict[str, str]:
        return self.issuer.headers(sub, *roles, **claims)

    def vendor(self, vendor_id: str) -> dict[str, str]:
        return self.auth(f"user-{vendor_id}", "vendor", vendor_id=vendor_id)

    @property
    def verifier(self) -> dict[str, str]:
        return self.auth("verifier-1", "verifier")

    @property
    def admin(self) -> dict[str, str]:
        return self.auth("admin-1", "admin")

    @property
    def pokja(self) -> dict[str, str]:
        return self.auth("pokja-1", "pokja", opd_id="dinkes")

    async def outbox(self, vendor_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Events staged by the service, in commit order: (type, payload)."""
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as conn:
                stmt = select(messaging.outbox.c.type, messaging.outbox.c.payload, messaging.outbox.c.key).order_by(
                    messaging.outbox.c.id
                )
                rows = (await conn.execute(stmt)).all()
        finally:
            await engine.dispose()
        return [(t, json.loads(p)) for t, p, k in rows if vendor_id is None or k == vendor_id]


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@asynccontextmanager
async def running_service(
    database_url: str, broker: BrokerSettings, issuer: Issuer, tmp_path: Path, **overrides: Any
) -> AsyncIterator[Service]:
    """The vendor service on a free port, verifying tokens of ``issuer``."""
    clock = Clock()
    options: dict[str, Any] = {
        "database_url": database_url,
        "broker": broker,
        "storage_dir": str(tmp_path / "files"),
        "max_upload_bytes": 200_000,
        "consumer_group": f"vendor-test-{uuid.uuid4().hex[:8]}",
        "outbox_poll_interval_s": 0.2,
        "consumer_retry_backoff_s": 0.05,
        "consumer_max_attempts": 2,
    }
    settings = VendorSettings(**(options | overrides))
    if "consumer_group" not in overrides:
        # A new group starts where the shared broker is now, not at every earlier test's events.
        await start_group_at_end(broker, settings.consumer_group)
    app = create_app(settings, clock=clock)
    install_auth(app, issuer.verifier())
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield Service(url, issuer, clock, database_url, tmp_path / "files", client)


@pytest.fixture
def auth_env(issuer: Issuer) -> Issuer:
    """The issuer the service trusts (kept under this name for the tests that ask for it)."""
    return issuer


@pytest.fixture
async def service(
    database_url: str, broker: BrokerSettings, auth_env: Issuer, tmp_path: Path
) -> AsyncIterator[Service]:
    async with running_service(database_url, broker, auth_env, tmp_path) as svc:
        yield svc


PDF = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 200 + b"%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 100


def company(name: str = "PT Maju Jaya Konstruksi", **overrides: Any) -> dict[str, Any]:
    body = {
        "legal_name": name,
        "business_form": "pt",
        "nib": "9120001234567",
        "npwp": "01.312.166.0-091.000",
        "address": "Jl. Jenderal Sudirman No. 1",
        "city": "Kota Tangerang",
        "province": "Banten",
        "postal_code": "15111",
        "size_class": "kecil",
        "contacts": [
            {"name": "Budi Santoso", "position": "Direktur", "email": "budi@majujaya.co.id", "phone": "+62 21 5550123"}
        ],
    }
    return body | overrides


def npwp(serial: int) -> str:
    """A valid 15-digit NPWP (Luhn check digit over the first eight digits) for test company ``serial``."""
    from stdnum import luhn

    base = f"01{serial:06d}"
    return f"{base}{luhn.calc_check_digit(base)}091000"
