"""Idempotent event consumer with a dead-letter topic.

Each event's handler effects and its inbox row (consumer, source, id) commit in one
transaction, and offsets are committed only afterwards. A redelivered event finds its inbox
row and is a no-op, which also makes a rebalance safe: whatever the new owner of a partition
re-reads was either committed with its inbox row or not applied at all. A handler that keeps
failing sends the event to ``<consumer>.dlq`` with the error in headers, and the partition
moves on.

Events of one partition are applied several to a transaction (``batch_size``), each inside its own
savepoint: a handler that fails rolls back only its event, which then takes the one-at-a-time path
with retries and the DLQ, and the events after it wait for it, so order per partition holds.

A consumer that must see every event, including types this process does not know (the audit
log), passes ``catch_all``: it receives each event no typed handler takes, as a :class:`RawEvent`
parsed from the CloudEvents headers and the JSON value only, with the same inbox guarantee.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from opentelemetry import trace
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eproc_shared.broker import ensure_topics, make_consumer, make_producer
from eproc_shared.events.catalogue import CATALOGUE, Catalogue
from eproc_shared.events.envelope import (
    SPECVERSION,
    TRACE_HEADERS,
    Envelope,
    EnvelopeError,
    UnknownEventType,
    decode_headers,
)
from eproc_shared.messaging_tables import MessagingTables
from eproc_shared.metrics import CONSUMER_EVENTS, CONSUMER_LAG, DLQ_EVENTS
from eproc_shared.settings import BrokerSettings
from eproc_shared.telemetry import context_from, tracer
from eproc_shared.topics import TopicSpec, dlq_topic

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope[Any]], Awaitable[None]]


@dataclass(frozen=True)
class RawEvent:
    """An event of any type, known or not: CloudEvents attributes as received and the parsed JSON value.

    ``attributes`` holds every ``ce_*`` header (prefix removed) and ``datacontenttype``; ``time``
    is the ``ce_time`` string exactly as sent (``None`` if absent). ``data`` is ``None`` for an
    empty value; ``value`` keeps the record's bytes as they came.
    """

    id: str
    source: str
    type: str
    time: str | None
    subject: str | None
    key: str | None
    data: Any
    attributes: dict[str, str]
    topic: str
    partition: int
    offset: int
    value: bytes | None = None
    trace: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: ConsumerRecord[bytes, bytes]) -> RawEvent:
        """Raises EnvelopeError when CloudEvents headers are missing or the value is not JSON."""
        attrs = decode_headers(record.headers)
        missing = [name for name in ("ce_id", "ce_source", "ce_type", "ce_specversion") if name not in attrs]
        if missing:
            raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
        if attrs["ce_specversion"] != SPECVERSION:
            raise EnvelopeError(f"unsupported specversion {attrs['ce_specversion']!r}")
        try:
            data = json.loads(record.value) if record.value else None
        except ValueError as exc:
            raise EnvelopeError(f"value of {attrs['ce_type']} is not JSON: {exc}") from exc
        attributes = {name[3:]: value for name, value in attrs.items() if name.startswith("ce_")}
        if "content-type" in attrs:
            attributes["datacontenttype"] = attrs["content-type"]
        return cls(
            id=attrs["ce_id"],
            source=attrs["ce_source"],
            type=attrs["ce_type"],
            time=attrs.get("ce_time"),
            subject=attrs.get("ce_subject"),
            key=record.key.decode(errors="replace") if record.key is not None else None,
            data=data,
            attributes=attributes,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            value=record.value,
            trace={name: attrs[name] for name in TRACE_HEADERS if name in attrs},
        )


RawHandler = Callable[[AsyncSession, RawEvent], Awaitable[None]]
Received = Envelope[Any] | RawEvent
AnyHandler = Handler | RawHandler


class _FinishFailed(Exception):
    """The batch's ``finish`` failed: roll the batch back."""


#: Applies one event in the batch's transaction: its outcome, or None to stop the batch before it.
_ApplyOne = Callable[[AsyncSession, ConsumerRecord[bytes, bytes], Received, AnyHandler], Awaitable[str | None]]


class EventConsumer:
    def __init__(
        self,
        name: str,
        *,
        sessions: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        broker: BrokerSettings,
        handlers: dict[str, Handler],
        catalogue: Catalogue = CATALOGUE,
        topics: Iterable[str] | None = None,
        max_attempts: int = 5,
        retry_backoff_s: float = 0.2,
        catch_all: RawHandler | None = None,
        batch_size: int = 100,
        finish: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> None:
        """``finish``: called once at the end of every transaction that applied events, inside it, for work the
        handlers leave to be done once per batch rather than once per event (it sees what they left in
        ``session.info``). If it fails, the batch is rolled back and its first event goes the careful way."""
        unknown = [t for t in handlers if catalogue.model_for(t) is None]
        if unknown:
            raise ValueError(f"consumer {name}: handlers for types not in the catalogue: {unknown}")
        if catch_all is not None and not topics:
            raise ValueError(f"consumer {name}: a catch-all handler needs the topics to read")
        self.catch_all = catch_all
        self.finish = finish
        self.name = name
        self.sessions = sessions
        self.inbox = tables.inbox
        self.broker = broker
        self.handlers = handlers
        self.catalogue = catalogue
        self.topics = sorted(set(topics or (catalogue.model_for(t).topic for t in handlers)))  # type: ignore[union-attr]
        self.max_attempts = max_attempts
        self.batch_size = max(1, batch_size)
        self.retry_backoff_s = retry_backoff_s
        self.dlq = dlq_topic(name)
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq_producer: AIOKafkaProducer | None = None
        self.started = asyncio.Event()
        self._positions: dict[TopicPartition, int] = {}

    async def run(self) -> None:
        backoff = 0.2
        while True:
            try:
                await self._start()
                backoff = 0.2
                await self._loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s interrupted, restarting: %r", self.name, exc)
                await self._stop_clients()
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, 30.0)

    async def close(self) -> None:
        await self._stop_clients()

    async def _start(self) -> None:
        if self._consumer is not None:
            return
        specs = self.catalogue.topics
        wanted = [specs[t] for t in self.topics if t in specs]
        dlq_spec = TopicSpec(
            name=self.dlq,
            owner=self.name,
            visibility="internal",
            partitions=1,
            replication_factor=self.broker.topic_replication_factor or 1,
            retention_ms=-1,
            min_insync_replicas=1,
        )
        await ensure_topics(self.broker, [*wanted, dlq_spec])
        producer = make_producer(self.broker)
        consumer = make_consumer(self.broker, self.name, self.topics)
        try:
            await producer.start()
            await consumer.start()
        except BaseException:
            await consumer.stop()
            await producer.stop()
            raise
        self._consumer, self._dlq_producer = consumer, producer
        self.started.set()

    async def _stop_clients(self) -> None:
        consumer, producer = self._consumer, self._dlq_producer
        self._consumer = self._dlq_producer = None
        self.started.clear()
        for client in (consumer, producer):
            if client is not None:
                try:
                    await asyncio.wait_for(client.stop(), timeout=10)
                except Exception:
                    log.debug("kafka client did not stop cleanly", exc_info=True)

    async def _loop(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            done: dict[TopicPartition, int] = {}
            try:
                for tp, records in batches.items():
                    await self._run_partition(consumer, tp, records, done)
            finally:
                # One offset commit for everything applied, also when a failure interrupts the round.
                if done:
                    await self._commit(consumer, done)
                    self._positions.update(done)
            self._report_lag(consumer)

    async def _run_partition(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: list[ConsumerRecord[bytes, bytes]],
        done: dict[TopicPartition, int],
    ) -> None:
        index = 0
        while index < len(records):
            record = records[index]
            try:
                applied = await self._apply_batch(records[index : index + self.batch_size])
                if applied == 0:
                    # The first event needs the careful path: retries, or the DLQ.
                    await self._process(record)
                    applied = 1
            except Exception:
                # Infrastructure failure (database or DLQ unreachable): re-read from this record.
                consumer.seek(tp, record.offset)
                raise
            index += applied
            done[tp] = records[index - 1].offset + 1

    def _prepare(self, record: ConsumerRecord[bytes, bytes]) -> tuple[Received, AnyHandler] | str | None:
        """The event and its handler; a type name when there is nothing to apply; None when it needs the DLQ."""
        if self.catch_all is not None and decode_headers(record.headers).get("ce_type") not in self.handlers:
            try:
                return RawEvent.from_record(record), self.catch_all
            except EnvelopeError:
                return None
        try:
            envelope = Envelope.from_record(record.key, record.value, record.headers, self.catalogue)
        except UnknownEventType as exc:
            return exc.type_name
        except EnvelopeError:
            return None
        handler = self.handlers.get(envelope.type)
        return (envelope, handler) if handler is not None else envelope.type

    async def _apply_batch(self, records: list[ConsumerRecord[bytes, bytes]]) -> int:
        """Apply records in order in one transaction; returns how many, stopping before one that fails.

        First the common case, cheaply: every event new and handled without error, so no savepoint is needed
        around each (two statements an event saved). Anything else (a redelivery meeting its inbox row, a
        failing handler or ``finish``) rolls that attempt back, and the batch is applied again with a savepoint
        per event, which sorts it out event by event."""
        if len(records) > 1:
            try:
                return await self._apply_all(records, self._apply_plainly)
            except Exception as exc:
                log.debug("consumer %s: batch of %d taken event by event (%r)", self.name, len(records), exc)
        try:
            return await self._apply_all(records, self._apply_in_savepoint)
        except _FinishFailed as exc:
            log.warning("consumer %s: finishing a batch failed (%r); applying one by one", self.name, exc.__cause__)
            return 0

    async def _apply_all(self, records: list[ConsumerRecord[bytes, bytes]], apply_one: _ApplyOne) -> int:
        outcomes: list[tuple[str, str]] = []
        async with self.sessions() as session, session.begin():
            for record in records:
                prepared = self._prepare(record)
                if prepared is None:
                    break
                if isinstance(prepared, str):
                    outcomes.append((prepared, "skipped"))
                    continue
                envelope, handler = prepared
                outcome = await apply_one(session, record, envelope, handler)
                if outcome is None:
                    break
                outcomes.append((envelope.type, outcome))
            if self.finish is not None and any(outcome == "handled" for _, outcome in outcomes):
                try:
                    await self.finish(session)
                except Exception as exc:
                    raise _FinishFailed from exc
        for type_name, outcome in outcomes:
            CONSUMER_EVENTS.labels(self.name, type_name, outcome).inc()
        return len(outcomes)

    def _span(self, record: ConsumerRecord[bytes, bytes], envelope: Received) -> Any:
        return tracer().start_as_current_span(
            f"{record.topic} process",
            context=context_from(envelope.trace),
            kind=trace.SpanKind.CONSUMER,
            attributes=self._span_attributes(record, envelope),
        )

    async def _apply_plainly(
        self, session: AsyncSession, record: ConsumerRecord[bytes, bytes], envelope: Received, handler: AnyHandler
    ) -> str:
        """No savepoint: any error ends the whole attempt (see :meth:`_apply_batch`)."""
        with self._span(record, envelope):
            await session.execute(insert(self.inbox).values(**self._inbox_row(record, envelope, "handled")))
            await handler(session, envelope)  # type: ignore[arg-type]  # a RawEvent goes to the catch-all only
        return "handled"

    async def _apply_in_savepoint(
        self, session: AsyncSession, record: ConsumerRecord[bytes, bytes], envelope: Received, handler: AnyHandler
    ) -> str | None:
        with self._span(record, envelope) as span:
            savepoint = await session.begin_nested()
            try:
                # The inbox row first: its unique key tells a redelivery apart in one statement.
                await session.execute(insert(self.inbox).values(**self._inbox_row(record, envelope, "handled")))
            except IntegrityError:
                await savepoint.rollback()
                return "duplicate"
            try:
                await handler(session, envelope)  # type: ignore[arg-type]  # a RawEvent goes to the catch-all only
            except Exception as exc:
                # Left for the one-at-a-time path, which retries it and may dead-letter it.
                span.record_exception(exc)
                await savepoint.rollback()
                return None
            await savepoint.commit()
            return "handled"

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            # aiokafka retries some commit errors forever; a commit that cannot land soon is not worth
            # blocking the partition for, because the inbox turns the re-read into a no-op.
            await asyncio.wait_for(consumer.commit(offsets), self.broker.request_timeout_ms / 1000)
        except (CommitFailedError, KafkaError, TimeoutError) as exc:
            # The partition moved to another member; it will re-read and the inbox makes that a no-op.
            log.info("consumer %s could not commit %s: %r", self.name, offsets, exc)

    def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            position = self._positions.get(tp)
            if high is not None and position is not None:
                CONSUMER_LAG.labels(self.name, tp.topic, str(tp.partition)).set(max(0, high - position))

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if self.catch_all is not None and decode_headers(record.headers).get("ce_type") not in self.handlers:
            await self._process_raw(record, self.catch_all)
            return
        try:
            envelope = Envelope.from_record(record.key, record.value, record.headers, self.catalogue)
        except UnknownEventType as exc:
            CONSUMER_EVENTS.labels(self.name, exc.type_name, "skipped").inc()
            return
        except EnvelopeError as exc:
            await self._dead_letter(record, exc, attempts=1, envelope=None)
            return
        handler = self.handlers.get(envelope.type)
        if handler is None:
            CONSUMER_EVENTS.labels(self.name, envelope.type, "skipped").inc()
            return
        await self._handle(record, envelope, handler)

    async def _process_raw(self, record: ConsumerRecord[bytes, bytes], handler: RawHandler) -> None:
        try:
            event = RawEvent.from_record(record)
        except EnvelopeError as exc:
            await self._dead_letter(record, exc, attempts=1, envelope=None)
            return
        await self._handle(record, event, handler)

    async def _handle(self, record: ConsumerRecord[bytes, bytes], envelope: Received, handler: AnyHandler) -> None:
        with self._span(record, envelope) as span:
            for attempt in range(1, self.max_attempts + 1):
                try:
                    outcome = await self._apply(record, envelope, handler)
                    CONSUMER_EVENTS.labels(self.name, envelope.type, outcome).inc()
                    return
                except Exception as exc:
                    span.record_exception(exc)
                    if attempt == self.max_attempts:
                        log.error(
                            "consumer %s gives up on %s after %d attempts: %r", self.name, envelope.id, attempt, exc
                        )
                        await self._dead_letter(record, exc, attempts=attempt, envelope=envelope)
                        return
                    await asyncio.sleep(self.retry_backoff_s * 2 ** (attempt - 1))

    def _span_attributes(self, record: ConsumerRecord[bytes, bytes], envelope: Received) -> dict[str, Any]:
        return {
            "messaging.system": "kafka",
            "messaging.destination.name": record.topic,
            "messaging.consumer.group.name": self.name,
            "messaging.message.id": envelope.id,
            "messaging.kafka.offset": record.offset,
            "cloudevents.event_type": envelope.type,
        }

    async def _apply(self, record: ConsumerRecord[bytes, bytes], envelope: Received, handler: AnyHandler) -> str:
        try:
            async with self.sessions() as session, session.begin():
                if await self._seen(session, envelope):
                    return "duplicate"
                await handler(session, envelope)  # type: ignore[arg-type]  # a RawEvent goes to the catch-all only
                await session.execute(insert(self.inbox).values(**self._inbox_row(record, envelope, "handled")))
                if self.finish is not None:
                    await self.finish(session)
            return "handled"
        except IntegrityError:
            # A concurrent delivery of the same event committed first.
            async with self.sessions() as session:
                if await self._seen(session, envelope):
                    return "duplicate"
            raise

    async def _seen(self, session: AsyncSession, envelope: Received) -> bool:
        c = self.inbox.c
        found = await session.scalar(
            select(c.id).where(c.consumer == self.name, c.source == envelope.source, c.event_id == envelope.id)
        )
        return found is not None

    def _inbox_row(self, record: ConsumerRecord[bytes, bytes], envelope: Received, status: str) -> dict[str, Any]:
        return {
            "consumer": self.name,
            "source": envelope.source,
            "event_id": envelope.id,
            "type": envelope.type,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "status": status,
            "processed_at": datetime.now(UTC),
        }

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], exc: BaseException, *, attempts: int, envelope: Received | None
    ) -> None:
        assert self._dlq_producer is not None
        headers = [
            *record.headers,
            ("x-eproc-error", str(exc)[:4000].encode()),
            ("x-eproc-error-type", type(exc).__name__.encode()),
            ("x-eproc-consumer", self.name.encode()),
            ("x-eproc-attempts", str(attempts).encode()),
            ("x-eproc-original-topic", record.topic.encode()),
            ("x-eproc-original-partition", str(record.partition).encode()),
            ("x-eproc-original-offset", str(record.offset).encode()),
        ]
        await self._dlq_producer.send_and_wait(self.dlq, value=record.value, key=record.key, headers=headers)
        DLQ_EVENTS.labels(self.name).inc()
        CONSUMER_EVENTS.labels(self.name, envelope.type if envelope else "invalid", "dead_lettered").inc()
        if envelope is not None:
            # Remember it, so that a redelivery does not dead-letter the same event twice.
            try:
                async with self.sessions() as session, session.begin():
                    if not await self._seen(session, envelope):
                        await session.execute(
                            insert(self.inbox).values(**self._inbox_row(record, envelope, "dead_lettered"))
                        )
            except IntegrityError:
                pass
