"""Settings of the contract service; every variable starts with CONTRACT_ (shared broker/telemetry ones excepted)."""

from pydantic_settings import SettingsConfigDict

from eproc_shared.settings import ServiceSettings


class ContractSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTRACT_", extra="ignore")

    service_name: str = "contract"
    port: int = 8103
    database_url: str = "sqlite+aiosqlite:///var/contract.db"
