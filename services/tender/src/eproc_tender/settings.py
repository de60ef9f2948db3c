"""Settings of the tender service; every variable starts with TENDER_ (shared broker/telemetry ones excepted)."""

from pydantic_settings import SettingsConfigDict

from eproc_shared.settings import ServiceSettings


class TenderSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TENDER_", extra="ignore")

    service_name: str = "tender"
    port: int = 8101
    database_url: str = "sqlite+aiosqlite:///var/tender.db"
