"""kill -9 of each consumer service in the middle of a stream of events, then a restart: every event's effect
is there exactly once. The real service process (`python -m eproc_<service>`), a real broker, its SQLite file
read afterwards to count effects."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from eproc_shared.devstack.embedded_broker import EmbeddedBroker, free_port
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types.identity import VendorUserRegistered
from eproc_shared.events.types.tender import TenderCancelled

EVENTS = 300
RATE_PER_S = 100  # the stream lasts about three seconds; the kills land inside it
Events = Any  # tests/conftest.py's `events` fixture: the event builders and the publisher


def _vendor_event(_events: Events, run: str, index: int) -> tuple[Envelope[Any], str]:
    vendor_id = f"kv-{run}-{index}"
    event = VendorUserRegistered(
        user_id=f"u-{run}-{index}",
        vendor_id=vendor_id,
        company_name=f"CV Kill {index}",
        tax_id=None,
        username=f"kill-{run}-{index}",
        email=f"kill{index}@vendor.example",
        contact_name="Budi",
    )
    return Envelope.new(event, source="/eproc/gateway", key=vendor_id), vendor_id


def _facts_event(events: Events, run: str, index: int) -> tuple[Envelope[Any], str]:
    vendor_id = f"kt-{run}-{index}"
    return events.qualification(vendor_id, f"CV Kill {index}", "013121660091000", revision=1), vendor_id


def _cancel_event(_events: Events, run: str, index: int) -> tuple[Envelope[Any], str]:
    # A type none of the other three services consumes, so that each inbox counts only its own stream.
    package_id = f"ka-{run}-{index}"
    event = TenderCancelled(package_id=package_id, opd_id="dev-opd", reason="uji", cancelled_at=datetime.now(UTC))
    return Envelope.new(event, source="/eproc/tender", key=package_id), package_id


def _award_event(events: Events, run: str, index: int) -> tuple[Envelope[Any], str]:
    package_id = f"kc-{run}-{index}"
    event = events.award(
        package_id,
        name="Pengadaan Ambulans",
        opd_id="dev-opd",
        ppk_id="ppk-user",
        winner_id=f"w-{index}",
        winner_name="PT Menang",
    )
    return event, package_id


@dataclass(frozen=True)
class Case:
    service: str
    prefix: str
    group: str
    make: Callable[[Events, str, int], tuple[Envelope[Any], str]]
    # Counts the effects of this run's events: (rows, distinct aggregates).
    effects: str
    tag: str  # this case's aggregate ids start with it


CASES = [
    Case(
        "vendor",
        "VENDOR_",
        "vendor",
        _vendor_event,
        "SELECT count(*), count(DISTINCT id) FROM vendors WHERE id LIKE ?",
        "kv",
    ),
    Case(
        "tender",
        "TENDER_",
        "tender",
        _facts_event,
        "SELECT count(*), count(DISTINCT vendor_id) FROM vendor_facts WHERE vendor_id LIKE ?",
        "kt",
    ),
    Case(
        "contract",
        "CONTRACT_",
        "contract",
        _award_event,
        "SELECT count(*), count(DISTINCT package_id) FROM contracts WHERE package_id LIKE ?",
        "kc",
    ),
    # The audit log is append-only: an event applied twice would be two entries.
    Case(
        "audit",
        "AUDIT_",
        "audit-log",
        _cancel_event,
        "SELECT count(*), count(DISTINCT key) FROM audit_log WHERE key LIKE ?",
        "ka",
    ),
]


class Service:
    """One service as its own OS process, started with `python -m eproc_<name>` and its environment."""

    def __init__(self, case: Case, var: Path, bootstrap: str) -> None:
        self.case = case
        self.port = free_port()
        self.db = var / f"{case.service}.db"
        self.log = var / f"{case.service}.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "AUTH_"))}
        self.env.update(
            {
                "EPROC_ENV": "development",
                "LOG_FORMAT": "text",
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "KAFKA_ENABLE_IDEMPOTENCE": "false",
                # The killed member's partitions move to the restarted one after this.
                "KAFKA_SESSION_TIMEOUT_MS": "6000",
                "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
                f"{case.prefix}PORT": str(self.port),
                f"{case.prefix}DATABASE_URL": f"sqlite+aiosqlite:///{self.db}",
                f"{case.prefix}STORAGE_DIR": str(var / "files"),
            }
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"eproc_{self.case.service}"],
                env=self.env,
                cwd=self.db.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.case.service} not ready: {self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def query(self, sql: str, *args: Any) -> tuple[Any, ...]:
        if not self.db.exists():
            return (0, 0)
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql, args).fetchone()


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as broker:
        yield broker


@pytest.mark.slow
def test_kill_9_mid_stream_loses_nothing_and_applies_nothing_twice(
    fresh_broker: EmbeddedBroker, tmp_path: Path, events: Events
) -> None:
    """All four consumer services at once (each its own stream and group), so the suite waits for one
    group-session timeout rather than four."""
    run = uuid.uuid4().hex[:8]
    bootstrap = fresh_broker.bootstrap_servers
    services = [Service(case, tmp_path, bootstrap) for case in CASES]
    try:
        for service in services:
            service.start()
        # One event each first, so that every consumer has joined its group before the measured streams
        # start (the kill must land mid-stream, not before a slow joiner has applied anything).
        warm = f"w{run}"
        for service in services:
            events.publish(bootstrap, [service.case.make(events, warm, 0)], per_s=RATE_PER_S, sent=[0])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            s.query(s.case.effects, f"{s.case.tag}-{warm}-%")[0] < 1 for s in services
        ):
            time.sleep(0.1)
        sent = {s.case.service: [0] for s in services}
        publishers = [
            threading.Thread(
                target=events.publish,
                args=(bootstrap, [s.case.make(events, run, i) for i in range(EVENTS)]),
                kwargs={"per_s": RATE_PER_S, "sent": sent[s.case.service]},
            )
            for s in services
        ]
        for publisher in publishers:
            publisher.start()

        def applied(service: Service) -> int:
            return int(service.query(service.case.effects, f"{service.case.tag}-{run}-%")[0])

        at_kill: dict[str, tuple[int, int]] = {}
        deadline = time.monotonic() + 20
        while len(at_kill) < len(services) and time.monotonic() < deadline:
            for service in services:
                name = service.case.service
                if name not in at_kill and applied(service) >= 3:
                    service.kill9()
                    at_kill[name] = (applied(service), sent[name][0])
            time.sleep(0.02)
        for name, (effects, published) in at_kill.items():
            assert effects > 0, f"{name}: the kill must land after the first effects"
            assert published < EVENTS, f"{name}: the kill must land while events are still being published"
        assert len(at_kill) == len(services), f"not every service applied events before the kill: {at_kill}"
        for service in services:
            service.start()
        for publisher in publishers:
            publisher.join(30)
        assert all(count[0] == EVENTS for count in sent.values()), sent

        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and any(applied(s) < EVENTS for s in services):
            time.sleep(0.2)
        time.sleep(0.5)  # anything applied twice would show up by now
        for service in services:
            name = service.case.service
            rows, distinct = service.query(service.case.effects, f"{service.case.tag}-{run}-%")
            assert (rows, distinct) == (EVENTS, EVENTS), (
                f"{name} killed at {at_kill[name]}: {rows} rows, {distinct} distinct"
            )
            inbox = service.query(
                "SELECT count(*), count(DISTINCT event_id), sum(status = 'handled') "
                "FROM eproc_inbox WHERE consumer = ? AND type = ?",
                service.case.group,
                dict(service.case.make(events, run, 0)[0].headers())["ce_type"].decode(),
            )
            assert inbox == (EVENTS + 1, EVENTS + 1, EVENTS + 1), f"{name}: inbox {inbox} (one warm-up event)"
    finally:
        for service in services:
            service.stop()
