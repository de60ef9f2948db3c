"""Settings of the audit service; every variable starts with AUDIT_ (shared broker/telemetry ones excepted)."""

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from eproc_shared.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    service_name: str = "audit"
    port: int = 8104
    database_url: str = "sqlite+aiosqlite:///var/audit.db"
    log_consumer_group: str = Field(
        default="audit-log",
        description="Kafka consumer group of the tamper-evident log (reads every internal and public topic).",
    )
    log_include_public_topics: bool = Field(
        default=True,
        description="Also log the public topics: announcements, bid openings and winners are part of the record "
        "an auditor needs, and some are published only there.",
    )
    signing_key_file: str | None = Field(
        default=None,
        description="PEM Ed25519 private key that signs checkpoints (secret). Required in production.",
    )
    dev_signing_key_file: str = Field(
        default="var/audit-signing-key.pem",
        description="Outside production, where a key is generated (mode 0600) when signing_key_file is unset.",
    )
    checkpoint_interval_s: float = Field(
        default=300.0, gt=0, description="How often a checkpoint is signed (only when the log grew since the last)."
    )
    verify_batch_size: int = Field(
        default=2000, ge=1, le=100_000, description="Log entries read per batch while verifying the chain."
    )

    @model_validator(mode="after")
    def _production_needs_a_key(self) -> "AuditSettings":
        if self.environment == "production" and not self.signing_key_file:
            raise ValueError(
                "AUDIT_SIGNING_KEY_FILE is required in production: checkpoints must be signed by a kept key"
            )
        return self
