"""Two consumer processes share a group; one is killed with SIGKILL mid-stream; nothing is lost or applied twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from eproc_shared.testing import eventually

WORKER = Path(__file__).with_name("consumer_worker.py")


async def _spawn(messaging, group: str, name: str, database_url: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        messaging.broker.bootstrap_servers,
        database_url,
        messaging.topic,
        group,
        name,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    assert line.strip() == b"started", f"worker {name} did not start: {line!r}"
    return process


@pytest.mark.slow
async def test_killed_member_partitions_move_to_the_survivor(database_url, broker, messaging_on) -> None:
    async for messaging in messaging_on(database_url, broker, partitions=6):
        group = f"failover-{messaging.topic}"
        relay = messaging.relay()
        relay_task = asyncio.create_task(relay.run())
        first = await _spawn(messaging, group, "first", database_url)
        second = await _spawn(messaging, group, "second", database_url)
        try:
            total = 0
            for seq in range(6):
                for key in range(20):
                    total += 1
                    await messaging.place(f"G-{key}", seq)
            # Both members are working through their backlog when one dies with no chance to clean up.
            await eventually(lambda: _workers_seen(messaging, {"first", "second"}), timeout_s=30, interval_s=0.02)
            os.killpg(first.pid, signal.SIGKILL)
            await first.wait()
            # A COMMIT the dead member sent just before dying may still land (PostgreSQL finishes it).
            by_first = await _settled(lambda: _count_by(messaging, "first"))
            assert by_first < total, "the kill must land mid-stream"

            await eventually(lambda: _at_least(messaging, total), timeout_s=90)
            await asyncio.sleep(2)  # anything applied twice would show up now
            rows = await messaging.effects_rows()
            counts = Counter(row.event_id for row in rows)
            assert len(counts) == total, "every event applied"
            assert max(counts.values()) == 1, f"applied twice: {[e for e, n in counts.items() if n > 1]}"
            assert sum(1 for row in rows if row.worker == "first") == by_first, "the dead member applied nothing more"
            for key in range(20):
                assert [r.seq for r in rows if r.order_id == f"G-{key}"] == list(range(6)), "per-key order kept"
        finally:
            relay_task.cancel()
            for process in (first, second):
                if process.returncode is None:
                    os.killpg(process.pid, signal.SIGTERM)
                    await process.wait()
            await relay.close()


async def _count_by(messaging, worker: str) -> int:
    return sum(1 for row in await messaging.effects_rows() if row.worker == worker)


async def _settled(count, interval_s: float = 0.3, timeout_s: float = 10.0) -> int:
    """The value once two reads interval_s apart agree."""
    previous = await count()
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(interval_s)
        current = await count()
        if current == previous:
            return current
        previous = current
    raise AssertionError("the count never settled")


async def _workers_seen(messaging, names: set[str]) -> bool:
    return names <= {row.worker for row in await messaging.effects_rows()}


async def _at_least(messaging, n: int):
    rows = await messaging.effects_rows()
    return rows if len(rows) >= n else None
