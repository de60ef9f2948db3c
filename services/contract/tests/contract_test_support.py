"""Helpers of the contract service tests: a real token issuer, the service on a real socket, a movable clock,
award events published over the real broker, and a reader of what the service published.

The issuer is the smallest local equivalent of the one in shared/tests/test_auth.py (Ed25519 tokens,
its JWKS handed to the service's verifier through ``install_auth``); the service verifies every token.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from sqlalchemy import select

from eproc_contract.clock import jakarta_date
from eproc_contract.main import create_app
from eproc_contract.models import messaging
from eproc_contract.settings import ContractSettings
from eproc_shared.auth import install_auth
from eproc_shared.broker import ensure_topics, make_consumer, make_producer
from eproc_shared.db import create_engine
from eproc_shared.events.catalogue import CATALOGUE
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types.tender import TenderAwarded, TenderAwardWinner, TenderPackageFacts
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import ManualClock, TestIssuer, eventually, serve, start_group_at_end

ROOT = Path(__file__).resolve().parents[3]
ISSUER = "https://issuer.test"
AUDIENCE = "eproc"
OPD = "dpupr"


class Issuer(TestIssuer):
    def __init__(self) -> None:
        super().__init__(ISSUER, AUDIENCE)


class Clock(ManualClock):
    """The service's clock, moved by the test: 10:00 in Jakarta on 2 March 2026 to start with."""

    def __init__(self) -> None:
        super().__init__(datetime(2026, 3, 2, 3, 0, tzinfo=UTC))


@dataclass
class Service:
    url: str
    issuer: Issuer
    clock: Clock
    broker: BrokerSettings
    client: httpx.AsyncClient
    database_url: str

    def auth(self, sub: str, *roles: str, **claims: Any) -> dict[str, str]:
        return self.issuer.headers(sub, *roles, **claims)

    def ppk(self, opd: str = OPD, sub: str = "ppk-1") -> dict[str, str]:
        return self.auth(sub, "ppk", opd_id=opd)

    def vendor(self, vendor_id: str) -> dict[str, str]:
        return self.auth(f"user-{vendor_id}", "vendor", vendor_id=vendor_id)


@pytest.fixture
async def service(database_url: str, broker: BrokerSettings) -> AsyncIterator[Service]:
    issuer, clock = Issuer(), Clock()
    settings = ContractSettings(
        database_url=database_url,
        broker=broker,
        consumer_group=f"contract-test-{uuid.uuid4().hex[:8]}",
        outbox_poll_interval_s=0.2,
        consumer_retry_backoff_s=0.05,
        consumer_max_attempts=2,
    )
    # A new group starts where the shared broker is now, not at every earlier test's events.
    await start_group_at_end(broker, settings.consumer_group)
    app = create_app(settings, clock=clock)
    install_auth(app, issuer.verifier())
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield Service(url, issuer, clock, broker, client, database_url)


async def consumed(svc: Service, event_id: str) -> bool:
    """The service applied (or recognised as a duplicate) this event: its inbox row exists."""
    engine = create_engine(svc.database_url)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(select(messaging.inbox.c.id).where(messaging.inbox.c.event_id == event_id))
    finally:
        await engine.dispose()
    return found is not None


def award(
    *,
    vendor_id: str,
    hps: int = 2_000_000_000,
    price: int = 1_800_000_000,
    low_price: bool = False,
    procurement_type: str = "pekerjaan_konstruksi",
    contract_type: str = "Lumsum",
    reserves: tuple[str, ...] = (),
    opd: str = OPD,
) -> TenderAwarded:
    package_id = f"pkg-{uuid.uuid4().hex[:10]}"
    return TenderAwarded(
        package=TenderPackageFacts(
            package_id=package_id,
            code=package_id.upper(),
            name="Rehabilitasi Jalan Lingkungan Kelurahan Sukasari",
            opd_id=opd,
            satker="Bidang Bina Marga",
            fiscal_year=2026,
            procurement_type=procurement_type,  # type: ignore[arg-type]
            method="tender",
            qualification="pasca",
            envelope_system="one_file",
            evaluation_system="lowest_price",
            contract_type=contract_type,
            pagu=hps + 100_000_000,
            hps=hps,
            kbli_codes=["42101"],
            location="Kota Tangerang",
        ),
        ppk_id="ppk-1",
        pokja_id="pokja-3",
        winner=TenderAwardWinner(vendor_id=vendor_id, legal_name="PT Maju Jaya Konstruksi", npwp="013121660091000"),
        offered_price=price,
        awarded_price=price,
        low_price=low_price,
        performance_guarantee_base=hps if low_price else price,
        reserve_vendor_ids=list(reserves),
        sppbj_number=f"SPPBJ/{package_id}/2026",
        awarded_at=datetime(2026, 2, 27, 2, 0, tzinfo=UTC),
    )


async def publish(broker: BrokerSettings, *envelopes: Envelope[Any]) -> None:
    """Publishes as the tender service's relay does: CloudEvents headers, the package id as key."""
    await ensure_topics(broker, [CATALOGUE.topics["eproc.tender.internal"]])
    producer = make_producer(broker)
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(
                envelope.topic, value=envelope.value(), key=envelope.key.encode(), headers=envelope.headers()
            )
    finally:
        await producer.stop()


def envelope_of(data: TenderAwarded) -> Envelope[TenderAwarded]:
    return Envelope.new(data, source="/eproc/tender", key=data.package.package_id, time=data.awarded_at)


async def contracts_of(svc: Service, package_id: str) -> list[dict[str, Any]]:
    r = await svc.client.get("/contracts", params={"package_id": package_id}, headers=svc.ppk())
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


async def contract_from_award(svc: Service, data: TenderAwarded) -> str:
    await publish(svc.broker, envelope_of(data))

    async def arrived() -> list[dict[str, Any]]:
        return await contracts_of(svc, data.package.package_id)

    return str((await eventually(arrived, timeout_s=30))[0]["id"])


def draft_terms(**overrides: Any) -> dict[str, Any]:
    body = {
        "contract_number": "HK.02.03/123/DPUPR/2026",
        "contract_type": "lumsum",
        "duration_days": 90,
        "scope": "Rehabilitasi jalan lingkungan 1,2 km: perkerasan dan drainase.",
        "milestones": [{"code": "M1", "name": "Drainase selesai"}, {"code": "M2", "name": "Perkerasan selesai"}],
        "payment_plan": [
            {"termin": 1, "description": "Termin I (drainase)", "share_bps": 4000, "milestone": "M1"},
            {"termin": 2, "description": "Termin II (perkerasan)", "share_bps": 6000, "milestone": "M2"},
        ],
        "retention_bps": 500,
        "advance_payment_amount": 0,
    }
    return body | overrides


async def active_contract(svc: Service, data: TenderAwarded, **terms: Any) -> str:
    """Award over the broker, then draft, guarantee, both signatures and the SPMK through the API."""
    c = svc.client
    cid = await contract_from_award(svc, data)
    vendor = svc.vendor(data.winner.vendor_id)
    assert (await c.put(f"/contracts/{cid}/draft", json=draft_terms(**terms), headers=svc.ppk())).status_code == 200
    required = (await c.get(f"/contracts/{cid}", headers=svc.ppk())).json()["performance_guarantee_amount"]
    if required:
        r = await c.post(
            f"/contracts/{cid}/guarantees",
            json={"kind": "performance", "issuer": "Bank BJB", "number": "JP-1", "amount": required,
                  "valid_until": "2026-12-31"},
            headers=vendor,
        )  # fmt: skip
        assert r.status_code == 201, r.text
    assert (await c.post(f"/contracts/{cid}/sign", headers=vendor)).status_code == 200
    assert (await c.post(f"/contracts/{cid}/sign", headers=svc.ppk())).status_code == 200
    r = await c.post(
        f"/contracts/{cid}/spmk",
        json={"spmk_number": "SPMK/1", "start_date": str(jakarta_date(svc.clock.now) + timedelta(days=1))},
        headers=svc.ppk(),
    )
    assert r.status_code == 200, r.text
    return cid


class Published:
    """Reads what the service published on a topic, from the beginning, for one contract."""

    def __init__(self, broker: BrokerSettings, topic: str = "eproc.contract.internal") -> None:
        self.broker, self.topic = broker, topic
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    async def __aenter__(self) -> Published:
        await ensure_topics(self.broker, [CATALOGUE.topics[self.topic]])
        self.consumer = make_consumer(self.broker, f"reader-{uuid.uuid4().hex[:8]}", [self.topic])
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def events(self, key: str, *wanted: str) -> list[tuple[str, dict[str, Any]]]:
        async def poll() -> list[tuple[str, dict[str, Any]]] | None:
            batches = await self.consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for rec in records:
                    headers = {k: v.decode() for k, v in rec.headers}
                    self.records.append(((rec.key or b"").decode(), headers["ce_type"], json.loads(rec.value)))
            mine = [(t, p) for k, t, p in self.records if k == key]
            return mine if all(w in [t for t, _ in mine] for w in wanted) else None

        return await eventually(poll, timeout_s=30)  # type: ignore[no-any-return]


def assert_frozen_shape(type_name: str, payload: dict[str, Any]) -> None:
    """The payload matches the schema frozen in docs/events (what the vendor service was built against)."""
    schema = json.loads((ROOT / "docs" / "events" / f"{type_name}.schema.json").read_text())
    jsonschema.validate(payload, schema)
    assert set(payload) <= set(schema["properties"]), f"{type_name} carries fields the frozen shape lacks"
