"""The real `make run` stack for the cross-service tests: the launcher with every process from stack.toml on
free ports, against an embedded broker this fixture owns (so a test may freeze it), output captured.

Under --import-mode=importlib no test module can import another one (nor this file), so the helpers the
modules share live here: on `RunningStack` (the `stack` fixture) and on `Events` (the `events` fixture, for
tests that play a service's relay without the stack)."""

from __future__ import annotations

import asyncio
import base64
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
from eproc_shared.events.types.tender import TenderAwarded, TenderAwardWinner, TenderPackageFacts
from eproc_shared.events.types.vendor import VendorEligibilityFacts, VendorQualificationChanged
from eproc_shared.settings import BrokerSettings

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("admin", "ppk", "pokja", "pejabat_pengadaan", "verifier", "vendor", "auditor")
PASSWORD = "a-long-password-1"
Record = tuple[str, bytes, str, list[tuple[str, bytes]]]  # topic, value, key, headers


class Events:
    """Events built and published as a service's relay would, for tests that play that service's part."""

    @staticmethod
    def send(
        bootstrap: str, records: list[Record], *, per_s: float | None = None, sent: list[int] | None = None
    ) -> None:
        """Sends ``records`` in order from one producer; ``per_s`` paces them, ``sent[0]`` counts them."""

        async def run() -> None:
            producer = make_producer(BrokerSettings(bootstrap_servers=bootstrap, enable_idempotence=False))
            await producer.start()
            try:
                for topic, value, key, headers in records:
                    await producer.send_and_wait(topic, value, key=key.encode(), headers=headers)
                    if sent is not None:
                        sent[0] += 1
                    if per_s:
                        await asyncio.sleep(1 / per_s)
            finally:
                await producer.stop()

        asyncio.run(run())

    @staticmethod
    def publish(
        bootstrap: str,
        envelopes: list[tuple[Envelope[Any], str]],
        *,
        per_s: float | None = None,
        sent: list[int] | None = None,
    ) -> None:
        """Publishes (envelope, key) pairs in CloudEvents binary mode, as their producer's relay does."""
        records = [(e.topic, e.value(), key, e.headers()) for e, key in envelopes]
        Events.send(bootstrap, records, per_s=per_s, sent=sent)

    @staticmethod
    def qualification(vendor_id: str, name: str, npwp: str, kbli: str = "41011", revision: int = 100) -> Envelope[Any]:
        """The vendor service's ``vendor.qualification_changed.v1`` after a verification: eligible."""
        today = date.today()
        facts = VendorEligibilityFacts(
            vendor_id=vendor_id,
            revision=revision,
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

    @staticmethod
    def award(
        package_id: str,
        *,
        name: str,
        opd_id: str,
        ppk_id: str,
        winner_id: str,
        winner_name: str,
        kbli: str = "29100",
    ) -> Envelope[Any]:
        """The tender service's ``tender.awarded.v1`` for a goods tender of 900 million Rupiah."""
        event = TenderAwarded(
            package=TenderPackageFacts(
                package_id=package_id,
                code=package_id.upper(),
                name=name,
                opd_id=opd_id,
                satker="Dinas Kesehatan",
                fiscal_year=datetime.now(UTC).year,
                procurement_type="barang",
                method="tender",
                qualification="pasca",
                envelope_system="one_file",
                evaluation_system="lowest_price",
                contract_type="Lumsum",
                pagu=1_000_000_000,
                hps=950_000_000,
                kbli_codes=[kbli],
                location="Kota Tangerang",
            ),
            ppk_id=ppk_id,
            pokja_id=None,
            winner=TenderAwardWinner(vendor_id=winner_id, legal_name=winner_name, npwp="013121660091000"),
            offered_price=900_000_000,
            awarded_price=900_000_000,
            low_price=False,
            performance_guarantee_base=900_000_000,
            reserve_vendor_ids=[],
            sppbj_number=f"SPPBJ/{package_id}",
            awarded_at=datetime.now(UTC),
        )
        return Envelope.new(event, source="/eproc/tender", key=package_id)


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

    @staticmethod
    def eventually(check: Callable[[], Any], timeout_s: float = 20.0, interval_s: float = 0.2) -> Any:
        """``check()``'s first truthy answer, polling the server state (never a fixed sleep)."""
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(interval_s)
        raise AssertionError(f"not reached within {timeout_s}s: {last!r}")

    @staticmethod
    def npwp(serial: int, prefix: str = "02") -> str:
        """A valid NPWP (Luhn check digit) for ``serial``; the prefix keeps the modules' numbers apart."""
        base = f"{prefix}{serial % 1_000_000:06d}"
        return f"{base}{luhn.calc_check_digit(base)}091000"

    @staticmethod
    def window(start: datetime, end: datetime) -> dict[str, str]:
        return {"starts_at": start.isoformat(), "ends_at": end.isoformat()}

    @staticmethod
    def tender_stages(
        opens: datetime, deadline: datetime, announcement_ends: datetime | None = None
    ) -> dict[str, dict[str, str]]:
        """A tender's schedule: registration and submission from ``opens`` to ``deadline`` (the announcement and
        the clarification until ``announcement_ends``, or the deadline too), opening from the deadline on."""
        window, until = RunningStack.window, announcement_ends or deadline
        return {
            "announcement": window(opens, until),
            "registration": window(opens, deadline),
            "clarification": window(opens, until),
            "submission": window(opens, deadline),
            "opening": window(deadline, deadline + timedelta(days=1)),
            "evaluation": window(deadline + timedelta(days=1), deadline + timedelta(days=3)),
            "winner_announcement": window(deadline + timedelta(days=3), deadline + timedelta(days=4)),
        }

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
        """The user id inside the role's access token (reading the claims, no verification needed here)."""
        payload = self.as_role(role)["Authorization"].split()[1].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]

    def award(
        self, package_id: str, *, name: str, winner_id: str, winner_name: str, kbli: str = "29100"
    ) -> Envelope[Any]:
        """`Events.award` of a package of the dev PPK's OPD."""
        return Events.award(
            package_id,
            name=name,
            opd_id=self.accounts["ppk"]["opd_id"],
            ppk_id=self.subject("ppk"),
            winner_id=winner_id,
            winner_name=winner_name,
            kbli=kbli,
        )

    def publish(self, envelopes: list[tuple[Envelope[Any], str]]) -> None:
        """Publish (envelope, key) pairs as their producer's relay would: CloudEvents binary mode."""
        Events.publish(self.bootstrap, envelopes)

    def publish_raw(self, topic: str, value: bytes, key: str, headers: list[tuple[str, bytes]]) -> None:
        Events.send(self.bootstrap, [(topic, value, key, headers)])

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

    def register_vendor(
        self,
        username: str,
        company_name: str,
        *,
        tax_id: str | None = None,
        email: str | None = None,
        contact_name: str = "Budi",
    ) -> str:
        """A vendor account registered through the gateway (password ``PASSWORD``); its vendor id."""
        answer = self.client.post(
            "/auth/register/vendor",
            json={
                "username": username,
                "password": PASSWORD,
                "email": email or f"{username}@vendor.example",
                "company_name": company_name,
                **({"tax_id": tax_id} if tax_id is not None else {}),
                "contact_name": contact_name,
            },
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["vendor_id"]

    def submit_vendor_data(self, vendor_id: str, owner: dict[str, str], company: dict[str, Any]) -> None:
        """The owner enters the company data, KBLI 41011 and a current tax status, and submits for verification."""
        today = datetime.now(UTC).date()
        for path, body in (
            ("company", company),
            ("kbli", {"codes": ["41011"]}),
            (
                "tax-status",
                {"compliant": True, "checked_on": str(today), "valid_until": str(today + timedelta(days=90))},
            ),
        ):
            answer = self.client.put(f"/api/vendor/vendors/{vendor_id}/{path}", json=body, headers=owner)
            assert answer.status_code == 200, answer.text
        assert self.client.post(f"/api/vendor/vendors/{vendor_id}/submit", headers=owner).status_code == 200

    def verify_vendor(self, vendor_id: str, queue_limit: int | None = None) -> dict[str, Any]:
        """The dev verifier takes the submitted vendor from the queue and verifies every item; the decision."""
        client, verifier = self.client, self.as_role("verifier")
        params = {"limit": queue_limit} if queue_limit is not None else None
        queue = client.get("/api/vendor/verification/queue", headers=verifier, params=params).json()["items"]
        entry = next(e for e in queue if e["vendor_id"] == vendor_id)
        assert client.post(f"/api/vendor/verification/vendors/{vendor_id}/start", headers=verifier).status_code == 200
        decisions = [{"item_id": item["item_id"], "verdict": "verified"} for item in entry["items"]]
        decided = client.post(
            f"/api/vendor/verification/vendors/{vendor_id}/decisions", json={"decisions": decisions}, headers=verifier
        )
        assert decided.status_code == 200, decided.text
        return decided.json()

    def eligible_vendors(self, count: int, prefix: str = "v", kbli: str = "41011") -> list[dict[str, Any]]:
        """``count`` vendors registered through the gateway, signed in, and made eligible in the tender service
        by the event the vendor service publishes after verification (``vendor.qualification_changed.v1``)."""
        vendors: list[dict[str, Any]] = []
        envelopes: list[tuple[Envelope[Any], str]] = []
        tag = uuid.uuid4().hex[:6]
        for index in range(count):
            username, name = f"{prefix}-{tag}-{index}", f"CV {prefix.upper()} {tag} {index}"
            npwp = self.npwp(int(uuid.uuid4().int % 1_000_000))
            vendor_id = self.register_vendor(username, name, tax_id=npwp)
            vendors.append({"vendor_id": vendor_id, "headers": self.sign_in(username, PASSWORD), "npwp": npwp})
            envelopes.append((Events.qualification(vendor_id, name, npwp, kbli), vendor_id))
        self.publish(envelopes)
        return vendors

    def tender_package(
        self,
        name: str = "Rehabilitasi Saluran Drainase",
        hps: int = 800_000_000,
        pagu: int | None = None,
        item: tuple[str, str] = ("Saluran beton", "m"),
    ) -> str:
        """A construction tender package (400 units of ``item``: description, unit) by the dev PPK, handed to the
        dev Pokja; pagu 100 million above the HPS unless given."""
        ppk = self.as_role("ppk")
        created = self.client.post(
            "/api/tender/packages",
            headers=ppk,
            json={
                "name": name,
                "opd_id": self.accounts["ppk"]["opd_id"],
                "satker": "Dinas PUPR",
                "fiscal_year": datetime.now(UTC).year,
                "procurement_type": "pekerjaan_konstruksi",
                "method": "tender",
                "contract_type": "unit_price",
                "pagu": hps + 100_000_000 if pagu is None else pagu,
                "hps": hps,
                "hps_items": [{"description": item[0], "unit": item[1], "quantity": 400, "unit_price": hps // 400}],
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
        return package_id

    def announce(self, package_id: str, stages: dict[str, dict[str, str]]) -> None:
        """The dev Pokja schedules the package with ``stages`` and announces it."""
        pokja = self.as_role("pokja")
        scheduled = self.client.put(
            f"/api/tender/packages/{package_id}/schedule", json={"stages": stages}, headers=pokja
        )
        assert scheduled.status_code == 200, scheduled.text
        announced = self.client.post(f"/api/tender/packages/{package_id}/announcement", headers=pokja)
        assert announced.status_code == 200, announced.text

    def announced_package(self, deadline: datetime, hps: int = 800_000_000) -> str:
        """A tender package by the dev PPK, handed to the dev Pokja, scheduled with ``deadline`` and announced."""
        package_id = self.tender_package(hps=hps)
        self.announce(package_id, self.tender_stages(datetime.now(UTC) - timedelta(seconds=1), deadline))
        return package_id

    def join(self, package_id: str, vendor_headers: dict[str, str]) -> None:
        """Register as participant, waiting until the tender service has the vendor's facts from Kafka."""
        self.eventually(
            lambda: (
                self.client.post(f"/api/tender/packages/{package_id}/participants", headers=vendor_headers).status_code
                in (200, 201)
            ),
            timeout_s=30,
        )

    def drafted_contracts(self, package_id: str) -> list[dict[str, Any]]:
        """The contracts the contract service has drafted for ``package_id`` so far, as the dev PPK lists them."""
        answer = self.client.get(
            "/api/contract/contracts", params={"package_id": package_id}, headers=self.as_role("ppk")
        )
        return answer.json()["items"] if answer.status_code == 200 else []


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


@pytest.fixture(scope="session")
def events() -> type[Events]:
    """`Events` for tests that publish as a service's relay without the whole stack."""
    return Events
