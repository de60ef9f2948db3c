"""The real `make run` stack for the cross-service tests: the launcher with every process from stack.toml on
free ports, against an embedded broker this fixture owns (so a test may freeze it), output captured."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from stdnum import luhn

from eproc_shared.broker import make_producer
from eproc_shared.devstack.embedded_broker import EmbeddedBroker, free_port
from eproc_shared.events.catalogue import Event
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types.vendor import VendorEligibilityFacts, VendorQualificationChanged
from eproc_shared.settings import BrokerSettings

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("admin", "ppk", "pokja", "pejabat_pengadaan", "verifier", "vendor", "auditor")


def wait_until(check: Callable[[], Any], timeout_s: float = 20.0, interval_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"not reached within {timeout_s}s: {last!r}")


def npwp_for(serial: int) -> str:
    base = f"02{serial % 1_000_000:06d}"
    return f"{base}{luhn.calc_check_digit(base)}091000"


class RunningStack:
    def __init__(
        self, var: Path, ports: dict[str, int], broker: EmbeddedBroker, output: list[str], launcher: subprocess.Popen
    ) -> None:
        self.var = var
        self.ports = ports
        self.broker = broker
        self.bootstrap = broker.bootstrap_servers
        self.output = output
        self.launcher = launcher
        self.base_url = f"http://127.0.0.1:{ports['gateway']}"
        self.client = httpx.Client(base_url=self.base_url, timeout=30)
        accounts = json.loads((var / "dev-credentials.json").read_text())["accounts"]
        self.accounts = {a["role"]: a for a in accounts}
        self._tokens: dict[str, tuple[float, dict[str, str]]] = {}

    def sign_in(self, username: str, password: str) -> dict[str, str]:
        answer = self.client.post("/auth/token", data={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def as_role(self, role: str) -> dict[str, str]:
        """A signed-in dev account of ``role`` (tokens reused for a few minutes: sign-in is argon2-slow)."""
        cached = self._tokens.get(role)
        if cached and time.monotonic() - cached[0] < 300:
            return cached[1]
        account = self.accounts[role]
        headers = self.sign_in(account["username"], account["password"])
        self._tokens[role] = (time.monotonic(), headers)
        return headers

    def subject(self, role: str) -> str:
        payload = self.as_role(role)["Authorization"].split()[1].split(".")[1]
        import base64

        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]

    def broker_settings(self) -> BrokerSettings:
        return BrokerSettings(bootstrap_servers=self.bootstrap, enable_idempotence=False)

    def publish(self, envelopes: list[tuple[Envelope[Any], str]]) -> None:
        """Publish (envelope, key) pairs as their producer's relay would: CloudEvents binary mode."""

        async def run() -> None:
            producer = make_producer(self.broker_settings())
            await producer.start()
            try:
                for envelope, key in envelopes:
                    await producer.send_and_wait(
                        envelope.topic, envelope.value(), key=key.encode(), headers=envelope.headers()
                    )
            finally:
                await producer.stop()

        asyncio.run(run())

    def publish_raw(self, topic: str, value: bytes, key: str, headers: list[tuple[str, bytes]]) -> None:
        async def run() -> None:
            producer = make_producer(self.broker_settings())
            await producer.start()
            try:
                await producer.send_and_wait(topic, value, key=key.encode(), headers=headers)
            finally:
                await producer.stop()

        asyncio.run(run())

    def read_topic(self, topic: str) -> list[Any]:
        """Every record of ``topic`` from the beginning up to its current end."""

        async def run() -> list[Any]:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
            await consumer.start()
            try:
                await consumer.topics()  # refreshes the metadata
                ids = consumer.partitions_for_topic(topic) or set()
                tps = [TopicPartition(topic, p) for p in ids]
                if not tps:
                    return []
                consumer.assign(tps)
                await consumer.seek_to_beginning(*tps)
                ends = await consumer.end_offsets(tps)
                records: list[Any] = []
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    positions = [await consumer.position(tp) for tp in tps]
                    if all(position >= ends[tp] for position, tp in zip(positions, tps, strict=True)):
                        break
                    batch = await consumer.getmany(*tps, timeout_ms=500)
                    for items in batch.values():
                        records.extend(items)
                return records
            finally:
                await consumer.stop()

        return asyncio.run(run())

    def eligible_vendors(self, count: int, prefix: str = "v", kbli: str = "41011") -> list[dict[str, Any]]:
        """``count`` vendors registered through the gateway, signed in, and made eligible in the tender service
        by the event the vendor service publishes after verification (``vendor.qualification_changed.v1``)."""
        vendors: list[dict[str, Any]] = []
        envelopes: list[tuple[Envelope[Any], str]] = []
        tag = uuid.uuid4().hex[:6]
        for index in range(count):
            username, password = f"{prefix}-{tag}-{index}", "a-long-password-1"
            serial = int(uuid.uuid4().int % 1_000_000)
            npwp = npwp_for(serial)
            answer = self.client.post(
                "/auth/register/vendor",
                json={
                    "username": username,
                    "password": password,
                    "email": f"{username}@vendor.example",
                    "company_name": f"CV {prefix.upper()} {tag} {index}",
                    "tax_id": npwp,
                    "contact_name": "Budi",
                },
            )
            assert answer.status_code == 201, answer.text
            vendor_id = answer.json()["vendor_id"]
            vendors.append({"vendor_id": vendor_id, "headers": self.sign_in(username, password), "npwp": npwp})
            envelopes.append(
                (qualification_event(vendor_id, f"CV {prefix.upper()} {tag} {index}", npwp, kbli), vendor_id)
            )
        self.publish(envelopes)
        return vendors

    def announced_package(self, deadline: datetime, hps: int = 800_000_000) -> str:
        """A tender package by the dev PPK, handed to the dev Pokja, scheduled with ``deadline`` and announced."""
        ppk, pokja = self.as_role("ppk"), self.as_role("pokja")
        created = self.client.post(
            "/api/tender/packages",
            headers=ppk,
            json={
                "name": "Rehabilitasi Saluran Drainase",
                "opd_id": self.accounts["ppk"]["opd_id"],
                "satker": "Dinas PUPR",
                "fiscal_year": datetime.now(UTC).year,
                "procurement_type": "pekerjaan_konstruksi",
                "method": "tender",
                "contract_type": "unit_price",
                "pagu": hps + 100_000_000,
                "hps": hps,
                "hps_items": [{"description": "Saluran beton", "unit": "m", "quantity": 400, "unit_price": hps // 400}],
                "kbli_codes": ["41011"],
                "location": "Kota Tangerang",
            },
        )
        assert created.status_code == 201, created.text
        package_id = created.json()["id"]
        assigned = self.client.post(
            f"/api/tender/packages/{package_id}/assignment", json={"pokja_id": self.subject("pokja")}, headers=ppk
        )
        assert assigned.status_code == 200, assigned.text
        now = datetime.now(UTC)

        def window(start: datetime, end: datetime) -> dict[str, str]:
            return {"starts_at": start.isoformat(), "ends_at": end.isoformat()}

        early = now - timedelta(seconds=1)
        stages = {
            "announcement": window(early, deadline),
            "registration": window(early, deadline),
            "clarification": window(early, deadline),
            "submission": window(early, deadline),
            "opening": window(deadline, deadline + timedelta(days=1)),
            "evaluation": window(deadline + timedelta(days=1), deadline + timedelta(days=3)),
            "winner_announcement": window(deadline + timedelta(days=3), deadline + timedelta(days=4)),
        }
        scheduled = self.client.put(
            f"/api/tender/packages/{package_id}/schedule", json={"stages": stages}, headers=pokja
        )
        assert scheduled.status_code == 200, scheduled.text
        announced = self.client.post(f"/api/tender/packages/{package_id}/announcement", headers=pokja)
        assert announced.status_code == 200, announced.text
        return package_id

    def join(self, package_id: str, vendor_headers: dict[str, str]) -> None:
        """Register as participant, waiting until the tender service has the vendor's facts from Kafka."""
        wait_until(
            lambda: (
                self.client.post(f"/api/tender/packages/{package_id}/participants", headers=vendor_headers).status_code
                in (200, 201)
            ),
            timeout_s=30,
        )


def qualification_event(vendor_id: str, name: str, npwp: str, kbli: str = "41011") -> Envelope[Any]:
    today = date.today()
    facts = VendorEligibilityFacts(
        vendor_id=vendor_id,
        revision=100,
        as_of=datetime.now(UTC),
        legal_name=name,
        npwp=npwp,
        status="verified",
        verified=True,
        size_class="kecil",
        kbli_codes=[kbli],
        tax_status={
            "compliant": True,
            "checked_on": today,
            "valid_until": today + timedelta(days=90),
            "expired": False,
        },
        blacklisted=False,
        eligible=True,
    )
    event: Event = VendorQualificationChanged(vendor_id=vendor_id, cause="verified", facts=facts)
    return Envelope.new(event, source="/eproc/vendor", key=vendor_id)


def stack_env(var: Path, ports: dict[str, int], bootstrap: str) -> dict[str, str]:
    processes = tomllib.loads((ROOT / "stack.toml").read_text())["process"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "AUTH_"))}
    for process in processes:
        env[f"{process['env_prefix']}PORT"] = str(ports[process["name"]])
    gateway_url = f"http://127.0.0.1:{ports['gateway']}"
    env.update(
        # The launcher uses this broker instead of starting its own, so that tests can freeze it.
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        KAFKA_ENABLE_IDEMPOTENCE="false",
        # The services check tokens against the gateway's keys, wherever the gateway listens.
        AUTH_ISSUER=gateway_url,
        AUTH_JWKS_URL=f"{gateway_url}/.well-known/jwks.json",
        GATEWAY_DEV_CREDENTIALS_FILE=str(var / "dev-credentials.json"),
        # The notify service's development SMTP sink, on a port of its own (stack.toml's 8025 may be taken).
        NOTIFY_DEV_SMTP_SINK_PORT=str(free_port()),
        # Fuzzing and the role matrix send thousands of requests from one address in a minute.
        GATEWAY_RATE_LIMIT_ANONYMOUS_PER_MIN="1000000",
        GATEWAY_RATE_LIMIT_USER_PER_MIN="1000000",
        GATEWAY_LOGIN_ATTEMPTS_PER_ACCOUNT="1000000",
        GATEWAY_LOGIN_ATTEMPTS_PER_IP="1000000",
        # Cheaper password hashing keeps the many test sign-ins fast (the defaults are for production).
        GATEWAY_PASSWORD_HASH_TIME_COST="1",
        GATEWAY_PASSWORD_HASH_MEMORY_KIB="8192",
        GATEWAY_PASSWORD_HASH_PARALLELISM="1",
    )
    return env


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    var = tmp_path_factory.mktemp("var")
    processes = tomllib.loads((ROOT / "stack.toml").read_text())["process"]
    ports = {p["name"]: free_port() for p in processes}
    broker = EmbeddedBroker(log_path=var / "broker.log").start()
    env = stack_env(var, ports, broker.bootstrap_servers)
    command = [sys.executable, "-m", "eproc_shared.devstack.launcher", "--stack", str(ROOT / "stack.toml")]
    child = subprocess.Popen(
        [*command, "--var", str(var)],
        cwd=var,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert child.stdout is not None
    output: list[str] = []
    started = threading.Event()

    def drain() -> None:
        # Read every line for the whole session: the sealed-bid test searches the logs, and a full pipe
        # would block the launcher.
        assert child.stdout is not None
        for line in child.stdout:
            output.append(line)
            if "ready in" in line or "cannot start" in line or "stopping" in line:
                started.set()
        started.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    started.wait(timeout=90)
    try:
        assert any("ready in" in line for line in output), "".join(output[-60:])
        yield RunningStack(var, ports, broker, output, child)
    finally:
        broker.resume()
        child.terminate()
        try:
            child.wait(timeout=40)
        finally:
            reader.join(timeout=5)
            broker.stop()
