"""The images' entry command, run for real: migrations once even when pods start together, then serving."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import text

from eproc_shared.db import create_engine

REPO = Path(__file__).resolve().parents[2]
ENTRY = REPO / "deploy" / "images" / "eproc_entry.py"
MIGRATIONS = REPO / "services" / "tender" / "src" / "eproc_tender" / "migrations" / "versions"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENDER_", "KAFKA_", "EPROC_"))}
    # Nothing listens there: the outbox relay just keeps retrying, which is what a broker outage looks like.
    env |= {"EPROC_SERVICE": "tender", "TENDER_DATABASE_URL": database_url, "EPROC_ENV": "test"}
    env |= {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}", "LOG_FORMAT": "text"}
    return env | extra


def head_revision() -> str:
    revisions = {}
    for path in MIGRATIONS.glob("*.py"):
        source = path.read_text()
        revision = next(line for line in source.splitlines() if line.startswith("revision"))
        down = next(line for line in source.splitlines() if line.startswith("down_revision"))
        revisions[revision.split("=")[-1].strip().strip("\"'")] = down.split("=")[-1].strip().strip("\"'")
    heads = set(revisions) - set(revisions.values())
    assert len(heads) == 1
    return heads.pop()


async def alembic_versions(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    finally:
        await engine.dispose()


async def test_pods_starting_together_migrate_once_and_agree(database_url: str) -> None:
    # Three init containers of one rollout, started at the same moment against one database.
    env = environment(database_url)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(ENTRY),
            "migrate",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), 90)
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr.decode()[-3000:]
    assert await alembic_versions(database_url) == [head_revision()]


async def test_serve_answers_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'tender.db'}"
    port = free_port()
    env = environment(database_url, TENDER_PORT=str(port), EPROC_DEFAULT_HOST="127.0.0.1")
    migrate = subprocess.run(  # noqa: ASYNC221 - a child process to wait for, not the loop's work
        [sys.executable, str(ENTRY), "migrate"], env=env, capture_output=True, timeout=60
    )
    assert migrate.returncode == 0, migrate.stderr.decode()[-3000:]
    env["TENDER_RUN_MIGRATIONS"] = "false"  # as in the Deployment: the init container did it
    server = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, str(ENTRY), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        ready = None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(300):
                assert server.poll() is None, server.stdout.read().decode()[-3000:] if server.stdout else ""
                try:
                    ready = await client.get("/health/ready")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            assert ready is not None, "the service never answered"
            assert ready.status_code == 200
            assert ready.json()["checks"]["database"] is True
        health = subprocess.run(  # noqa: ASYNC221
            [sys.executable, str(ENTRY), "health"], env=env, capture_output=True, timeout=30, check=False
        )
        assert health.returncode == 0, health.stderr.decode()
        server.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why it ended.
        assert server.wait(timeout=20) in (0, -signal.SIGTERM)
        assert server.stdout is not None
        assert "tender stopped" in server.stdout.read().decode()
        after = subprocess.run(  # noqa: ASYNC221
            [sys.executable, str(ENTRY), "health"], env=env, capture_output=True, timeout=30
        )
        assert after.returncode == 1  # nothing answers any more, and the health command says so
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
