"""Settings of the notify service; every variable starts with NOTIFY_ (shared broker/telemetry ones excepted)."""

from pydantic_settings import SettingsConfigDict

from eproc_shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    service_name: str = "notify"
    port: int = 8105
    database_url: str = "sqlite+aiosqlite:///var/notify.db"
