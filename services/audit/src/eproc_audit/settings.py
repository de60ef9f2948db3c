"""Settings of the audit service; every variable starts with AUDIT_ (shared broker/telemetry ones excepted)."""

from pydantic_settings import SettingsConfigDict

from eproc_shared.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    service_name: str = "audit"
    port: int = 8104
    database_url: str = "sqlite+aiosqlite:///var/audit.db"
