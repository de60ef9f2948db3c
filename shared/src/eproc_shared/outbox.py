"""Transactional outbox: events are written with the domain change, then relayed to Kafka.

A write never talks to Kafka, so no API call fails because the broker is down. The relay
publishes rows in id order (commit order per aggregate, because writes to one aggregate
serialise on its row) and marks them sent; while the broker is unreachable it backs off and
retries, and nothing is lost. On PostgreSQL an advisory lock makes one replica the relay,
so that two replicas never interleave one aggregate's events.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Iterable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from eproc_shared.broker import ensure_topics, make_producer
from eproc_shared.db import READONLY_OPTION, is_sqlite
from eproc_shared.events.catalogue import Event
from eproc_shared.events.envelope import TRACE_HEADERS, Envelope
from eproc_shared.messaging_tables import MessagingTables
from eproc_shared.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISH_FAILURES, OUTBOX_PUBLISHED
from eproc_shared.settings import BrokerSettings
from eproc_shared.telemetry import context_from, current_trace_headers, tracer
from eproc_shared.topics import TopicSpec

log = logging.getLogger(__name__)
_SESSION_KEY = "eproc_outbox"


class Outbox:
    """Stages events in the caller's transaction."""

    def __init__(self, tables: MessagingTables, source: str) -> None:
        self.table = tables.outbox
        self.source = source
        self._wake = asyncio.Event()

    async def add(
        self,
        session: AsyncSession,
        data: Event,
        *,
        key: str,
        subject: str | None = None,
        time: datetime | None = None,
    ) -> Envelope[Any]:
        envelope, row = self.row(data, key=key, subject=subject, time=time)
        await session.execute(insert(self.table).values(**row))
        session.sync_session.info[_SESSION_KEY] = self
        return envelope

    def row(
        self,
        data: Event,
        *,
        key: str,
        subject: str | None = None,
        time: datetime | None = None,
        trace: dict[str, str] | None = None,
    ) -> tuple[Envelope[Any], dict[str, Any]]:
        """The event's envelope and its outbox row, for :meth:`add_rows`. ``trace``: the trace context to carry
        (by default the current span's); a writer that stages events for other requests passes theirs."""
        envelope = Envelope.new(
            data,
            source=self.source,
            key=key,
            subject=subject,
            time=time,
            trace=current_trace_headers() if trace is None else trace,
        )
        values = {
            "event_id": envelope.id,
            "topic": envelope.topic,
            "key": envelope.key,
            "type": envelope.type,
            "headers": {name: value.decode() for name, value in envelope.headers()},
            "payload": envelope.value(),
            "created_at": datetime.now(UTC),
            "attempts": 0,
        }
        return envelope, values

    async def add_rows(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        """Stage many events (rows from :meth:`row`) in the caller's transaction, in one statement."""
        if rows:
            await session.execute(insert(self.table), rows)
            session.sync_session.info[_SESSION_KEY] = self

    def notify(self) -> None:
        self._wake.set()

    async def wait(self, timeout: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()


@sa_event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    outbox = session.info.pop(_SESSION_KEY, None)
    if outbox is not None:
        outbox.notify()


@sa_event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_SESSION_KEY, None)


class BrokerUnavailable(RuntimeError):
    pass


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        outbox: Outbox,
        broker: BrokerSettings,
        *,
        service: str,
        batch_size: int = 200,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 30.0,
        topics: Iterable[TopicSpec] | None = None,
    ) -> None:
        self.engine = engine
        # Reads take a plain snapshot: on SQLite a default transaction would queue for the write slot
        # behind every request that is writing a new event.
        self.reader = engine.execution_options(**{READONLY_OPTION: True})
        self.topics = list(topics) if topics is not None else None
        self.outbox = outbox
        self.table = outbox.table
        self.broker = broker
        self.service = service
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.max_backoff_s = max_backoff_s
        self._producer: AIOKafkaProducer | None = None
        self._lock_conn: AsyncConnection | None = None
        self._lock_key = int.from_bytes(
            hashlib.sha256(f"eproc-outbox:{service}".encode()).digest()[:8], "big", signed=True
        )
        self._outage_logged = False

    @property
    def connected(self) -> bool:
        return self._producer is not None

    async def run(self) -> None:
        backoff = 0.2
        while True:
            try:
                if not await self._hold_leadership():
                    await asyncio.sleep(self.poll_interval_s)
                    continue
                await self._ensure_producer()
                sent = await self.publish_batch()
                await self._report_backlog()
                backoff = 0.2
                if self._outage_logged:
                    log.info("broker reachable again; outbox relay resumed")
                    self._outage_logged = False
                if sent < self.batch_size:
                    await self.outbox.wait(self.poll_interval_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                OUTBOX_PUBLISH_FAILURES.labels(self.service).inc()
                if not self._outage_logged:
                    log.warning("outbox relay cannot publish, will retry: %r", exc)
                    self._outage_logged = True
                await self._drop_producer()
                await self._report_backlog(quiet=True)
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, self.max_backoff_s)

    async def close(self) -> None:
        await self._drop_producer()
        if self._lock_conn is not None:
            await self._lock_conn.close()
            self._lock_conn = None

    async def _hold_leadership(self) -> bool:
        if is_sqlite(str(self.engine.url)):
            return True  # one process per SQLite file
        try:
            if self._lock_conn is None:
                self._lock_conn = await self.engine.connect()
                got = await self._lock_conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._lock_key})
                await self._lock_conn.commit()
                if not got:
                    await self._lock_conn.close()
                    self._lock_conn = None
                    return False
            else:
                await self._lock_conn.execute(text("SELECT 1"))
                await self._lock_conn.commit()
            return True
        except Exception:
            if self._lock_conn is not None:
                await self._lock_conn.invalidate()
                self._lock_conn = None
            raise

    async def _ensure_producer(self) -> None:
        if self._producer is not None:
            return
        producer = make_producer(self.broker)
        try:
            await producer.start()
            await ensure_topics(self.broker, self.topics)
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), timeout=5)
            except Exception:
                log.debug("producer did not stop cleanly", exc_info=True)

    async def publish_batch(self) -> int:
        """Publish up to batch_size unsent rows; returns how many were sent."""
        assert self._producer is not None
        async with self.reader.connect() as conn:
            rows = (
                await conn.execute(
                    select(self.table)
                    .where(self.table.c.sent_at.is_(None))
                    .order_by(self.table.c.id)
                    .limit(self.batch_size)
                )
            ).all()
            await conn.rollback()
        if not rows:
            return 0
        pending = []
        for row in rows:
            stored: dict[str, str] = dict(row.headers)
            parent = context_from({k: v for k, v in stored.items() if k in TRACE_HEADERS})
            with tracer().start_as_current_span(
                f"{row.topic} publish",
                context=parent,
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": row.topic,
                    "messaging.message.id": row.event_id,
                    "messaging.kafka.message.key": row.key,
                    "cloudevents.event_type": row.type,
                },
            ):
                headers = {k: v for k, v in stored.items() if k not in TRACE_HEADERS} | current_trace_headers()
                future = await self._producer.send(
                    row.topic,
                    value=bytes(row.payload),
                    key=row.key.encode(),
                    headers=[(k, v.encode()) for k, v in headers.items()],
                )
            pending.append((row.id, future))
        sent_ids: list[int] = []
        failure: BaseException | None = None
        for row_id, future in pending:
            try:
                await future
            except Exception as exc:
                failure = exc
                break
            sent_ids.append(row_id)
        if sent_ids:
            await self._mark_sent(sent_ids)
            OUTBOX_PUBLISHED.labels(self.service).inc(len(sent_ids))
        if failure is not None:
            await self._record_failure(pending[len(sent_ids)][0], failure)
            raise BrokerUnavailable(str(failure)) from failure
        return len(sent_ids)

    async def _mark_sent(self, ids: list[int]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(self.table)
                .where(self.table.c.id.in_(ids))
                .values(sent_at=datetime.now(UTC), attempts=self.table.c.attempts + 1)
            )

    async def _record_failure(self, row_id: int, exc: BaseException) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(self.table)
                .where(self.table.c.id == row_id)
                .values(attempts=self.table.c.attempts + 1, last_error=repr(exc)[:2000])
            )

    async def _report_backlog(self, quiet: bool = False) -> None:
        try:
            async with self.reader.connect() as conn:
                backlog = await conn.scalar(
                    select(func.count()).select_from(self.table).where(self.table.c.sent_at.is_(None))
                )
                await conn.rollback()
            OUTBOX_BACKLOG.labels(self.service).set(backlog or 0)
        except Exception:
            if not quiet:
                raise

    async def broker_ready(self, timeout_s: float = 2.0) -> bool:
        if self._producer is None:
            return False
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout_s)
            return True
        except Exception:
            return False
