"""Settings of the vendor service; every variable starts with VENDOR_ (shared broker/telemetry ones excepted)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from eproc_shared.settings import ServiceSettings


class VendorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="VENDOR_", extra="ignore")

    service_name: str = "vendor"
    port: int = 8102
    database_url: str = "sqlite+aiosqlite:///var/vendor.db"
    storage_dir: str = Field(default="var/vendor-files", description="Directory where uploaded documents are kept.")
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, gt=0, description="Largest document accepted, in bytes.")
    allowed_content_types: list[str] = Field(
        default=["application/pdf", "image/jpeg", "image/png"],
        description="Document types accepted, judged by the file's first bytes, not only its declared type.",
    )
    consumer_group: str = Field(default="vendor", description="Kafka consumer group of the service's consumers.")
    sweep_interval_s: float = Field(
        default=300.0, gt=0, description="How often licence/tax expiry and blacklist ends are checked."
    )
    blacklist_default_months: int = Field(
        default=12,
        ge=1,
        le=60,
        description="Length of a blacklist proposed after a termination for the vendor's fault.",
    )
