"""The transactional outbox and the idempotent consumer, against a real broker and real databases."""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, insert, select

from eproc_shared.broker import ensure_topics, make_consumer, make_producer
from eproc_shared.consumer import EventConsumer
from eproc_shared.db import session_factory
from eproc_shared.events.envelope import Envelope
from eproc_shared.testing import broker_settings, eventually


async def test_state_change_and_event_commit_together(messaging) -> None:
    await messaging.place("A-1", 1)
    with pytest.raises(RuntimeError):
        await messaging.place("A-2", 1, fail=True)

    assert await messaging.count(messaging.orders) == 1
    async with messaging.engine.connect() as conn:
        staged = (await conn.execute(select(messaging.tables.outbox))).all()
    assert [row.key for row in staged] == ["A-1"], "the rolled-back order must leave no event behind"
    assert staged[0].sent_at is None
    headers = staged[0].headers
    assert headers["ce_type"] == "test.order_placed.v1"
    assert headers["ce_specversion"] == "1.0"
    assert json.loads(staged[0].payload) == {"order_id": "A-1", "seq": 1, "poison": False}


async def _run(*coroutines):
    tasks = [asyncio.create_task(c) for c in coroutines]
    return tasks


async def _stop(tasks, *closables) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with suppress(asyncio.CancelledError):
            await task
    for closable in closables:
        await closable.close()


async def test_events_flow_once_with_cloudevents_headers(messaging) -> None:
    relay, consumer = messaging.relay(), messaging.consumer()
    tasks = await _run(relay.run(), consumer.run())
    try:
        for seq in range(1, 6):
            await messaging.place("B-1", seq)
        rows = await eventually(lambda: _rows_when(messaging, 5))
        assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
        async with messaging.engine.connect() as conn:
            unsent = (
                await conn.execute(select(messaging.tables.outbox).where(messaging.tables.outbox.c.sent_at.is_(None)))
            ).all()
        assert unsent == []
    finally:
        await _stop(tasks, relay, consumer)


async def _rows_when(messaging, n: int):
    rows = await messaging.effects_rows()
    return rows if len(rows) >= n else None


async def test_same_event_delivered_twice_is_applied_once(messaging) -> None:
    """Publish one envelope twice (as a relay retry after a lost ack would) and replay the topic."""
    envelope = Envelope.new(messaging.event(order_id="C-1", seq=1), source="/test/sample", key="C-1")
    await ensure_topics(messaging.broker, messaging.catalogue.topics.values())
    producer = make_producer(messaging.broker)
    await producer.start()
    try:
        for _ in range(2):
            await producer.send_and_wait(messaging.topic, envelope.value(), key=b"C-1", headers=envelope.headers())
        marker = Envelope.new(messaging.event(order_id="C-1", seq=2), source="/test/sample", key="C-1")
        await producer.send_and_wait(messaging.topic, marker.value(), key=b"C-1", headers=marker.headers())
    finally:
        await producer.stop()

    consumer = messaging.consumer()
    tasks = await _run(consumer.run())
    try:
        rows = await eventually(lambda: _rows_when(messaging, 2))
        assert [(r.event_id, r.seq) for r in rows] == [(envelope.id, 1), (marker.id, 2)]
    finally:
        await _stop(tasks, consumer)

    # A new member of the same group that starts from the beginning (offsets lost) changes nothing.
    replay = messaging.consumer()
    tasks = await _run(replay.run())
    try:
        await replay.started.wait()
        await asyncio.sleep(2)
        assert len(await messaging.effects_rows()) == 2
    finally:
        await _stop(tasks, replay)


async def test_poison_event_goes_to_dlq_and_the_partition_moves_on(messaging) -> None:
    await ensure_topics(messaging.broker, messaging.catalogue.topics.values())
    producer = make_producer(messaging.broker)
    await producer.start()
    try:
        # Not an event at all: no CloudEvents headers.
        await producer.send_and_wait(messaging.topic, b"{not json", key=b"D-1")
    finally:
        await producer.stop()
    # Good events before and after it land in one consumer batch (one transaction, a savepoint each).
    await messaging.place("D-1", 0)
    await messaging.place("D-1", 1, poison=True)  # valid event whose handler always fails
    await messaging.place("D-1", 2)
    await messaging.place("D-1", 3)

    name = f"poison-{messaging.topic}"
    relay, consumer = messaging.relay(), messaging.consumer(name=name, max_attempts=3)
    tasks = await _run(relay.run(), consumer.run())
    try:
        rows = await eventually(lambda: _rows_when(messaging, 3))
        assert [r.seq for r in rows] == [0, 2, 3]
    finally:
        await _stop(tasks, relay, consumer)

    dlq = AIOKafkaConsumer(
        f"{name}.dlq", bootstrap_servers=messaging.broker.bootstrap_servers, auto_offset_reset="earliest"
    )
    await dlq.start()
    try:
        records = []
        deadline = asyncio.get_running_loop().time() + 30
        while len(records) < 2 and asyncio.get_running_loop().time() < deadline:
            batch = await asyncio.wait_for(dlq.getmany(timeout_ms=1000), 10)
            records.extend(r for rs in batch.values() for r in rs)
    finally:
        await dlq.stop()
    assert len(records) == 2, f"the DLQ holds {len(records)} of the 2 dead-lettered records after 30 s"
    headers = [dict(r.headers) for r in records]
    assert headers[0]["x-eproc-error-type"] == b"EnvelopeError"
    assert headers[1]["x-eproc-error-type"] == b"ValueError"
    assert b"cannot be handled" in headers[1]["x-eproc-error"]
    assert headers[1]["x-eproc-attempts"] == b"3"
    assert headers[1]["x-eproc-original-topic"] == messaging.topic.encode()
    assert headers[1]["ce_type"] == b"test.order_placed.v1"
    inbox = messaging.tables.inbox
    async with messaging.engine.connect() as conn:
        statuses = [row.status for row in (await conn.execute(select(inbox).order_by(inbox.c.id))).all()]
    assert statuses == ["handled", "dead_lettered", "handled", "handled"]


async def test_writes_succeed_while_broker_is_down_and_arrive_in_order_after(
    database_url, own_broker, messaging_on
) -> None:
    settings = broker_settings(own_broker.bootstrap_servers)
    async for messaging in messaging_on(database_url, settings, partitions=3):
        relay, consumer = messaging.relay(), messaging.consumer()
        tasks = await _run(relay.run(), consumer.run())
        try:
            for seq in range(1, 4):
                for key in ("E-1", "E-2", "E-3"):
                    await messaging.place(key, seq)
            await eventually(lambda: _rows_when(messaging, 9))

            own_broker.pause()
            started = datetime.now(UTC)
            for seq in range(4, 14):  # every write succeeds while Kafka is gone
                for key in ("E-1", "E-2", "E-3"):
                    await messaging.place(key, seq)
            assert (datetime.now(UTC) - started).total_seconds() < 5, "writes must not wait for the broker"
            await asyncio.sleep(1.5)  # let the relay fail and back off
            assert len(await messaging.effects_rows()) == 9

            own_broker.resume()
            rows = await eventually(lambda: _rows_when(messaging, 39), timeout_s=60)
            assert len(rows) == 39
            for key in ("E-1", "E-2", "E-3"):
                assert [r.seq for r in rows if r.order_id == key] == list(range(1, 14)), f"order of {key}"
        finally:
            await _stop(tasks, relay, consumer)


async def test_outside_librdkafka_client_reads_cloudevents(messaging) -> None:
    """Another city's system, using librdkafka (confluent-kafka), reads our binary-mode CloudEvents."""
    confluent_kafka = pytest.importorskip("confluent_kafka", reason="confluent-kafka is in requirements-dev.txt")
    relay = messaging.relay()
    tasks = await _run(relay.run())
    try:
        await messaging.place("F-1", 7)
        await eventually(lambda: _sent(messaging))
    finally:
        await _stop(tasks, relay)

    def read() -> list:
        consumer = confluent_kafka.Consumer(
            {
                "bootstrap.servers": messaging.broker.bootstrap_servers,
                "group.id": "outside-city",
                "enable.auto.commit": False,
            }
        )
        # Manual assignment: with the embedded broker a librdkafka group join takes ~20 s.
        consumer.assign([confluent_kafka.TopicPartition(messaging.topic, p, 0) for p in range(3)])
        found = []
        try:
            for _ in range(50):
                message = consumer.poll(0.2)
                if message is not None and not message.error():
                    found.append(message)
                    break
        finally:
            consumer.close()
        return found

    messages = await asyncio.to_thread(read)
    assert messages, "the outside client read nothing"
    message = messages[0]
    headers = {k: v.decode() for k, v in message.headers()}
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == "test.order_placed.v1"
    assert headers["ce_source"] == "/test/sample"
    assert headers["content-type"] == "application/json"
    assert datetime.fromisoformat(headers["ce_time"]).tzinfo is not None
    assert len(headers["ce_id"]) == 36
    assert message.key() == b"F-1"
    assert json.loads(message.value()) == {"order_id": "F-1", "seq": 7, "poison": False}


async def _sent(messaging) -> bool:
    async with messaging.engine.connect() as conn:
        rows = (await conn.execute(select(messaging.tables.outbox.c.sent_at))).all()
        await conn.rollback()
    return bool(rows) and all(r.sent_at is not None for r in rows)


async def test_consumer_groups_read_from_a_fresh_subscription(broker) -> None:
    """make_consumer starts a new group at the earliest offset, so nothing published before a start is missed."""
    consumer = make_consumer(broker, "fresh-group", ["eproc.tender.public"])
    await ensure_topics(broker)
    await consumer.start()
    try:
        assert "eproc.tender.public" in consumer.subscription()
    finally:
        await consumer.stop()


async def test_finish_runs_once_per_batch_and_a_failing_one_falls_back_to_single_events(messaging) -> None:
    """``finish`` sees what the batch's handlers left in ``session.info``, inside the batch's transaction; when it
    fails, the batch is rolled back (its effects too) and each event is applied again alone, exactly once."""
    # All events wait in the topic before the consumer starts, so its first fetches come as batches.
    for seq in range(20):
        await messaging.place(f"F-{seq % 2}", seq)
    relay = messaging.relay()
    relay_task = await _run(relay.run())
    await eventually(lambda: _outbox_drained(messaging))
    await _stop(relay_task, relay)

    finishes: list[int] = []

    async def handle(session, envelope) -> None:
        await messaging.handle(session, envelope)
        session.sync_session.info.setdefault("orders", []).append(envelope.data.seq)

    async def finish(session) -> None:
        seen = session.sync_session.info.pop("orders", [])
        if len(seen) > 1 and not finishes:
            raise RuntimeError("the first batch's finish fails")
        await session.execute(
            insert(messaging.effects).values(event_id="finish", order_id="finish", seq=len(seen), worker="finish")
        )
        finishes.append(len(seen))

    consumer = EventConsumer(
        f"finish-{messaging.topic}",
        sessions=session_factory(messaging.engine),
        tables=messaging.tables,
        broker=messaging.broker,
        handlers={messaging.event.type_name(): handle},
        catalogue=messaging.catalogue,
        retry_backoff_s=0.01,
        finish=finish,
    )
    tasks = await _run(consumer.run())
    try:

        async def all_in() -> list[Any] | None:
            return await _rows_when(messaging, 20 + len(finishes)) if sum(finishes) == 20 else None

        rows = await eventually(all_in)
    finally:
        await _stop(tasks, consumer)
    handled = sorted(r.seq for r in rows if r.worker != "finish")
    assert handled == list(range(20)), "each event applied exactly once, the rolled-back batch's effects gone"
    assert sorted(r.seq for r in rows if r.worker == "finish") == sorted(finishes)
    assert finishes[0] == 1, "after the failed batch, its first event was applied alone"
    assert max(finishes) > 1, "later events came as batches with one finish each"


async def _outbox_drained(messaging) -> bool | None:
    outbox = messaging.tables.outbox
    async with messaging.engine.connect() as conn:
        unsent = await conn.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))
        await conn.rollback()
    return True if unsent == 0 else None
