"""Settings of the tender service; every variable starts with TENDER_ (shared broker/telemetry ones excepted).

Procurement figures marked configurable in the domain reference are settings here, with its figures as
defaults, because regulations change and other regions may differ.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from eproc_shared.settings import ServiceSettings

# Only for development and tests; production refuses to start with it.
DEV_KEY_ENCRYPTION_KEY = base64.b64encode(b"dev-only-tender-kek-change-me!!!").decode()


class TenderSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TENDER_", extra="ignore")

    service_name: str = "tender"
    port: int = 8101
    database_url: str = "sqlite+aiosqlite:///var/tender.db"

    key_encryption_key: SecretStr = Field(
        default=SecretStr(DEV_KEY_ENCRYPTION_KEY),
        description="Base64 of 32 random bytes that encrypt each package's private bid key (a Kubernetes secret "
        "in production; the development default is refused there).",
    )
    storage_dir: str = Field(default="var/tender-files", description="Directory of encrypted bid documents.")
    max_document_bytes: int = Field(default=50 * 1024 * 1024, gt=0, description="Largest bid document, in bytes.")
    bid_writers: int = Field(
        default=4,
        ge=1,
        le=32,
        description=(
            "PostgreSQL: batches of sealed bids written at once (each one transaction and connection); SQLite "
            "always uses one, as it has one writer."
        ),
    )
    consumer_group: str = Field(default="tender", description="Kafka consumer group of the vendor-facts consumer.")
    import_max_bytes: int = Field(
        default=100 * 1024 * 1024, gt=0, description="Largest CSV file of recorded purchases, in bytes."
    )
    import_batch_rows: int = Field(
        default=200,
        ge=1,
        le=10_000,
        description="Rows of a CSV import processed per transaction (progress advances by this many).",
    )

    tender_min_value: int = Field(
        default=200_000_000, ge=0, description="Goods, works and other services: tender above this HPS (Rupiah)."
    )
    seleksi_min_value: int = Field(
        default=100_000_000, ge=0, description="Consultancy: seleksi above this HPS (Rupiah)."
    )
    small_business_ceiling: int = Field(
        default=15_000_000_000,
        ge=0,
        description="Packages up to this HPS are reserved for small businesses unless the PPK justifies otherwise.",
    )
    low_price_ratio_percent: int = Field(
        default=80, ge=1, le=100, description="A bid under this share of HPS is flagged for price clarification."
    )
    addendum_min_working_days: int = Field(
        default=3, ge=0, description="Whole working days required between an addendum and a bid deadline it moves."
    )
    objection_days: int = Field(
        default=5, ge=1, description="Calendar days for objections after the winner is announced."
    )
    objection_answer_days: int = Field(
        default=3, ge=1, description="Calendar days the Pokja has to answer an objection."
    )
    objection_escalation_role: str = Field(
        default="admin",
        description="Role that answers an objection the Pokja left unanswered past its answer period (the Pokja "
        "itself may no longer answer then), and answers appeals: it stands for the PA/KPA-level official.",
    )
    appeal_days: int = Field(
        default=5,
        ge=1,
        description="Construction works: calendar days to appeal (sanggah banding) after an objection is rejected.",
    )
    appeal_answer_days: int = Field(
        default=14, ge=1, description="Calendar days for the appeal answer (late answers are flagged in the event)."
    )
    appeal_guarantee_basis_points: int = Field(
        default=100,
        ge=0,
        le=10_000,
        description="Appeal guarantee as hundredths of a percent of the HPS (100 = 1%; the domain reference marks "
        "this figure unsure).",
    )
    prequalification_min_passed: int = Field(
        default=1,
        ge=1,
        description="Prakualifikasi: fewer vendors passing than this fails the package (the domain reference gives "
        "no figure).",
    )
    pokja_sizes: list[int] = Field(
        default=[3, 5], description="Allowed numbers of members of a Pokja committee named by its members."
    )
    max_reserves: int = Field(default=2, ge=0, le=5, description="Reserve winners named after the winner.")
    auction_max_rounds: int = Field(
        default=5, ge=1, le=10, description="Tender cepat: most rounds of price bidding the Pokja may set."
    )
    trusted_proxies: list[str] = Field(
        default=[],
        description="Addresses/CIDRs of the load balancers in front of the gateway (the gateway's "
        "GATEWAY_TRUSTED_PROXIES): skipped in X-Forwarded-For when recording where a bid came from.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        # A bad entry found at start-up, not as a failure of every bid.
        for entry in value:
            ipaddress.ip_network(entry, strict=False)
        return value

    @model_validator(mode="after")
    def _check_key(self) -> TenderSettings:
        if self.environment == "production" and self.key_encryption_key.get_secret_value() == DEV_KEY_ENCRYPTION_KEY:
            raise ValueError("TENDER_KEY_ENCRYPTION_KEY must be set in production (the development key is public)")
        self.kek_bytes()
        return self

    def kek_bytes(self) -> bytes:
        try:
            raw = base64.b64decode(self.key_encryption_key.get_secret_value(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("TENDER_KEY_ENCRYPTION_KEY must be base64") from exc
        if len(raw) != 32:
            raise ValueError("TENDER_KEY_ENCRYPTION_KEY must decode to 32 bytes")
        return raw
