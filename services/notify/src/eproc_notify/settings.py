"""Settings of the notify service; every variable starts with NOTIFY_ (shared broker/telemetry ones excepted)."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from eproc_notify.domain.secret_box import SecretBox, decode_key
from eproc_shared.settings import ServiceSettings

# Only for development and tests; production refuses to start with it (it is published here).
DEV_SECRET_ENCRYPTION_KEY = base64.b64encode(b"dev-only-notify-kek-change-me!!!").decode()


class ProductionConfigError(RuntimeError):
    """The service refuses to start in production with a development key."""


class NotifySettings(ServiceSettings):
    """The notify service: email over SMTP, signed webhooks and the in-app inbox."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    service_name: str = "notify"
    port: int = 8105
    database_url: str = "sqlite+aiosqlite:///var/notify.db"
    consumer_group: str = Field(default="notify", description="Kafka consumer group of the service's consumer.")

    smtp_host: str = Field(default="127.0.0.1", description="SMTP server that sends the mails.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port (587 with STARTTLS, 465 with TLS).")
    smtp_tls: Literal["none", "starttls", "tls"] = Field(
        default="none", description="none, starttls (upgrade after connecting) or tls (implicit TLS, port 465)."
    )
    smtp_username: str | None = Field(default=None, description="SMTP user, when the server wants a login.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password (secret).")
    smtp_from: str = Field(
        default="LPSE Kota Tangerang <noreply@lpse.tangerangkota.go.id>", description="From address of every mail."
    )
    smtp_timeout_s: float = Field(default=20.0, gt=0, description="Timeout of one SMTP conversation.")
    email_concurrency: int = Field(default=4, ge=1, le=100, description="Mails sent at the same time.")

    webhook_timeout_s: float = Field(default=10.0, gt=0, description="How long one webhook call may take.")
    webhook_concurrency: int = Field(
        default=20, ge=1, le=1000, description="Endpoints called at the same time (each endpoint one call at a time)."
    )
    webhook_allow_http: bool = Field(
        default=True, description="Accept http:// webhook URLs (always refused in production: https only)."
    )
    webhook_disable_after_failures: int = Field(
        default=20, ge=1, description="Consecutive failed calls after which an endpoint may be disabled."
    )
    webhook_disable_after_s: float = Field(
        default=86400.0,
        ge=0,
        description="...and only once it has failed without a success for this long (seconds).",
    )
    webhook_secret_overlap_s: int = Field(
        default=86400, ge=0, le=7 * 86400, description="How long the old secret still signs after a rotation."
    )
    secret_encryption_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET_ENCRYPTION_KEY),
        description="Base64 of 32 random bytes that encrypt the webhook signing secrets in the database "
        "(a Kubernetes secret in production; the development default is refused there).",
    )
    secret_encryption_old_keys: list[SecretStr] = Field(
        default=[],
        description="Earlier NOTIFY_SECRET_ENCRYPTION_KEY values, as a JSON list of base64 keys: they still "
        "decrypt, and the service re-encrypts what they sealed under the current key when it starts.",
    )

    retry_base_s: float = Field(default=10.0, gt=0, description="First pause before retrying a failed delivery.")
    retry_factor: float = Field(default=3.0, ge=1, description="Each further pause is this many times longer.")
    retry_max_delay_s: float = Field(default=6 * 3600.0, gt=0, description="Longest pause between two attempts.")
    retry_window_s: float = Field(
        default=86400.0, gt=0, description="A delivery is retried for this long after it was queued, then fails."
    )
    worker_poll_interval_s: float = Field(default=1.0, gt=0, description="Longest wait before due deliveries run.")

    portal_url: str = Field(
        default="http://127.0.0.1:8000", description="Public address of the portal, for links in messages."
    )
    default_language: Literal["id", "en"] = Field(
        default="id", description="Language of a recipient who has not chosen one."
    )

    dev_smtp_sink: bool = Field(
        default=False,
        description="Development only: run a local SMTP sink inside the process, send mail to it and show what "
        "it received at /dev/mail. Refused in production.",
    )
    dev_smtp_sink_port: int = Field(default=8025, ge=1, le=65535, description="Port of the development SMTP sink.")
    dev_smtp_sink_keep: int = Field(default=500, ge=1, description="Mails the development sink keeps (newest).")

    @model_validator(mode="after")
    def _production_rules(self) -> NotifySettings:
        self.secret_box()  # a malformed key is refused in every environment
        if self.environment == "production":
            if self.dev_smtp_sink:
                raise ValueError("NOTIFY_DEV_SMTP_SINK is a development convenience and is refused in production")
            self.webhook_allow_http = False
        if self.dev_smtp_sink:
            # The sink is where development mail goes, whatever SMTP server was configured.
            self.smtp_host, self.smtp_port, self.smtp_tls = "127.0.0.1", self.dev_smtp_sink_port, "none"
            self.smtp_username, self.smtp_password = None, None
        return self

    def secret_box(self) -> SecretBox:
        current = decode_key(self.secret_encryption_key.get_secret_value(), "NOTIFY_SECRET_ENCRYPTION_KEY")
        old = [
            decode_key(key.get_secret_value(), f"NOTIFY_SECRET_ENCRYPTION_OLD_KEYS[{i}]")
            for i, key in enumerate(self.secret_encryption_old_keys)
        ]
        return SecretBox(current, old)

    def production_problems(self) -> list[str]:
        """What makes this configuration unfit for production (empty when fit)."""
        problems = []
        if self.secret_encryption_key.get_secret_value() == DEV_SECRET_ENCRYPTION_KEY:
            problems.append(
                "NOTIFY_SECRET_ENCRYPTION_KEY must be set in production (the development key is public); "
                "generate one with `openssl rand -base64 32` and keep it in a secret"
            )
        if any(key.get_secret_value() == DEV_SECRET_ENCRYPTION_KEY for key in self.secret_encryption_old_keys):
            problems.append("NOTIFY_SECRET_ENCRYPTION_OLD_KEYS holds the development key, which is public")
        return problems

    def check(self) -> None:
        """Refuse production with a development key. Checked when the service starts rather than when the
        settings are read, so that `eproc migrate` (an init container without the key) still runs."""
        if self.environment == "production":
            problems = self.production_problems()
            if problems:
                raise ProductionConfigError("notify refuses to start in production: " + "; ".join(problems))
