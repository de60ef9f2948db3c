"""A consumer process for the fail-over test: one member of a group, applying events to a shared database.

Run as: python consumer_worker.py BOOTSTRAP DATABASE_URL TOPIC GROUP WORKER_NAME
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_shared.consumer import EventConsumer
from eproc_shared.db import create_engine, session_factory
from eproc_shared.events.catalogue import Catalogue, Event
from eproc_shared.events.envelope import Envelope
from eproc_shared.messaging_tables import messaging_tables
from eproc_shared.testing import broker_settings
from eproc_shared.topics import TopicSpec


async def main(bootstrap: str, database_url: str, topic: str, group: str, worker: str) -> None:
    spec = TopicSpec(topic, "test", "internal", 6, 1, -1, 1)
    catalogue = Catalogue(topics={topic: spec})

    @catalogue.register("test.order_placed", 1, topic)
    class OrderPlaced(Event):
        order_id: str
        seq: int
        poison: bool = False

    metadata = MetaData()
    tables = messaging_tables(metadata)
    effects = Table(
        "effects",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False),
        Column("order_id", String(50), nullable=False),
        Column("seq", Integer, nullable=False),
        Column("trace_id", String(32), nullable=True),
        Column("worker", String(50), nullable=True),
    )
    engine = create_engine(database_url)

    async def handle(session: AsyncSession, envelope: Envelope[Any]) -> None:
        await session.execute(
            insert(effects).values(
                event_id=envelope.id, order_id=envelope.data.order_id, seq=envelope.data.seq, worker=worker
            )
        )
        await asyncio.sleep(0.01)  # work takes time, so a kill lands mid-stream

    consumer = EventConsumer(
        group,
        sessions=session_factory(engine),
        tables=tables,
        broker=broker_settings(bootstrap),
        handlers={OrderPlaced.type_name(): handle},
        catalogue=catalogue,
    )
    task = asyncio.create_task(consumer.run())
    await consumer.started.wait()
    print("started", flush=True)
    await task


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
