"""The workers that send queued deliveries: one for mail, one dispatcher for webhooks.

Deliveries live in the database, so they survive restarts. A worker claims a due delivery by
moving its ``next_attempt_at`` past a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas
never take the same row); a process that dies mid-send leaves the lease to expire and the delivery
is tried again. Mail and webhooks have separate workers, and each webhook endpoint drains on its own
task, one call at a time, with a bound on endpoints called at once: a slow or dead receiver holds
up only its own queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eproc_notify import recipients as who
from eproc_notify.clock import Clock
from eproc_notify.domain import signing
from eproc_notify.domain.retry import DisablePolicy, RetryPolicy
from eproc_notify.domain.secret_box import SecretBox, SecretUnreadable
from eproc_notify.endpoint_secrets import signing_secrets
from eproc_notify.mailer import Mail, Mailer, PermanentFailure
from eproc_notify.models import api_keys, attempts, deliveries, endpoints
from eproc_notify.queueing import Queue
from eproc_notify.recipients import Recipient
from eproc_shared.db import session_factory

log = logging.getLogger(__name__)
SOURCE = "/eproc/notify"


class Outcome:
    def __init__(
        self,
        ok: bool,
        latency_ms: int,
        status_code: int | None = None,
        error: str | None = None,
        permanent: bool = False,
    ) -> None:
        self.ok, self.latency_ms, self.status_code, self.error, self.permanent = (
            ok,
            latency_ms,
            status_code,
            error,
            permanent,
        )


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    where: Any,
    now: datetime,
    lease: timedelta,
    limit: int,
    reads: async_sessionmaker[AsyncSession] | None = None,
) -> list[dict[str, Any]]:
    c = deliveries.c
    if reads is not None:
        # An idle poll only reads: on SQLite a write transaction would take the database's one write lock.
        async with reads() as session:
            due = select(c.id).where(c.status == "pending", c.next_attempt_at <= now, where).limit(1)
            if await session.scalar(due) is None:
                return []
    async with sessions() as session, session.begin():
        stmt = (
            select(deliveries)
            .where(c.status == "pending", c.next_attempt_at <= now, where)
            .order_by(c.next_attempt_at, c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = [dict(r) for r in (await session.execute(stmt)).mappings()]
        if rows:
            await session.execute(
                update(deliveries).where(c.id.in_([r["id"] for r in rows])).values(next_attempt_at=now + lease)
            )
        return rows


async def record(
    session: AsyncSession, row: dict[str, Any], outcome: Outcome, now: datetime, policy: RetryPolicy
) -> str:
    """Log the attempt and move the delivery on: delivered, retried later, or failed for good."""
    tries = row["attempts"] + 1
    values: dict[str, Any] = {
        "attempts": tries,
        "last_status_code": outcome.status_code,
        "last_latency_ms": outcome.latency_ms,
        "last_error": outcome.error,
    }
    if outcome.ok:
        values |= {"status": "delivered", "completed_at": now, "next_attempt_at": None}
    else:
        later = None if outcome.permanent else policy.next_attempt(row["created_at"], now, tries)
        values |= (
            {"status": "pending", "next_attempt_at": later}
            if later
            else {"status": "failed", "completed_at": now, "next_attempt_at": None}
        )
    await session.execute(update(deliveries).where(deliveries.c.id == row["id"]).values(**values))
    await session.execute(
        insert(attempts).values(
            delivery_id=row["id"],
            endpoint_id=row["endpoint_id"],
            attempted_at=now,
            ok=outcome.ok,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
        )
    )
    return str(values["status"])


class Worker(ABC):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, poll_interval_s: float) -> None:
        self.sessions = sessions
        self.reads = session_factory(sessions.kw["bind"], readonly=True)
        self.clock = clock
        self.poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)
        self._wake.clear()

    async def run(self) -> None:
        while True:
            try:
                busy = await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s round failed", type(self).__name__)
                busy = False
            if not busy:
                await self._pause()

    @abstractmethod
    async def round(self) -> bool:
        """One pass over the work due; True when there may be more right away."""


class EmailWorker(Worker):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        poll_interval_s: float,
        *,
        mailer: Mailer,
        policy: RetryPolicy,
        concurrency: int,
        timeout_s: float,
    ) -> None:
        super().__init__(sessions, clock, poll_interval_s)
        self.mailer, self.policy, self.concurrency = mailer, policy, concurrency
        self.lease = timedelta(seconds=timeout_s * 3 + 30)

    async def round(self) -> bool:
        rows = await claim(
            self.sessions, deliveries.c.channel == "email", self.clock(), self.lease, self.concurrency, self.reads
        )
        if rows:
            await asyncio.gather(*(self._send(row) for row in rows))
        return len(rows) == self.concurrency

    async def _send(self, row: dict[str, Any]) -> None:
        started = time.monotonic()
        mail = Mail(
            row["address"],
            row["subject"] or "",
            row["body"] or "",
            row["payload"],
            row["language"] or "id",
            reference=row["dedupe_key"],
        )
        try:
            await self.mailer.send(mail)
            outcome = Outcome(True, _ms(started))
        except PermanentFailure as exc:
            outcome = Outcome(False, _ms(started), error=str(exc)[:1000], permanent=True)
        except Exception as exc:
            outcome = Outcome(False, _ms(started), error=repr(exc)[:1000])
        async with self.sessions() as session, session.begin():
            status = await record(session, row, outcome, self.clock(), self.policy)
        if status == "failed":
            log.warning("mail %s to %s failed for good: %s", row["id"], row["address"], outcome.error)


class WebhookDispatcher(Worker):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        poll_interval_s: float,
        *,
        queue: Queue,
        secret_box: SecretBox,
        policy: RetryPolicy,
        disable: DisablePolicy,
        concurrency: int,
        timeout_s: float,
        default_language: str,
    ) -> None:
        super().__init__(sessions, clock, poll_interval_s)
        self.queue, self.policy, self.disable = queue, policy, disable
        self.secret_box = secret_box
        self.timeout_s = timeout_s
        self.lease = timedelta(seconds=timeout_s * 3 + 30)
        self.language = default_language
        self.slots = asyncio.Semaphore(concurrency)
        self.running: dict[str, asyncio.Task[None]] = {}
        self.http = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    async def close(self) -> None:
        for task in list(self.running.values()):
            task.cancel()
        for task in list(self.running.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.http.aclose()

    async def round(self) -> bool:
        now = self.clock()
        async with self.reads() as session:
            c = deliveries.c
            stmt = (
                select(c.endpoint_id)
                .join(endpoints, and_(endpoints.c.id == c.endpoint_id, endpoints.c.enabled))
                .where(c.channel == "webhook", c.status == "pending", c.next_attempt_at <= now)
                .distinct()
            )
            due = list((await session.execute(stmt)).scalars())
        for endpoint_id in due:
            if endpoint_id not in self.running:
                task = asyncio.create_task(self._drain(endpoint_id), name=f"webhook-{endpoint_id}")
                self.running[endpoint_id] = task
                task.add_done_callback(lambda _t, key=endpoint_id: self.running.pop(key, None))
        return False

    async def _drain(self, endpoint_id: str) -> None:
        async with self.slots:
            while True:
                rows = await claim(self.sessions, deliveries.c.endpoint_id == endpoint_id, self.clock(), self.lease, 1)
                if not rows:
                    return
                async with self.sessions() as session:
                    endpoint = (
                        (await session.execute(select(endpoints).where(endpoints.c.id == endpoint_id)))
                        .mappings()
                        .first()
                    )
                if endpoint is None or not endpoint["enabled"]:
                    # Give the claimed delivery back: it waits for the endpoint to be enabled again.
                    async with self.sessions() as session, session.begin():
                        await session.execute(
                            update(deliveries)
                            .where(deliveries.c.id == rows[0]["id"])
                            .values(next_attempt_at=self.clock())
                        )
                    return
                ok = await self._call(dict(endpoint), rows[0])
                if not ok:
                    return  # a failing receiver is not hammered with its whole queue in one go

    async def _call(self, endpoint: dict[str, Any], row: dict[str, Any]) -> bool:
        now = self.clock()
        body = row["payload"] or ""
        started = time.monotonic()
        try:
            keys = signing_secrets(self.secret_box, endpoint, now)
        except SecretUnreadable as exc:
            # Never sent unsigned: the attempt fails, the log says why, rotating the secret mends it.
            log.error("webhook endpoint %s cannot sign: %s", endpoint["id"], exc)
            outcome = Outcome(False, _ms(started), None, f"the signing secret cannot be decrypted: {exc}"[:1000])
        else:
            outcome = await self._post(endpoint["url"], body, signing.headers(keys, row["message_id"], now, body))
        async with self.sessions() as session, session.begin():
            done_at = self.clock()
            await record(session, row, outcome, done_at, self.policy)
            await self._endpoint_health(session, endpoint, outcome, done_at)
        return outcome.ok

    async def _post(self, url: str, body: str, headers: dict[str, str]) -> Outcome:
        headers = {**headers, "content-type": "application/json", "user-agent": "eproc-notify/0.1 (Standard Webhooks)"}
        started = time.monotonic()
        try:
            response = await self.http.post(url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(False, _ms(started), None, f"{type(exc).__name__}: {exc}"[:1000])
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}: {response.text[:300]}"
        return Outcome(ok, _ms(started), response.status_code, error)

    async def _endpoint_health(
        self, session: AsyncSession, endpoint: dict[str, Any], outcome: Outcome, now: datetime
    ) -> None:
        e = endpoints.c
        if outcome.ok:
            if endpoint["consecutive_failures"]:
                await session.execute(
                    update(endpoints).where(e.id == endpoint["id"]).values(consecutive_failures=0, failing_since=None)
                )
            return
        current = (await session.execute(select(endpoints).where(e.id == endpoint["id"]))).mappings().first()
        if current is None or not current["enabled"]:
            return
        failures = current["consecutive_failures"] + 1
        since = current["failing_since"] or now
        values: dict[str, Any] = {"consecutive_failures": failures, "failing_since": since}
        disabling = self.disable.should_disable(failures, since, now)
        if disabling:
            values |= {"enabled": False, "disabled_at": now, "disabled_reason": outcome.error, "updated_at": now}
        await session.execute(update(endpoints).where(e.id == endpoint["id"]).values(**values))
        if disabling:
            log.warning("webhook endpoint %s disabled after %d failures", endpoint["id"], failures)
            await self._tell_owner(session, dict(current), failures, since, now, outcome.error or "")

    async def _tell_owner(
        self, session: AsyncSession, endpoint: dict[str, Any], failures: int, since: datetime, now: datetime, error: str
    ) -> None:
        owner = endpoint["owner"]
        audience: list[Recipient] = []
        if endpoint["owner_kind"] == "api_key":
            key_id = owner.removeprefix("apikey:")
            admin = await session.scalar(select(api_keys.c.created_by).where(api_keys.c.api_key_id == key_id))
            if admin:
                audience += await who.user(session, admin, self.language)
        else:
            audience += await who.user(session, owner, self.language)
        if endpoint["contact_email"] and all(r.email != endpoint["contact_email"] for r in audience):
            audience.append(Recipient(None, endpoint["contact_email"], self.language))
        await self.queue.notify(
            session,
            source=SOURCE,
            event_id=f"webhook-disabled:{endpoint['id']}:{int(now.timestamp())}",
            event_type="notify.webhook_disabled",
            kind="webhook.disabled",
            recipients=audience,
            context={
                "url": endpoint["url"],
                "disabled_at": now,
                "failures": failures,
                "failing_since": since,
                "last_error": error,
            },
            now=now,
        )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
