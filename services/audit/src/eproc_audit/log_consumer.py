"""The log's consumer group: every internal topic (and the public ones if configured), every event type."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from eproc_audit.clock import Clock
from eproc_audit.log_writer import append
from eproc_audit.models import messaging
from eproc_audit.settings import AuditSettings
from eproc_shared.consumer import EventConsumer, RawEvent
from eproc_shared.service_app import ServiceRuntime
from eproc_shared.topics import load_topics


def logged_topics(settings: AuditSettings) -> list[str]:
    specs = load_topics(settings.broker).values()
    wanted = ("internal", "public") if settings.log_include_public_topics else ("internal",)
    # The checkpoints describe the log itself: logging them would only chase the head.
    return sorted(s.name for s in specs if s.visibility in wanted and s.name != "eproc.audit.public")


def log_consumer(runtime: ServiceRuntime, settings: AuditSettings, clock: Clock) -> EventConsumer:
    async def record(session: AsyncSession, event: RawEvent) -> None:
        await append(session, event, clock())

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
    )
