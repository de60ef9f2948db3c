"""The log's consumer group: every internal topic (and the public ones if configured), every event type."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from eproc_audit.clock import Clock
from eproc_audit.log_writer import append
from eproc_audit.models import messaging
from eproc_audit.projection import Projection
from eproc_audit.settings import AuditSettings
from eproc_shared.consumer import EventConsumer, RawEvent
from eproc_shared.service_app import ServiceRuntime
from eproc_shared.topics import load_topics


def logged_topics(settings: AuditSettings) -> list[str]:
    specs = load_topics(settings.broker).values()
    wanted = ("internal", "public") if settings.log_include_public_topics else ("internal",)
    # The checkpoints describe the log itself: logging them would only chase the head.
    return sorted(s.name for s in specs if s.visibility in wanted and s.name != "eproc.audit.public")


def public_topics(settings: AuditSettings) -> set[str]:
    return {s.name for s in load_topics(settings.broker).values() if s.visibility == "public"}


def log_consumer(runtime: ServiceRuntime, settings: AuditSettings, clock: Clock) -> EventConsumer:
    projection = Projection(settings, public_topics(settings))

    async def record(session: AsyncSession, event: RawEvent) -> None:
        now = clock()
        seq = await append(session, event, now)
        if seq is not None:  # a redelivery appends nothing and so teaches nothing
            await projection.apply(session, seq, event.type, event.topic, event.data, now)

    return EventConsumer(
        settings.log_consumer_group,
        sessions=runtime.sessions,
        tables=messaging,
        broker=settings.broker,
        handlers={},
        topics=logged_topics(settings),
        max_attempts=settings.consumer_max_attempts,
        retry_backoff_s=settings.consumer_retry_backoff_s,
        catch_all=record,
        finish=projection.finish,
    )
