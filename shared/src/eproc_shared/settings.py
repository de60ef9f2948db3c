"""Settings common to every service; each service subclasses them with its own env prefix.

Infrastructure that is shared by the whole platform (the broker, telemetry) is read from
unprefixed variables such as ``KAFKA_BOOTSTRAP_SERVERS``, because an operator points every
process at the same Kafka. What belongs to one service (its database, its port) carries the
service's prefix, for example ``TENDER_DATABASE_URL``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BrokerSettings(BaseSettings):
    """How to reach Kafka. Unprefixed: the same for every process."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        description="Comma-separated host:port list of Kafka brokers.",
    )
    enable_idempotence: bool = Field(
        default=True,
        description="Idempotent producer. On for real Kafka; the embedded Tansu broker does not support it.",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="SASL_SSL or SSL against a production cluster."
    )
    sasl_mechanism: str | None = Field(default=None, description="For example SCRAM-SHA-512 with Strimzi users.")
    sasl_password: str | None = Field(default=None, description="SASL password; mount it from a secret.")
    ssl_cafile: str | None = Field(default=None, description="CA bundle used to verify the brokers' TLS certificates.")
    topic_partitions: int | None = Field(
        default=None, ge=1, description="Overrides every topic's partition count from topics.toml."
    )
    topic_replication_factor: int | None = Field(
        default=None, ge=1, description="Overrides every topic's replication factor from topics.toml."
    )
    topics_file: str | None = Field(default=None, description="Path of a topics.toml replacing the bundled one.")
    sasl_username: str | None = Field(default=None, description="SASL user (the service's KafkaUser).")
    session_timeout_ms: int = Field(
        default=10_000,
        ge=1_000,
        description="How long a silent consumer keeps its partitions before the group moves them.",
    )
    heartbeat_interval_ms: int = Field(default=2_000, ge=100, description="Consumer heartbeat interval.")
    request_timeout_ms: int = Field(
        default=10_000, ge=1_000, description="How long one Kafka request may take before it counts as failed."
    )


class TelemetrySettings(BaseSettings):
    """OpenTelemetry and logging. Unprefixed, following the OpenTelemetry conventions."""

    model_config = SettingsConfigDict(extra="ignore")

    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector endpoint; traces are exported only when set (and then SQL statements get "
        "spans of their own).",
    )
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL"), description="Root log level.")
    log_format: Literal["json", "text"] = Field(
        default="json",
        validation_alias=AliasChoices("LOG_FORMAT"),
        description="json (one object per line, with trace and request ids) or text (make run).",
    )


class ServiceSettings(BaseSettings):
    """Per-service settings. Subclasses set ``env_prefix`` (``TENDER_``, ``VENDOR_``...)."""

    model_config = SettingsConfigDict(env_prefix="SERVICE_", extra="ignore")

    service_name: str = Field(default="service", description="Name in logs, metrics, traces and the event source.")
    environment: Literal["development", "test", "production"] = Field(
        default="development",
        validation_alias=AliasChoices("EPROC_ENV", "ENVIRONMENT"),
        description="development, test or production; production refuses dev conveniences and default secrets.",
    )
    host: str = Field(default="127.0.0.1", description="Interface to listen on (0.0.0.0 in a container).")
    port: int = Field(default=8000, ge=1, le=65535, description="HTTP port.")
    database_url: str = Field(
        default="sqlite+aiosqlite:///var/service.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user:pass@host/db.",
    )
    database_pool_size: int = Field(
        default=10, ge=1, description="PostgreSQL connections kept open (as many again on bursts)."
    )
    ready_requires_broker: bool = Field(
        default=False, description="Fail /health/ready while Kafka is unreachable (otherwise report 'degraded')."
    )
    run_migrations: bool = Field(default=True, description="Apply Alembic migrations at start-up.")
    outbox_batch_size: int = Field(default=200, ge=1, le=10_000, description="Outbox rows published per round.")
    outbox_poll_interval_s: float = Field(
        default=1.0, gt=0, description="Longest wait between outbox rounds (commits wake the relay at once)."
    )
    outbox_max_backoff_s: float = Field(
        default=30.0, gt=0, description="Longest pause between retries while Kafka is down."
    )
    consumer_max_attempts: int = Field(default=5, ge=1, description="Handler attempts before an event goes to the DLQ.")
    consumer_retry_backoff_s: float = Field(
        default=0.2, ge=0, description="First pause between handler attempts; doubles each attempt."
    )
    event_source: str | None = Field(
        default=None, description="CloudEvents source of this service's events; defaults to /eproc/<service>."
    )
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.split(":///", 1)[1]
        return value

    @property
    def source(self) -> str:
        return self.event_source or f"/eproc/{self.service_name}"
