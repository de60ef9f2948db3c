"""Deadline rush: many vendors submitting sealed bids through the gateway in the last minutes of a tender,
versus a bare FastAPI endpoint inserting the same row into SQLite (bare_bids.py), same client, same
concurrency, same machine, same run.

Through the platform each bid is: the gateway (token check, access table, rate limit, proxy), the tender
service (token check again, validation, participant check under a package lock, X25519+AES-GCM sealing of
both envelopes, one insert and one outbox row in one transaction), and the outbox relay publishing
`tender.bid_submitted.v1` to Kafka. The stack is `make run`'s (the launcher and stack.toml).

Vendors are registered and signed in through the gateway first (argon2id at its default cost; the sign-in
figures are reported on their own), made eligible by `vendor.qualification_changed.v1` events as the vendor
service publishes them after verification, and registered as participants. Then each of C concurrent vendors
submits (and replaces) its bid in a loop for D seconds. Afterwards every accepted bid is checked: the tender
database holds exactly one bid row per accepted submission, and each vendor's own receipt
(`GET .../bids/mine`) is the last one it was given."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from common import ROOT, running_stack, save, summary_ms, verdict
from stdnum import luhn

from eproc_shared.broker import make_producer
from eproc_shared.devstack.embedded_broker import free_port
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types.vendor import VendorEligibilityFacts, VendorQualificationChanged
from eproc_shared.settings import BrokerSettings

ITEMS = 10


def bid_body(rng: random.Random) -> dict[str, Any]:
    items = [
        {"description": f"Pekerjaan {i}", "quantity": rng.randint(1, 50), "unit_price": rng.randint(1, 9) * 100_000}
        for i in range(ITEMS)
    ]
    return {"price": sum(i["quantity"] * i["unit_price"] for i in items), "items": items, "declaration": True}


async def load(
    url: str, path: str, headers: list[dict[str, str]], seconds: float, seed: int
) -> tuple[list[float], list[tuple[int, str]], dict[int, int]]:
    """Each of len(headers) workers submits in a loop for ``seconds``; returns latencies, accepted receipts.
    aiohttp, not httpx: at 64 connections httpx's own CPU would cap the figures of both sides."""
    latencies: list[float] = []
    accepted: list[tuple[int, str]] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=len(headers) + 8)
    async with aiohttp.ClientSession(url, connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as client:
        stop = time.perf_counter() + seconds

        async def worker(index: int, auth: dict[str, str]) -> None:
            rng = random.Random(seed + index)
            while time.perf_counter() < stop:
                started = time.perf_counter()
                async with client.post(path, json=bid_body(rng), headers=auth) as answer:
                    body = await answer.json(content_type=None)
                latencies.append(time.perf_counter() - started)
                statuses[answer.status] = statuses.get(answer.status, 0) + 1
                if answer.status in (200, 201):
                    accepted.append((index, body["receipt_sha256"]))

        await asyncio.gather(*(worker(i, h) for i, h in enumerate(headers)))
    return latencies, accepted, statuses


def qualification(vendor_id: str, name: str, npwp: str) -> Envelope[Any]:
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
        kbli_codes=["41011"],
        tax_status={
            "compliant": True,
            "checked_on": today,
            "valid_until": today + timedelta(days=90),
            "expired": False,
        },
        blacklisted=False,
        eligible=True,
    )
    event = VendorQualificationChanged(vendor_id=vendor_id, cause="verified", facts=facts)
    return Envelope.new(event, source="/eproc/vendor", key=vendor_id)


async def prepare(base_url: str, bootstrap: str, accounts: dict[str, Any], vendors: int) -> dict[str, Any]:
    """Vendors registered, signed in and eligible; a package announced and joined by all of them."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def sign_in(username: str, password: str) -> dict[str, str]:
            answer = await client.post("/auth/token", data={"username": username, "password": password})
            answer.raise_for_status()
            return {"Authorization": f"Bearer {answer.json()['access_token']}"}

        tag = uuid.uuid4().hex[:6]
        gate = asyncio.Semaphore(8)

        async def register(index: int) -> dict[str, Any]:
            base = f"03{(int(tag, 16) + index) % 1_000_000:06d}"
            npwp = f"{base}{luhn.calc_check_digit(base)}091000"
            async with gate:
                answer = await client.post(
                    "/auth/register/vendor",
                    json={
                        "username": f"rush-{tag}-{index}",
                        "password": "a-long-password-1",
                        "email": f"rush{index}@vendor.example",
                        "company_name": f"CV Rush {tag} {index}",
                        "tax_id": npwp,
                        "contact_name": "Budi",
                    },
                )
            answer.raise_for_status()
            return {"username": f"rush-{tag}-{index}", "vendor_id": answer.json()["vendor_id"], "npwp": npwp}

        registered = await asyncio.gather(*(register(i) for i in range(vendors)))
        # Sign-in as the rush begins: every vendor at once (argon2id at the gateway's default cost).
        sign_in_latencies: list[float] = []

        async def timed_sign_in(username: str) -> dict[str, str]:
            started = time.perf_counter()
            headers = await sign_in(username, "a-long-password-1")
            sign_in_latencies.append(time.perf_counter() - started)
            return headers

        started = time.perf_counter()
        tokens = await asyncio.gather(*(timed_sign_in(v["username"]) for v in registered))
        sign_in_s = time.perf_counter() - started

        producer = make_producer(BrokerSettings(bootstrap_servers=bootstrap, enable_idempotence=False))
        await producer.start()
        try:
            for vendor in registered:
                envelope = qualification(vendor["vendor_id"], vendor["username"], vendor["npwp"])
                await producer.send_and_wait(
                    envelope.topic, envelope.value(), key=vendor["vendor_id"].encode(), headers=envelope.headers()
                )
        finally:
            await producer.stop()

        ppk = await sign_in(accounts["ppk"]["username"], accounts["ppk"]["password"])
        pokja = await sign_in(accounts["pokja"]["username"], accounts["pokja"]["password"])
        claims = pokja["Authorization"].split()[1].split(".")[1]
        pokja_id = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sub"]
        created = await client.post(
            "/api/tender/packages",
            headers=ppk,
            json={
                "name": "Pembangunan Gedung Sekolah",
                "opd_id": accounts["ppk"]["opd_id"],
                "satker": "Dinas Pendidikan",
                "fiscal_year": datetime.now(UTC).year,
                "procurement_type": "pekerjaan_konstruksi",
                "method": "tender",
                "contract_type": "unit_price",
                "pagu": 900_000_000,
                "hps": 800_000_000,
                "hps_items": [{"description": "Gedung", "unit": "ls", "quantity": 1, "unit_price": 800_000_000}],
                "kbli_codes": ["41011"],
                "location": "Kota Tangerang",
            },
        )
        created.raise_for_status()
        package_id = created.json()["id"]
        (
            await client.post(f"/api/tender/packages/{package_id}/assignment", json={"pokja_id": pokja_id}, headers=ppk)
        ).raise_for_status()
        now = datetime.now(UTC)
        deadline = now + timedelta(minutes=30)

        def window(a: datetime, b: datetime) -> dict[str, str]:
            return {"starts_at": a.isoformat(), "ends_at": b.isoformat()}

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
        (
            await client.put(f"/api/tender/packages/{package_id}/schedule", json={"stages": stages}, headers=pokja)
        ).raise_for_status()
        (await client.post(f"/api/tender/packages/{package_id}/announcement", headers=pokja)).raise_for_status()
        for headers in tokens:
            for _ in range(150):
                joined = await client.post(f"/api/tender/packages/{package_id}/participants", headers=headers)
                if joined.status_code in (200, 201):
                    break
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError(f"a vendor could not join: {joined.text}")
    return {
        "package_id": package_id,
        "tokens": tokens,
        "vendors": registered,
        "sign_in": {"vendors": vendors, "seconds": round(sign_in_s, 2), "latency_ms": summary_ms(sign_in_latencies)},
    }


PG_ADMIN_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


class TenderDatabase:
    """The tender service's database as the benchmark reads it: `make run`'s SQLite file, or (``--tender-database
    postgresql``) a PostgreSQL database made for this run and dropped after it."""

    def __init__(self, kind: str, var: Path) -> None:
        self.kind = kind
        self.path = var / "tender.db"
        self.name = f"eproc_rush_{uuid.uuid4().hex[:8]}"

    @property
    def env(self) -> dict[str, str]:
        if self.kind == "sqlite":
            return {}
        dsn = PG_ADMIN_DSN.rsplit("/", 1)[0]
        return {"TENDER_DATABASE_URL": f"{dsn.replace('postgresql://', 'postgresql+asyncpg://')}/{self.name}"}

    def __enter__(self) -> TenderDatabase:
        if self.kind == "postgresql":
            asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))
        return self

    def __exit__(self, *_: object) -> None:
        if self.kind == "postgresql":
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    async def _admin(self, statement: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    def count(self, table: str, where: str = "", *params: Any) -> int:
        """``where`` with ``?`` placeholders."""
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        if self.kind == "sqlite":
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as conn:
                return int(conn.execute(sql, params).fetchone()[0])

        async def run() -> int:
            import asyncpg

            numbered = sql
            for n in range(1, len(params) + 1):
                numbered = numbered.replace("?", f"${n}", 1)
            conn = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + self.name)
            try:
                return int(await conn.fetchval(numbered, *params))
            finally:
                await conn.close()

        return asyncio.run(run())


def postgres_reachable() -> bool:
    async def probe() -> bool:
        import asyncpg

        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def bid_rows(db: TenderDatabase, package_id: str) -> int:
    return db.count("bids", "package_id = ?", package_id)


async def verify(
    base_url: str,
    package_id: str,
    tokens: list[dict[str, str]],
    accepted: list[tuple[int, str]],
    db: TenderDatabase,
    before: int,
) -> dict[str, Any]:
    rows = await asyncio.to_thread(bid_rows, db, package_id) - before
    last: dict[int, str] = {}
    for index, receipt in accepted:
        last[index] = receipt
    mismatched = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for index, receipt in last.items():
            mine = await client.get(f"/api/tender/packages/{package_id}/bids/mine", headers=tokens[index])
            if mine.status_code != 200 or mine.json().get("receipt_sha256") != receipt:
                mismatched += 1
    return {
        "bid_rows": rows,
        "accepted": len(accepted),
        "receipts_checked": len(last),
        "receipts_mismatched": mismatched,
    }


def cpu_seconds(launcher_pid: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of each process of the stack and of this one (the load generator)."""
    import psutil

    out: dict[str, float] = {}
    for proc in [*psutil.Process(launcher_pid).children(recursive=True), psutil.Process()]:
        try:
            cmdline = proc.cmdline()
            name = next((p.split(".")[0] for p in cmdline if p.startswith("eproc_") and ":" in p), None)
            name = name or ("load generator" if proc.pid == os.getpid() else proc.name())
            times = proc.cpu_times()
        except psutil.Error:
            continue
        out[name] = out.get(name, 0.0) + times.user + times.system
    return out


def start_profilers(launcher_pid: int, out: Path, seconds: float) -> list[subprocess.Popen[bytes]]:
    import psutil

    out.mkdir(parents=True, exist_ok=True)
    profilers = []
    for child in psutil.Process(launcher_pid).children(recursive=True):
        name = next((p.split(".")[0] for p in child.cmdline() if p.startswith("eproc_") and ":" in p), None)
        if name in ("eproc_tender", "eproc_gateway"):
            command = ["py-spy", "record", "-p", str(child.pid), "-d", str(int(seconds)), "-r", "50"]
            command += ["-f", "speedscope", "-o", str(out / f"{name}.speedscope.json"), "--nonblocking"]
            bin_dir = Path(sys.executable).parent
            profilers.append(subprocess.Popen([str(bin_dir / command[0]), *command[1:]], stdout=subprocess.DEVNULL))
    return profilers


def bare_baseline(workdir: Path, concurrency: int, seconds: float) -> dict[str, Any]:
    port = free_port()
    env = dict(os.environ, BARE_DB=str(workdir / "bare.db"), PYTHONPATH=str(ROOT / "bench"))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bare_bids:create_app",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=workdir,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{url}/count", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        asyncio.run(load(url, "/packages/p/bids", [{}] * concurrency, 2, 1))  # warm-up
        before = httpx.get(f"{url}/count").json()["bids"]
        latencies, accepted, statuses = asyncio.run(load(url, "/packages/p/bids", [{}] * concurrency, seconds, 7))
        rows = httpx.get(f"{url}/count").json()["bids"] - before
    finally:
        server.terminate()
        server.wait(15)
    return {
        "requests_per_s": round(len(latencies) / seconds, 1),
        "accepted": len(accepted),
        "rows": rows,
        "statuses": statuses,
        "latency_ms": summary_ms(latencies),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vendors", type=int, default=64, help="concurrent vendors")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--profile", type=Path, help="record py-spy profiles (speedscope JSON) of the tender service and the gateway"
    )
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the stack (experiments)")
    parser.add_argument(
        "--tender-database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the tender service's database: make run's SQLite, or PostgreSQL as production runs it "
        "(a database made for the run on BENCH_POSTGRES_DSN's server, default 127.0.0.1:5432, and dropped after)",
    )
    args = parser.parse_args()
    name = "deadline_rush" if args.tender_database == "sqlite" else "deadline_rush_postgresql"
    if args.tender_database == "postgresql" and not postgres_reachable():
        print(f"Deadline rush on PostgreSQL skipped: no PostgreSQL answers at {PG_ADMIN_DSN} (set BENCH_POSTGRES_DSN).")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bare = bare_baseline(workdir, args.vendors, args.seconds)
        # The rush measures capacity: per-user limits (600/min by default) are lifted for it.
        env = {"GATEWAY_RATE_LIMIT_USER_PER_MIN": "1000000", "LOG_LEVEL": "WARNING"}
        env |= dict(item.split("=", 1) for item in args.env)
        with (
            TenderDatabase(args.tender_database, workdir / "var") as db,
            running_stack(workdir / "var", env | db.env) as stack,
        ):
            ready = asyncio.run(prepare(stack.base_url, stack.bootstrap, stack.accounts, args.vendors))
            path = f"/api/tender/packages/{ready['package_id']}/bids"
            asyncio.run(load(stack.base_url, path, ready["tokens"], 2, 1))  # warm-up
            rows_before = bid_rows(db, ready["package_id"])
            profilers = start_profilers(stack.launcher.pid, args.profile, args.seconds) if args.profile else []
            cpu_before = cpu_seconds(stack.launcher.pid)
            latencies, accepted, statuses = asyncio.run(load(stack.base_url, path, ready["tokens"], args.seconds, 7))
            cpu_after = cpu_seconds(stack.launcher.pid)
            for profiler in profilers:
                profiler.wait(60)
            time.sleep(1)
            checked = asyncio.run(
                verify(stack.base_url, ready["package_id"], ready["tokens"], accepted, db, rows_before)
            )
            unsent = db.count("eproc_outbox", "sent_at IS NULL")
        ours = {
            "requests_per_s": round(len(latencies) / args.seconds, 1),
            "accepted_per_s": round(len(accepted) / args.seconds, 1),
            "statuses": statuses,
            "latency_ms": summary_ms(latencies),
            "outbox_unsent_after": unsent,
            "verification": checked,
            "sign_in": ready["sign_in"],
            # Cores each process used during the load (the load generator is this process): where the two go.
            "cores": {
                name: round((cpu_after[name] - cpu_before.get(name, 0.0)) / args.seconds, 2)
                for name in sorted(cpu_after, key=lambda n: cpu_before.get(n, 0.0) - cpu_after[n])
            },
        }
    # Warm-up bids also sit in the table: every accepted one is counted against the rows.
    ratio = round(ours["accepted_per_s"] / bare["requests_per_s"], 3)
    result = {
        "tender_database": args.tender_database,
        "vendors": args.vendors,
        "seconds": args.seconds,
        "bare": bare,
        "platform": ours,
        "ratio": ratio,
        "targets": {"ratio": 0.5, "p99_ms": 100},
    }

    def plot(figure: Any) -> None:
        left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
        left.bar(
            ["bare FastAPI+SQLite", "gateway+tender"],
            [bare["requests_per_s"], ours["accepted_per_s"]],
            color=["grey", "tab:blue"],
        )
        left.set_ylabel("bids per second")
        left.set_title(f"Throughput, {args.vendors} vendors (ratio {ratio})")
        qs = ["p50", "p90", "p99"]
        xs = range(len(qs))
        right.bar([x - 0.2 for x in xs], [bare["latency_ms"][q] for q in qs], 0.4, label="bare", color="grey")
        right.bar([x + 0.2 for x in xs], [ours["latency_ms"][q] for q in qs], 0.4, label="platform", color="tab:blue")
        right.axhline(100, color="red", linestyle="--", linewidth=1, label="p99 target")
        right.set_xticks(list(xs), qs)
        right.set_ylabel("ms")
        right.set_title("Latency per bid")
        right.legend()

    save(name, result, plot)
    v = ours["verification"]
    print(f"Deadline rush: {args.vendors} concurrent vendors for {args.seconds:g}s, tender on {args.tender_database}")
    print(f"  bare FastAPI+SQLite: {bare['requests_per_s']} bids/s, latency {bare['latency_ms']}")
    print(f"  gateway+tender:      {ours['accepted_per_s']} accepted bids/s, latency {ours['latency_ms']}")
    print(f"    statuses {statuses}")
    print(f"    cores used during the load: {ours['cores']}")
    sign_in = ours["sign_in"]
    print(f"  sign-in of {args.vendors} vendors at once: {sign_in['seconds']}s, latency {sign_in['latency_ms']}")
    print(
        f"  every accepted bid present: {v['accepted']} accepted -> {v['bid_rows']} new bid rows; "
        f"{v['receipts_checked']} vendors' latest receipts checked, {v['receipts_mismatched']} mismatched; "
        f"outbox unsent afterwards: {unsent}"
    )
    print(verdict("throughput ratio", ratio, 0.5))
    print(verdict(f"p99 at {args.vendors} vendors", ours["latency_ms"]["p99"], 100, higher_is_better=False, unit=" ms"))
    return 0 if v["receipts_mismatched"] == 0 and v["bid_rows"] == v["accepted"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
