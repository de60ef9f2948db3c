"""Event pipeline: outbox -> Kafka -> consumer inbox (the platform's shared machinery: Outbox, OutboxRelay,
EventConsumer, each side with its own SQLite database as two services would have) versus raw aiokafka
produce/consume on the same embedded broker, same machine, same run.

Two measurements each:
- throughput: N events committed as fast as 8 writers can (one event per transaction, as a service's
  routes do), time from the first commit to the last handled (inbox row committed with the effect);
- latency at a fixed rate (default 1,000 events/s for 5 s, in transactions of 10 events every 10 ms):
  commit-to-handled per event. Raw: send-to-receive per message at the same rate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from common import save, summary_ms, verdict
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, insert

from eproc_shared.broker import ensure_topics, make_producer
from eproc_shared.consumer import EventConsumer
from eproc_shared.db import create_engine, session_factory
from eproc_shared.devstack.embedded_broker import EmbeddedBroker
from eproc_shared.events.catalogue import Event
from eproc_shared.events.envelope import Envelope
from eproc_shared.messaging_tables import MessagingTables, messaging_tables
from eproc_shared.outbox import Outbox, OutboxRelay
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import isolated_catalogue


def schema() -> tuple[MetaData, MessagingTables, Table]:
    metadata = MetaData()
    tables = messaging_tables(metadata)
    effects = Table(
        "effects",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False),
        Column("n", Integer, nullable=False),
        Column("latency_s", Float, nullable=False),
    )
    return metadata, tables, effects


class Pipeline:
    def __init__(self, broker: BrokerSettings, workdir: Path) -> None:
        self.broker = broker
        self.catalogue, self.topic = isolated_catalogue(partitions=6)

        @self.catalogue.register("bench.ping", 1, self.topic)
        class Ping(Event):
            n: int
            committed_at: float

        self.Ping = Ping
        self.workdir = workdir
        self.latencies: list[float] = []
        self.handled = 0
        self.done = asyncio.Event()
        self.expected = 0

    async def setup(self) -> None:
        self.metadata_a, self.tables_a, _ = schema()
        self.metadata_b, self.tables_b, self.effects = schema()
        self.engine_a = create_engine(f"sqlite+aiosqlite:///{self.workdir / f'producer-{uuid.uuid4().hex[:6]}.db'}")
        self.engine_b = create_engine(f"sqlite+aiosqlite:///{self.workdir / f'consumer-{uuid.uuid4().hex[:6]}.db'}")
        async with self.engine_a.begin() as conn:
            await conn.run_sync(self.metadata_a.create_all)
        async with self.engine_b.begin() as conn:
            await conn.run_sync(self.metadata_b.create_all)
        await ensure_topics(self.broker, self.catalogue.topics.values())
        self.sessions_a = session_factory(self.engine_a)
        self.outbox = Outbox(self.tables_a, "/bench/producer")
        self.relay = OutboxRelay(
            self.engine_a, self.outbox, self.broker, service="bench", topics=self.catalogue.topics.values()
        )
        self.consumer = EventConsumer(
            f"bench-{uuid.uuid4().hex[:6]}",
            sessions=session_factory(self.engine_b),
            tables=self.tables_b,
            broker=self.broker,
            handlers={self.Ping.type_name(): self.handle},
            catalogue=self.catalogue,
        )
        self.tasks = [asyncio.create_task(self.relay.run()), asyncio.create_task(self.consumer.run())]
        await asyncio.wait_for(self.consumer.started.wait(), 30)
        # Warm up: one event all the way through, so that group joins and connections are not measured.
        await self.run_rate(rate=10, seconds=0.5, batch=1)

    async def handle(self, session: Any, envelope: Envelope[Any]) -> None:
        latency = time.time() - envelope.data.committed_at
        await session.execute(insert(self.effects).values(event_id=envelope.id, n=envelope.data.n, latency_s=latency))
        # The handler's transaction commits right after it returns; the latency is measured before that commit.
        self.latencies.append(latency)
        self.handled += 1
        if self.handled >= self.expected:
            self.done.set()

    async def commit(self, numbers: range) -> None:
        async with self.sessions_a() as session, session.begin():
            now = time.time()
            for n in numbers:
                await self.outbox.add(session, self.Ping(n=n, committed_at=now), key=f"k{n % 64}")

    def reset(self, expected: int) -> None:
        self.latencies, self.handled, self.expected = [], 0, expected
        self.done = asyncio.Event()

    async def run_throughput(self, events: int, writers: int = 8) -> dict[str, Any]:
        self.reset(events)
        started = time.perf_counter()

        async def writer(index: int) -> None:
            for n in range(index, events, writers):
                await self.commit(range(n, n + 1))

        await asyncio.gather(*(writer(i) for i in range(writers)))
        committed = time.perf_counter() - started
        await asyncio.wait_for(self.done.wait(), 300)
        elapsed = time.perf_counter() - started
        return {
            "events": events,
            "commit_per_s": round(events / committed),
            "events_per_s": round(events / elapsed),
            "latency_ms": summary_ms(self.latencies),
        }

    async def run_rate(self, rate: int, seconds: float, batch: int = 10) -> dict[str, Any]:
        total = int(rate * seconds)
        self.reset(total)
        interval = batch / rate
        started = time.perf_counter()
        for index, first in enumerate(range(0, total, batch)):
            await self.commit(range(first, min(total, first + batch)))
            delay = started + (index + 1) * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        offered = total / (time.perf_counter() - started)
        await asyncio.wait_for(self.done.wait(), 300)
        return {"events": total, "offered_per_s": round(offered), "latency_ms": summary_ms(self.latencies)}

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.relay.close()
        await self.consumer.close()
        await self.engine_a.dispose()
        await self.engine_b.dispose()


async def raw_kafka(broker: BrokerSettings, events: int, rate: int, seconds: float) -> dict[str, Any]:
    """aiokafka alone: the same broker, acks=all producer, a consumer group reading what it sends."""
    catalogue, topic = isolated_catalogue(partitions=6)
    await ensure_topics(broker, catalogue.topics.values())
    producer = make_producer(broker)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap_servers,
        group_id=f"raw-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",  # a fresh topic: everything sent here
        enable_auto_commit=False,
    )
    await producer.start()
    await consumer.start()
    received: list[float] = []
    want = [0]
    got = asyncio.Event()

    async def consume() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=100)
            now = time.time()
            for records in batch.values():
                for record in records:
                    received.append(now - float(record.value.split(b"|")[0]))
            if batch:
                await consumer.commit()
            if len(received) >= want[0] > 0:
                got.set()

    # The group owns its partitions before anything is sent, so the join is not measured.
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=100)
    reader = asyncio.create_task(consume())
    try:
        payload = b"x" * 120

        async def send(n: int) -> Any:
            return await producer.send(topic, f"{time.time()}|".encode() + payload, key=f"k{n % 64}".encode())

        # Throughput
        want[0], got = events, asyncio.Event()
        received.clear()
        started = time.perf_counter()
        futures = [await send(n) for n in range(events)]
        await asyncio.gather(*futures)
        await asyncio.wait_for(got.wait(), 120)
        throughput = {"events": events, "events_per_s": round(events / (time.perf_counter() - started))}
        throughput["latency_ms"] = summary_ms(received)
        # Latency at the fixed rate, sent in the same groups of 10 as the pipeline commits them.
        total = int(rate * seconds)
        received.clear()
        want[0], got = total, asyncio.Event()
        started = time.perf_counter()
        interval = 10 / rate
        pending = []
        for index, first in enumerate(range(0, total, 10)):
            pending += [await send(n) for n in range(first, min(total, first + 10))]
            delay = started + (index + 1) * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.gather(*pending)
        await asyncio.wait_for(got.wait(), 120)
        at_rate = {"events": total, "latency_ms": summary_ms(received)}
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await consumer.stop()
        await producer.stop()
    return {"throughput": throughput, "at_rate": at_rate}


async def run(events: int, rate: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(log_path=Path(tmp) / "broker.log") as embedded:
        broker = BrokerSettings(bootstrap_servers=embedded.bootstrap_servers, enable_idempotence=False)
        raw = await raw_kafka(broker, events, rate, seconds)
        pipeline = Pipeline(broker, Path(tmp))
        await pipeline.setup()
        try:
            ours = {
                "throughput": await pipeline.run_throughput(events),
                "at_rate": await pipeline.run_rate(rate, seconds),
            }
        finally:
            await pipeline.close()
    return {"raw": raw, "pipeline": ours}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.events, args.rate, args.seconds))
    raw_tp = result["raw"]["throughput"]["events_per_s"]
    ours_tp = result["pipeline"]["throughput"]["events_per_s"]
    ratio = round(ours_tp / raw_tp, 3)
    p99 = result["pipeline"]["at_rate"]["latency_ms"]["p99"]
    result |= {"ratio": ratio, "targets": {"ratio": 0.25, "p99_ms_at_rate": 100}, "rate": args.rate}

    def plot(figure: Any) -> None:
        left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
        left.bar(["raw aiokafka", "outbox->inbox"], [raw_tp, ours_tp], color=["grey", "tab:blue"])
        left.set_ylabel("events per second")
        left.set_title(f"Throughput (ratio {ratio})")
        qs = ["p50", "p90", "p99"]
        width = 0.38
        xs = range(len(qs))
        raw_lat = [result["raw"]["at_rate"]["latency_ms"][q] for q in qs]
        our_lat = [result["pipeline"]["at_rate"]["latency_ms"][q] for q in qs]
        right.bar([x - width / 2 for x in xs], raw_lat, width, label="raw send->receive", color="grey")
        right.bar([x + width / 2 for x in xs], our_lat, width, label="commit->handled", color="tab:blue")
        right.set_xticks(list(xs), qs)
        right.set_ylabel("ms")
        right.set_title(f"Latency at {args.rate} events/s")
        right.legend()

    save("event_pipeline", result, plot)
    print("Event pipeline (outbox -> Kafka -> consumer inbox) vs raw aiokafka")
    print(
        f"  raw aiokafka:   {raw_tp} events/s; at {args.rate}/s p99 {result['raw']['at_rate']['latency_ms']['p99']} ms"
    )
    print(
        f"  outbox->inbox:  {ours_tp} events/s (commits {result['pipeline']['throughput']['commit_per_s']}/s); "
        f"at {args.rate}/s offered {result['pipeline']['at_rate']['offered_per_s']}/s, "
        f"latency {result['pipeline']['at_rate']['latency_ms']}"
    )
    print(verdict("throughput ratio", ratio, 0.25))
    print(verdict(f"p99 commit->handled at {args.rate}/s", p99, 100, higher_is_better=False, unit=" ms"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
