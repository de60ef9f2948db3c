"""One trace from an HTTP request through the outbox and Kafka into a consumer; the HTTP conventions."""

from __future__ import annotations

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from eproc_shared.testing import eventually, serve


async def test_trace_started_by_http_request_reaches_the_consumer_handler(database_url, broker, sample_service) -> None:
    app, _catalogue, _orders, _effects = sample_service(database_url, broker)
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))

    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        # The caller is traced too (httpx is instrumented), as the gateway is: its span starts the trace.
        with trace.get_tracer("test").start_as_current_span("caller") as caller:
            trace_id = format(caller.get_span_context().trace_id, "032x")
            response = await client.post("/orders", json={"order_id": "T-1", "seq": 1})
        assert response.status_code == 201, response.text
        assert response.json()["trace_id"] == trace_id

        async def handled() -> list:
            return (await client.get("/orders/T-1/effects")).json()

        effects = await eventually(handled, timeout_s=30)
    assert effects[0]["trace_id"] == trace_id, "the handler ran inside the request's trace"
    assert effects[0]["event_id"] == response.json()["event_id"]
    kinds = {
        (s.kind, s.context.trace_id) for s in spans.get_finished_spans() if "process" in s.name or "publish" in s.name
    }
    assert (trace.SpanKind.PRODUCER, int(trace_id, 16)) in kinds
    assert (trace.SpanKind.CONSUMER, int(trace_id, 16)) in kinds


async def test_http_conventions(database_url, broker, sample_service) -> None:
    app, *_ = sample_service(database_url, broker)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        live = await client.get("/health/live")
        assert live.json() == {"status": "ok"}

        async def ready() -> dict | None:
            answer = await client.get("/health/ready")
            return answer.json() if answer.status_code == 200 and answer.json()["status"] == "ok" else None

        body = await eventually(ready)
        assert body["checks"] == {"database": True, "broker": True}

        # Bad input: 422 problem+json naming the field.
        bad = await client.post("/orders", json={"order_id": "X", "seq": "many"}, headers={"X-Request-ID": "req-42"})
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        assert bad.headers["x-request-id"] == "req-42"
        problem = bad.json()
        assert problem["status"] == 422
        assert problem["request_id"] == "req-42"
        assert problem["errors"][0]["field"] == "seq"
        assert problem["errors"][0]["location"] == "body"

        missing = await client.get("/nowhere")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["title"] == "Not found"

        # A request id is made when none (or a malformed one) is sent.
        made = await client.get("/health/live", headers={"X-Request-ID": "bad id with spaces"})
        assert made.headers["x-request-id"] != "bad id with spaces"
        assert len(made.headers["x-request-id"]) == 36

        openapi = (await client.get("/openapi.json")).json()
        assert "/orders" in openapi["paths"]
        assert "/health/ready" in openapi["paths"]

        metrics = (await client.get("/metrics")).text
        assert (
            'eproc_http_request_duration_seconds_count{method="POST",route="/orders",service="sample",status="422"}'
            in metrics
        )
        assert "eproc_outbox_backlog" in metrics


async def test_ready_reports_degraded_when_the_broker_is_unreachable(database_url, own_broker, sample_service) -> None:
    from eproc_shared.testing import broker_settings

    app, *_ = sample_service(database_url, broker_settings(own_broker.bootstrap_servers))
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=15) as client:
        await eventually(lambda: _status(client, "ok"))
        own_broker.pause()
        try:
            placed = await client.post("/orders", json={"order_id": "D-1", "seq": 1})
            assert placed.status_code == 201, "writes do not depend on Kafka"
            body = await eventually(lambda: _status(client, "degraded"), timeout_s=30)
            assert body["checks"] == {"database": True, "broker": False}
        finally:
            own_broker.resume()
        await eventually(lambda: _status(client, "ok"), timeout_s=30)
        effects = await eventually(lambda: _json(client, "/orders/D-1/effects"), timeout_s=30)
        assert len(effects) == 1


async def _status(client: httpx.AsyncClient, wanted: str) -> dict | None:
    answer = await client.get("/health/ready")
    body = answer.json()
    return body if body.get("status") == wanted else None


async def _json(client: httpx.AsyncClient, path: str):
    return (await client.get(path)).json()


async def test_racing_writes_and_database_outages_answer_4xx_5xx_problems_not_500() -> None:
    """A unique-constraint race is a 409 to retry and a database outage a 503, never a bare 500."""
    from fastapi import FastAPI
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert

    from eproc_shared.db import create_engine
    from eproc_shared.service_app import install_conventions

    metadata = MetaData()
    names = Table("names", metadata, Column("id", Integer, primary_key=True), Column("name", String(20), unique=True))
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    unreachable = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app = FastAPI()
    install_conventions(app, "sample-errors")

    @app.post("/names/{name}")
    async def add(name: str) -> dict[str, str]:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(insert(names).values(name=name))
            await conn.execute(insert(names).values(name=name))  # the racing twin
        return {"name": name}

    @app.get("/elsewhere")
    async def elsewhere() -> dict[str, str]:
        async with unreachable.connect():
            return {}

    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        conflict = await client.post("/names/budi")
        assert conflict.status_code == 409
        assert conflict.headers["content-type"] == "application/problem+json"
        assert "Retry" in conflict.json()["detail"]
        down = await client.get("/elsewhere")
        assert down.status_code == 503
        assert down.headers["retry-after"] == "2"
    await engine.dispose()
    await unreachable.dispose()
