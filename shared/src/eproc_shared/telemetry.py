"""OpenTelemetry set-up and the trace-context plumbing that carries one trace across Kafka."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from eproc_shared.settings import TelemetrySettings

log = logging.getLogger(__name__)
_httpx_instrumented = False


def setup_tracing(service_name: str, settings: TelemetrySettings) -> None:
    """Install a tracer provider once per process; export over OTLP/HTTP when an endpoint is set."""
    global _httpx_instrumented
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        if settings.otel_exporter_otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        trace.set_tracer_provider(provider)
    if not _httpx_instrumented:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
        _httpx_instrumented = True


def instrument_engine(engine: object, settings: TelemetrySettings) -> None:
    """A span per SQL statement, only when traces are exported: without an exporter nobody sees them, and at a
    bid deadline building them was a tenth of a request's CPU."""
    if not settings.otel_exporter_otlp_endpoint:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)  # type: ignore[attr-defined]


def tracer() -> trace.Tracer:
    return trace.get_tracer("eproc")


def current_trace_headers() -> dict[str, str]:
    """The W3C trace context of the current span, to store with an outbox row."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from(headers: Mapping[str, str]) -> otel_context.Context:
    return propagate.extract(dict(headers))


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
