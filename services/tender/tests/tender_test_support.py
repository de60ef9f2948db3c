"""Helpers of the tender tests: a real token issuer, the service on a real port with a manual clock, actors.

The issuer is the smallest local equivalent of the one in shared/tests/test_auth.py (a locally generated
Ed25519 key whose JWKS a real HTTP server publishes); the service fetches it like the gateway's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import select, text

from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types import vendor as vendor_events
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import serve
from eproc_tender.clock import JAKARTA, ManualClock
from eproc_tender.consumers import keep_facts
from eproc_tender.main import create_app
from eproc_tender.models import packages
from eproc_tender.settings import TenderSettings

AUDIENCE = "eproc"
# A Monday without holidays around it, 09:00 in Jakarta.
START = datetime(2026, 5, 4, 9, 0, tzinfo=JAKARTA).astimezone(UTC)


class Issuer:
    def __init__(self) -> None:
        self.key = ed25519.Ed25519PrivateKey.generate()
        self.kid = uuid.uuid4().hex[:8]
        self.url = ""

    def app(self) -> FastAPI:
        app = FastAPI()
        jwk = {
            **OKPAlgorithm.to_jwk(self.key.public_key(), as_dict=True),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return {"keys": [jwk]}

        return app

    def token(self, sub: str, roles: list[str], **claims: Any) -> str:
        now = datetime.now(UTC)
        body = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": sub,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=2)).timestamp()),
            "roles": roles,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="EdDSA", headers={"kid": self.kid})


@pytest.fixture
async def issuer(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Issuer]:
    found = Issuer()
    async with serve(found.app()) as base:
        found.url = base
        monkeypatch.setenv("AUTH_ISSUER", base)
        monkeypatch.setenv("AUTH_JWKS_URL", f"{base}/jwks")
        monkeypatch.setenv("AUTH_AUDIENCE", AUDIENCE)
        yield found


@dataclass
class Tender:
    """The service under test, its clock, and a client per actor."""

    base: str
    app: FastAPI
    clock: ManualClock
    issuer: Issuer
    settings: TenderSettings
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        c = httpx.AsyncClient(base_url=self.base, headers=headers, timeout=30)
        self.clients.append(c)
        return c

    def ppk(self, opd: str = "dinkes", sub: str = "ppk-1") -> httpx.AsyncClient:
        return self.client(self.issuer.token(sub, ["ppk"], opd_id=opd))

    def pokja(self, sub: str = "pokja-1", opd: str = "ukpbj") -> httpx.AsyncClient:
        return self.client(self.issuer.token(sub, ["pokja"], opd_id=opd))

    def admin(self) -> httpx.AsyncClient:
        return self.client(self.issuer.token("admin-1", ["admin"]))

    def vendor(self, vendor_id: str) -> httpx.AsyncClient:
        return self.client(self.issuer.token(f"user-{vendor_id}", ["vendor"], vendor_id=vendor_id))

    def public(self) -> httpx.AsyncClient:
        return self.client()

    def at(self, when: datetime) -> None:
        self.clock.set(when)

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def sql(self, query: str, **params: Any) -> list[Any]:
        async with self.runtime.sessions() as session, session.begin():
            return list((await session.execute(text(query), params)).all())

    async def status_is(self, package_id: str, status: str) -> bool:
        return await self.status(package_id) == status

    async def events(self, type_name: str) -> list[dict[str, Any]]:
        """Payloads of the outbox's events of ``type_name``, in order."""
        rows = await self.sql("SELECT payload FROM eproc_outbox WHERE type = :type ORDER BY id", type=type_name)
        return [r[0] if isinstance(r[0], dict) else json.loads(r[0]) for r in rows]

    async def status(self, package_id: str) -> str:
        async with self.runtime.sessions() as session, session.begin():
            return str(
                (await session.execute(select(packages.c.status).where(packages.c.id == package_id))).scalar_one()
            )

    async def seed_vendor(self, vendor_id: str, **overrides: Any) -> None:
        """Applies a vendor.qualification_changed event through the service's real handler."""
        facts = vendor_facts(vendor_id, **overrides)
        envelope = Envelope.new(
            vendor_events.VendorQualificationChanged(vendor_id=vendor_id, cause="verified", facts=facts),
            source="/eproc/vendor",
            key=vendor_id,
        )
        async with self.runtime.sessions() as session, session.begin():
            await keep_facts(session, envelope)


def vendor_facts(vendor_id: str, **overrides: Any) -> vendor_events.VendorEligibilityFacts:
    values: dict[str, Any] = {
        "vendor_id": vendor_id,
        "revision": 1,
        "as_of": START - timedelta(days=1),
        "legal_name": f"PT {vendor_id.upper()}",
        "npwp": "0" * 15,
        "status": "verified",
        "verified": True,
        "size_class": "kecil",
        "kbli_codes": ["41011", "71102"],
        "blacklisted": False,
        "eligible": True,
    }
    values.update(overrides)
    return vendor_events.VendorEligibilityFacts(**values)


@pytest.fixture
async def tender(issuer: Issuer, database_url: str, broker: BrokerSettings, tmp_path: Path) -> AsyncIterator[Tender]:
    clock = ManualClock(START)
    settings = TenderSettings(
        database_url=database_url,
        broker=broker,
        storage_dir=str(tmp_path / "files"),
        consumer_group=f"tender-test-{uuid.uuid4().hex[:8]}",
        environment="test",
    )
    app = create_app(settings, clock=clock)
    async with serve(app) as base:
        t = Tender(base=base, app=app, clock=clock, issuer=issuer, settings=settings)
        try:
            yield t
        finally:
            for c in t.clients:
                await c.aclose()


def at(days: float, hour: int = 9, minute: int = 0) -> datetime:
    """A time ``days`` after START's date, at ``hour`` in Jakarta."""
    day: date = START.astimezone(JAKARTA).date() + timedelta(days=int(days))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JAKARTA).astimezone(UTC)


def window(start: datetime, end: datetime) -> dict[str, str]:
    return {"starts_at": start.isoformat(), "ends_at": end.isoformat()}


DEADLINE = at(7, 10)


def standard_schedule() -> dict[str, Any]:
    return {
        "stages": {
            "announcement": window(at(0, 9), at(1, 9)),
            "registration": window(at(0, 9), at(6, 16)),
            "clarification": window(at(1, 9), at(3, 16)),
            "submission": window(at(1, 9), DEADLINE),
            "opening": window(DEADLINE, at(8, 16)),
            "evaluation": window(at(8, 9), at(10, 16)),
            "winner_announcement": window(at(10, 16), at(11, 16)),
        }
    }


def package_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Pembangunan Puskesmas Cibodas",
        "opd_id": "dinkes",
        "satker": "Dinas Kesehatan",
        "fiscal_year": 2026,
        "procurement_type": "pekerjaan_konstruksi",
        "method": "tender",
        "contract_type": "unit_price",
        "pagu": 1_100_000_000,
        "hps": 1_000_000_000,
        "hps_items": [{"description": "Pekerjaan struktur", "unit": "ls", "quantity": 1, "unit_price": 1_000_000_000}],
        "kbli_codes": ["41011"],
        "location": "Kota Tangerang",
    }
    body.update(overrides)
    return body


def ok(response: httpx.Response, code: int = 200) -> Any:
    assert response.status_code == code, f"{response.status_code}: {response.text}"
    return response.json()


def problem(response: httpx.Response, code: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == code, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    if field is not None:
        fields = [e["field"] for e in body.get("errors") or []]
        assert field in fields, f"{field} not among {fields}: {body}"
    return body


def prequalification_schedule() -> dict[str, Any]:
    """Prakualifikasi: qualification data until day 3, results by day 4, then the invited vendors' bidding."""
    stages = standard_schedule()["stages"]
    return {
        "stages": {
            **stages,
            "registration": window(at(0, 9), at(2, 16)),
            "qualification": window(at(0, 9), at(3, 16)),
            "qualification_evaluation": window(at(3, 16), at(4, 16)),
            "clarification": window(at(5, 9), at(6, 16)),
            "submission": window(at(5, 9), DEADLINE),
        }
    }


SECOND_DEADLINE = at(10, 10)


def two_stage_schedule() -> dict[str, Any]:
    """Two-stage: the first offers until DEADLINE, the second offers from day 8 16:00 until SECOND_DEADLINE."""
    stages = standard_schedule()["stages"]
    return {
        "stages": {
            **stages,
            "second_submission": window(at(8, 16), SECOND_DEADLINE),
            "evaluation": window(SECOND_DEADLINE, at(11, 16)),
            "winner_announcement": window(at(11, 16), at(12, 16)),
        }
    }


async def announced_package(
    t: Tender,
    *,
    schedule: dict[str, Any] | None = None,
    assignment: dict[str, Any] | None = None,
    **overrides: Any,
) -> str:
    """A package created by the PPK, handed to pokja-1 (or ``assignment``), scheduled and announced at START."""
    ppk = t.ppk()
    assignment = assignment or {"pokja_id": "pokja-1"}
    pokja = t.pokja((assignment.get("members") or [assignment.get("pokja_id")])[0])
    package_id = ok(await ppk.post("/packages", json=package_body(**overrides)), 201)["id"]
    ok(await ppk.post(f"/packages/{package_id}/assignment", json=assignment))
    ok(await pokja.put(f"/packages/{package_id}/schedule", json=schedule or standard_schedule()))
    ok(await pokja.post(f"/packages/{package_id}/announcement"))
    return package_id


async def register(t: Tender, package_id: str, *vendor_ids: str) -> None:
    for vendor_id in vendor_ids:
        await t.seed_vendor(vendor_id)
        ok(await t.vendor(vendor_id).post(f"/packages/{package_id}/participants"), 201)


def bid(price: int, items: list[tuple[int, int]] | None = None, **extra: Any) -> dict[str, Any]:
    lines = items or [(1, price)]
    return {
        "price": price,
        "items": [{"description": f"item {i}", "quantity": q, "unit_price": p} for i, (q, p) in enumerate(lines)],
        "declaration": True,
        **extra,
    }
