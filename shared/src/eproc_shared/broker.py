"""Kafka clients built one way for every service, and topic creation from topics.toml."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from eproc_shared.settings import BrokerSettings
from eproc_shared.topics import TopicSpec, load_topics

log = logging.getLogger(__name__)


def _common(settings: BrokerSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
        "request_timeout_ms": settings.request_timeout_ms,
    }
    if settings.sasl_mechanism:
        options.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=settings.sasl_password,
        )
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(cafile=settings.ssl_cafile)
    return options


def make_producer(settings: BrokerSettings, **overrides: Any) -> AIOKafkaProducer:
    options = _common(settings) | {
        "acks": "all",
        "enable_idempotence": settings.enable_idempotence,
        "linger_ms": 2,
    }
    return AIOKafkaProducer(**(options | overrides))


def make_consumer(settings: BrokerSettings, group_id: str, topics: Iterable[str], **overrides: Any) -> AIOKafkaConsumer:
    options = _common(settings) | {
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "max_poll_records": 500,
        "isolation_level": "read_committed",
    }
    return AIOKafkaConsumer(*topics, **(options | overrides))


async def ensure_topics(settings: BrokerSettings, specs: Iterable[TopicSpec] | None = None) -> list[str]:
    """Create the topics that are missing; returns the names created. Safe to run from many processes."""
    wanted = list(specs if specs is not None else load_topics(settings).values())
    admin = AIOKafkaAdminClient(**_common(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in wanted if spec.name not in existing]
        if not missing:
            return []
        new = [
            NewTopic(
                name=spec.name,
                num_partitions=spec.partitions,
                replication_factor=spec.replication_factor,
                topic_configs=spec.kafka_config(),
            )
            for spec in missing
        ]
        try:
            response = await admin.create_topics(new)
        except TopicAlreadyExistsError:
            response = None
        created: list[str] = []
        for topic, code, message in getattr(response, "topic_errors", ()):
            if code == 0:
                created.append(topic)
            elif code != TopicAlreadyExistsError.errno:  # another process created it first
                raise RuntimeError(f"could not create topic {topic}: {message} (error {code})")
        if created:
            log.info("created topics", extra={"topics": created})
        return created
    finally:
        await admin.close()


async def wait_for_broker(settings: BrokerSettings, timeout_s: float = 15.0) -> None:
    """Block until the broker answers a metadata request, or raise TimeoutError."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    last: Exception | None = None
    while asyncio.get_running_loop().time() < deadline:
        admin = AIOKafkaAdminClient(**_common(settings))
        try:
            await asyncio.wait_for(admin.start(), timeout=max(0.1, deadline - asyncio.get_running_loop().time()))
            await admin.list_topics()
            return
        except Exception as exc:  # any failure means "not yet"
            last = exc
            await asyncio.sleep(0.2)
        finally:
            await admin.close()
    raise TimeoutError(f"Kafka at {settings.bootstrap_servers} did not answer within {timeout_s}s: {last!r}")
