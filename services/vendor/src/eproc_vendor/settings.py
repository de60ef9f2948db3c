"""Settings of the vendor service; every variable starts with VENDOR_ (shared broker/telemetry ones excepted)."""

from pydantic_settings import SettingsConfigDict

from eproc_shared.settings import ServiceSettings


class VendorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="VENDOR_", extra="ignore")

    service_name: str = "vendor"
    port: int = 8102
    database_url: str = "sqlite+aiosqlite:///var/vendor.db"
