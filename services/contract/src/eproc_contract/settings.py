"""Settings of the contract service; every variable starts with CONTRACT_ (shared broker/telemetry ones excepted)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from eproc_shared.settings import ServiceSettings


class ContractSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTRACT_", extra="ignore")

    service_name: str = "contract"
    port: int = 8103
    database_url: str = "sqlite+aiosqlite:///var/contract.db"
    consumer_group: str = Field(default="contract", description="Kafka consumer group of the award consumer.")
    performance_guarantee_bps: int = Field(
        default=500, ge=0, le=10_000, description="Performance guarantee, in basis points of its base (500 = 5%)."
    )
    performance_guarantee_exempt_up_to: int = Field(
        default=200_000_000,
        ge=0,
        description="Goods/other-services contracts up to this value (Rupiah) need no performance guarantee.",
    )
    amendment_cap_bps: int = Field(
        default=1_000, ge=0, le=10_000, description="Cap on the total value added by amendments (1000 = 10%)."
    )
    penalty_per_mille_per_day: int = Field(
        default=1, ge=0, le=1_000, description="Late penalty per calendar day, per mille of the value or late part."
    )
    penalty_cap_bps: int = Field(
        default=500, ge=0, le=10_000, description="Cap on the late penalty, in basis points of the contract value."
    )
    max_retention_bps: int = Field(
        default=500, ge=0, le=10_000, description="Largest retention a contract may set (500 = 5% of each termin)."
    )
    max_advance_bps: int = Field(
        default=3_000, ge=0, le=10_000, description="Largest advance payment (uang muka), in bps of the value."
    )
    max_duration_days: int = Field(default=1_825, ge=1, description="Longest contract period in days.")
    replacement_allowed: bool = Field(
        default=True,
        description="A contract terminated for the vendor's fault may be continued by a reserve vendor of the award.",
    )
    rating_criteria: list[str] = Field(
        default=["quality", "cost", "time", "service"],
        description="Criteria every PPK rating must score, as a JSON list.",
    )
