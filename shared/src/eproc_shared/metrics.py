"""Prometheus metrics shared by every process (module-level so that one process registers them once)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

HTTP_LATENCY = Histogram(
    "eproc_http_request_duration_seconds",
    "HTTP request latency by route and status.",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge("eproc_outbox_backlog", "Outbox rows not yet published to Kafka.", ["service"])
OUTBOX_PUBLISHED = Counter("eproc_outbox_published_total", "Outbox rows published to Kafka.", ["service"])
OUTBOX_PUBLISH_FAILURES = Counter(
    "eproc_outbox_publish_failures_total", "Failed outbox publish attempts (broker unreachable...).", ["service"]
)
CONSUMER_EVENTS = Counter(
    "eproc_consumer_events_total",
    "Events seen by a consumer, by outcome (handled, duplicate, skipped, dead_lettered).",
    ["consumer", "type", "outcome"],
)
CONSUMER_LAG = Gauge("eproc_consumer_lag", "Records behind the partition end.", ["consumer", "topic", "partition"])
DLQ_EVENTS = Counter("eproc_dlq_events_total", "Events sent to a dead-letter topic.", ["consumer"])


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
