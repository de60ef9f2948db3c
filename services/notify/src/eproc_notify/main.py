"""ASGI entry point: `uvicorn --factory eproc_notify.main:create_app`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from eproc_notify import __doc__ as summary
from eproc_notify.clock import Clock, system_clock
from eproc_notify.consumers import Handlers, consumer_specs
from eproc_notify.devsink import MailSink
from eproc_notify.devsink import router as dev_router
from eproc_notify.domain.retry import DisablePolicy, RetryPolicy
from eproc_notify.endpoint_secrets import seal_stored_secrets
from eproc_notify.mailer import Mailer
from eproc_notify.models import messaging, metadata
from eproc_notify.queueing import Queue
from eproc_notify.rendering import Renderer
from eproc_notify.routes import inbox, preferences, subscriptions, webhooks
from eproc_notify.settings import NotifySettings
from eproc_notify.workers import EmailWorker, WebhookDispatcher
from eproc_shared.service_app import ServiceRuntime, build_service_app


def create_app(settings: NotifySettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    settings = settings or NotifySettings()
    settings.check()  # refuses production with the development encryption key
    box = settings.secret_box()
    queue = Queue(Renderer())
    handlers = Handlers(queue, clock, portal_url=settings.portal_url, default_language=settings.default_language)
    policy = RetryPolicy(
        base_s=settings.retry_base_s,
        factor=settings.retry_factor,
        max_delay_s=settings.retry_max_delay_s,
        window_s=settings.retry_window_s,
    )
    sink = MailSink(settings.dev_smtp_sink_keep) if settings.dev_smtp_sink else None

    async def on_start(runtime: ServiceRuntime) -> None:
        # Before anything signs: plaintext left by earlier releases, and values under old keys, get the current key.
        await seal_stored_secrets(runtime.sessions, box)
        if sink is not None:
            await sink.start("127.0.0.1", settings.dev_smtp_sink_port)
            runtime.tasks.append(asyncio.create_task(_stop_on_cancel(sink), name="notify-dev-smtp-sink"))
        email_worker = EmailWorker(
            runtime.sessions,
            clock,
            settings.worker_poll_interval_s,
            mailer=Mailer(settings),
            policy=policy,
            concurrency=settings.email_concurrency,
            timeout_s=settings.smtp_timeout_s,
        )
        dispatcher = WebhookDispatcher(
            runtime.sessions,
            clock,
            settings.worker_poll_interval_s,
            queue=queue,
            secret_box=box,
            policy=policy,
            disable=DisablePolicy(settings.webhook_disable_after_failures, settings.webhook_disable_after_s),
            concurrency=settings.webhook_concurrency,
            timeout_s=settings.webhook_timeout_s,
            default_language=settings.default_language,
        )
        app.state.email_worker, app.state.webhooks = email_worker, dispatcher
        runtime.tasks.append(asyncio.create_task(email_worker.run(), name="notify-email-worker"))
        runtime.tasks.append(asyncio.create_task(_run_dispatcher(dispatcher), name="notify-webhook-dispatcher"))

    routers = [inbox.router, preferences.router, subscriptions.router, webhooks.router]
    if settings.dev_smtp_sink:
        routers.append(dev_router)
    app = build_service_app(
        settings,
        title="Notification service",
        description=f"{summary}\n\nEmail, signed webhooks and the in-app inbox, in Bahasa Indonesia and English.",
        version="0.1.0",
        migrations=Path(__file__).parent / "migrations",
        metadata=metadata,
        tables=messaging,
        routers=routers,
        consumers=consumer_specs(handlers, settings.consumer_group),
        on_start=on_start,
    )
    app.state.clock = clock
    app.state.notify_settings = settings
    app.state.secret_box = box
    app.state.dev_sink = sink
    return app


async def _run_dispatcher(dispatcher: WebhookDispatcher) -> None:
    try:
        await dispatcher.run()
    finally:
        await dispatcher.close()


async def _stop_on_cancel(sink: MailSink) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        await sink.stop()
