"""A sample service built with the shared machinery, as a real service would be, for the messaging tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from eproc_shared.consumer import EventConsumer
from eproc_shared.db import create_engine, session_factory
from eproc_shared.events.catalogue import Catalogue, Event
from eproc_shared.events.envelope import Envelope
from eproc_shared.messaging_tables import MessagingTables, messaging_tables
from eproc_shared.outbox import Outbox, OutboxRelay
from eproc_shared.service_app import ConsumerSpec, DbSession, Runtime, build_service_app
from eproc_shared.settings import BrokerSettings, ServiceSettings
from eproc_shared.telemetry import current_trace_id
from eproc_shared.testing import isolated_catalogue, order_events


def sample_schema() -> tuple[MetaData, MessagingTables, Table, Table]:
    metadata = MetaData()
    tables = messaging_tables(metadata)
    orders = Table(
        "orders",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("order_id", String(50), nullable=False),
        Column("seq", Integer, nullable=False),
    )
    # Deliberately no unique constraint: a double application must show up as two rows.
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
    return metadata, tables, orders, effects


@dataclass
class Messaging:
    """Everything a messaging test needs, wired to a real database and a real broker."""

    catalogue: Catalogue
    topic: str
    event: type[Event]
    engine: AsyncEngine
    tables: MessagingTables
    orders: Table
    effects: Table
    outbox: Outbox
    broker: BrokerSettings

    async def place(self, order_id: str, seq: int, *, poison: bool = False, fail: bool = False) -> None:
        async with session_factory(self.engine)() as session, session.begin():
            await session.execute(insert(self.orders).values(order_id=order_id, seq=seq))
            await self.outbox.add(session, self.event(order_id=order_id, seq=seq, poison=poison), key=order_id)
            if fail:
                raise RuntimeError("domain rule failed after the event was staged")

    def relay(self, **kwargs: Any) -> OutboxRelay:
        return OutboxRelay(
            self.engine,
            self.outbox,
            self.broker,
            service="sample",
            poll_interval_s=0.1,
            max_backoff_s=1.0,
            topics=self.catalogue.topics.values(),
            **kwargs,
        )

    def consumer(self, name: str = "sample-consumer", max_attempts: int = 2) -> EventConsumer:
        return EventConsumer(
            name,
            sessions=session_factory(self.engine),
            tables=self.tables,
            broker=self.broker,
            handlers={self.event.type_name(): self.handle},
            catalogue=self.catalogue,
            max_attempts=max_attempts,
            retry_backoff_s=0.01,
        )

    async def handle(self, session: AsyncSession, envelope: Envelope[Any]) -> None:
        await session.execute(
            insert(self.effects).values(
                event_id=envelope.id,
                order_id=envelope.data.order_id,
                seq=envelope.data.seq,
                trace_id=current_trace_id(),
            )
        )
        # After its effect, so that a failed event that leaked a half-done effect would show as a row.
        if envelope.data.poison:
            raise ValueError(f"order {envelope.data.order_id} cannot be handled")

    async def effects_rows(self) -> list[Any]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(self.effects).order_by(self.effects.c.id))).all()
            await conn.rollback()
        return list(rows)

    async def count(self, table: Table) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(func.count()).select_from(table))
            await conn.rollback()
        return int(value or 0)


async def _messaging(database_url: str, broker: BrokerSettings, partitions: int = 3) -> AsyncIterator[Messaging]:
    catalogue, topic = isolated_catalogue(partitions=partitions)
    event_type = order_events(catalogue, topic)
    metadata, tables, orders, effects = sample_schema()
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield Messaging(
            catalogue, topic, event_type, engine, tables, orders, effects, Outbox(tables, "/test/sample"), broker
        )
    finally:
        await engine.dispose()


@pytest.fixture
async def messaging(database_url: str, broker: BrokerSettings) -> AsyncIterator[Messaging]:
    async for item in _messaging(database_url, broker):
        yield item


class OrderIn(BaseModel):
    order_id: str
    seq: int


def sample_app(database_url: str, broker: BrokerSettings) -> tuple[Any, Catalogue, Table, Table]:
    """A FastAPI service made with build_service_app: POST /orders writes a row and an event;
    its consumer records each event's effect with the trace id it ran under."""
    catalogue, topic = isolated_catalogue()
    event_type = order_events(catalogue, topic)
    metadata, tables, orders, effects = sample_schema()
    router = APIRouter()

    @router.post("/orders", status_code=201)
    async def place(body: OrderIn, session: DbSession, runtime: Runtime) -> dict[str, str | None]:
        await session.execute(insert(orders).values(order_id=body.order_id, seq=body.seq))
        envelope = await runtime.outbox.add(
            session, event_type(order_id=body.order_id, seq=body.seq), key=body.order_id
        )
        return {"event_id": envelope.id, "trace_id": current_trace_id()}

    @router.get("/orders/{order_id}/effects")
    async def effects_of(order_id: str, request: Request) -> list[dict[str, Any]]:
        async with request.app.state.runtime.sessions() as session:
            rows = (await session.execute(select(effects).where(effects.c.order_id == order_id))).all()
        return [dict(row._mapping) for row in rows]

    async def handle(session: AsyncSession, envelope: Envelope[Any]) -> None:
        await session.execute(
            insert(effects).values(
                event_id=envelope.id,
                order_id=envelope.data.order_id,
                seq=envelope.data.seq,
                trace_id=current_trace_id(),
            )
        )

    async def create_tables(runtime: Any) -> None:
        async with runtime.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    settings = ServiceSettings(
        service_name="sample",
        database_url=database_url,
        run_migrations=False,
        outbox_poll_interval_s=0.1,
        broker=broker,
    )
    app = build_service_app(
        settings,
        title="Sample",
        description="Sample service for tests",
        version="0",
        migrations=None,  # type: ignore[arg-type]
        metadata=metadata,
        tables=tables,
        routers=[router],
        consumers=[ConsumerSpec("sample-consumer", {event_type.type_name(): handle})],
        on_start=create_tables,
        catalogue=catalogue,
    )
    return app, catalogue, orders, effects


@pytest.fixture
def messaging_on():
    """The sample wiring for a broker of the test's choosing: ``async for m in messaging_on(url, broker)``."""
    return _messaging


@pytest.fixture
def sample_service():
    return sample_app
