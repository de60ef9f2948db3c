"""The shared consumer's catch-all handler (used by the log): every event, known type or not, once,
through a real broker, while typed handlers keep their events and unreadable records go to the DLQ."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import suppress
from typing import Any

from aiokafka import AIOKafkaConsumer
from audit_test_support import raw_headers
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_shared.broker import ensure_topics, make_producer
from eproc_shared.consumer import EventConsumer, RawEvent
from eproc_shared.db import create_engine, session_factory
from eproc_shared.events.envelope import Envelope
from eproc_shared.messaging_tables import messaging_tables
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import eventually, isolated_catalogue, order_events


async def test_catch_all_takes_every_type_once(database_url: str, broker: BrokerSettings) -> None:
    catalogue, topic = isolated_catalogue(partitions=2)
    order = order_events(catalogue, topic)
    metadata = MetaData()
    tables = messaging_tables(metadata)
    seen = Table(
        "seen",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("how", String(10)),
        Column("type", String(100)),
        Column("event_id", String(100)),
    )
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)

    async def typed(session: AsyncSession, envelope: Envelope[Any]) -> None:
        await session.execute(insert(seen).values(how="typed", type=envelope.type, event_id=envelope.id))

    async def raw(session: AsyncSession, event: RawEvent) -> None:
        await session.execute(insert(seen).values(how="raw", type=event.type, event_id=event.id))

    name = f"catch-all-{uuid.uuid4().hex[:6]}"
    consumer = EventConsumer(
        name,
        sessions=session_factory(engine),
        tables=tables,
        broker=broker,
        handlers={order.type_name(): typed},
        catalogue=catalogue,
        topics=[topic],
        retry_backoff_s=0.01,
        catch_all=raw,
    )
    await ensure_topics(broker, catalogue.topics.values())
    producer = make_producer(broker)
    await producer.start()
    task = asyncio.create_task(consumer.run())
    try:
        known = Envelope.new(order(order_id="o-1", seq=1), source="/test", key="o-1")
        await producer.send_and_wait(topic, value=known.value(), key=b"o-1", headers=known.headers())
        unknown = raw_headers("future.thing_happened.v7", event_id="u-1")
        for _ in range(2):  # a redelivery
            await producer.send_and_wait(topic, value=json.dumps({"anything": [1, 2]}).encode(), headers=unknown)
        await producer.send_and_wait(topic, value=b"{not json", headers=raw_headers("future.broken.v1"))
        await producer.send_and_wait(topic, value=b"{}", headers=[("ce_type", b"no.id.v1")])

        async def rows() -> list[tuple[str, str, str]]:
            async with engine.connect() as conn:
                found = (await conn.execute(select(seen.c.how, seen.c.type, seen.c.event_id).order_by(seen.c.id))).all()
                await conn.rollback()
            return [tuple(r) for r in found]  # type: ignore[misc]

        expected = {("typed", "test.order_placed.v1", known.id), ("raw", "future.thing_happened.v7", "u-1")}
        await eventually(lambda: _ready(rows, expected))
        dlq = AIOKafkaConsumer(
            consumer.dlq, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest", group_id=None
        )
        await dlq.start()
        try:
            dead = await dlq.getmany(timeout_ms=5000)
            while sum(len(v) for v in dead.values()) < 2:
                more = await dlq.getmany(timeout_ms=5000)
                if not more:
                    break
                for tp, records in more.items():
                    dead.setdefault(tp, []).extend(records)
        finally:
            await dlq.stop()
        errors = sorted(dict(r.headers)["x-eproc-error"].decode()[:30] for v in dead.values() for r in v)
        assert len(errors) == 2
        assert errors[0].startswith("missing CloudEvents headers")
        assert errors[1].startswith("value of future.broken.v1 is")
        assert sorted(await rows()) == sorted(expected)  # the redelivery added nothing
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await consumer.close()
        await producer.stop()
        await engine.dispose()


async def _ready(rows: Any, expected: set[tuple[str, str, str]]) -> bool:
    return set(await rows()) >= expected
