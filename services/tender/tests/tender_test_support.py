"""Helpers of the tender tests: real tokens, the service on a real port with a manual clock, actors.

Tokens come from the platform's ``TestIssuer`` (a real Ed25519 key; the service's verifier trusts it without a
JWKS round trip: the gateway's tests exercise that path).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import inspect, select, text

from eproc_shared.auth import install_auth
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types import vendor as vendor_events
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import TestIssuer, serve, throwaway_postgres
from eproc_tender.clock import JAKARTA, ManualClock
from eproc_tender.consumers import keep_facts
from eproc_tender.main import create_app
from eproc_tender.models import metadata, packages
from eproc_tender.settings import TenderSettings

AUDIENCE = "eproc"
# A Monday without holidays around it, 09:00 in Jakarta.
START = datetime(2026, 5, 4, 9, 0, tzinfo=JAKARTA).astimezone(UTC)


@pytest.fixture(scope="session")
def issuer() -> TestIssuer:
    return TestIssuer(audience=AUDIENCE)


def service_app(
    settings: TenderSettings, clock: ManualClock, issuer: TestIssuer, *, consume_vendor_events: bool = False
) -> FastAPI:
    """The service as it runs, its verifier trusting the test issuer's key.

    Without the vendor-facts consumer unless asked: tests seed facts through its handler (``seed_vendor``), and
    a consumer would cost each app a consumer-group join and leave for nothing. test_vendor_events runs it.
    """
    app = create_app(settings, clock=clock, consume_vendor_events=consume_vendor_events)
    install_auth(app, issuer.verifier())
    return app


def settings_for(database_url: str, broker: BrokerSettings, storage: Path, **overrides: Any) -> TenderSettings:
    return TenderSettings(
        database_url=database_url,
        broker=broker,
        storage_dir=str(storage),
        consumer_group=f"tender-test-{uuid.uuid4().hex[:8]}",
        environment="test",
        **overrides,
    )


@dataclass
class Tender:
    """The service under test, its clock, and a client per actor."""

    base: str
    app: FastAPI
    clock: ManualClock
    issuer: TestIssuer
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


@dataclass
class RunningService:
    """One running service (and its database) shared by the tests of a session on one database backend."""

    base: str
    app: FastAPI
    clock: ManualClock
    settings: TenderSettings
    defaults: dict[str, Any]

    async def reset(self, storage: Path) -> None:
        """A test starts as on a fresh database: every table emptied, the clock at START, the settings as
        configured (a test may change them), and its own storage directory."""
        await empty_tables(self.app.state.runtime.sessions)
        for name, value in self.defaults.items():
            setattr(self.settings, name, copy.deepcopy(value))
        self.settings.storage_dir = str(storage)
        self.clock.set(START)


async def empty_tables(sessions: Any) -> None:
    """Deletes every row of every table but Alembic's (identities are not restarted: the outbox relay may still
    mark rows of the previous test as sent by id)."""
    async with sessions() as session, session.begin():
        names = set(await session.run_sync(lambda s: inspect(s.connection()).get_table_names())) - {"alembic_version"}
        known = [t.name for t in reversed(metadata.sorted_tables) if t.name in names]
        ordered = known + sorted(names - set(known))
        if session.bind.dialect.name == "postgresql":
            await session.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in ordered) + " CASCADE"))
        else:
            for name in ordered:
                await session.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture(scope="session")
async def tender_service(
    request: pytest.FixtureRequest,
    issuer: TestIssuer,
    broker: BrokerSettings,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningService]:
    """The service on one database backend (``request.param``), migrated once and shared by every test that
    runs on that backend; conftest.py parametrises it from each test's ``databases`` marker."""
    root = tmp_path_factory.mktemp(f"tender-{request.param}")
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{root / 'test.db'}"
        else:
            url = await stack.enter_async_context(throwaway_postgres())
        settings = settings_for(url, broker, root / "files")
        clock = ManualClock(START)
        app = service_app(settings, clock, issuer)
        base = await stack.enter_async_context(serve(app))
        defaults = {name: copy.deepcopy(getattr(settings, name)) for name in type(settings).model_fields}
        yield RunningService(base=base, app=app, clock=clock, settings=settings, defaults=defaults)


@pytest.fixture
async def tender(tender_service: RunningService, issuer: TestIssuer, tmp_path: Path) -> AsyncIterator[Tender]:
    """The shared service, emptied for this test."""
    service = tender_service
    await service.reset(tmp_path / "files")
    t = Tender(base=service.base, app=service.app, clock=service.clock, issuer=issuer, settings=service.settings)
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
