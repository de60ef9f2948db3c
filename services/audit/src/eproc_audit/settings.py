"""Settings of the audit service; every variable starts with AUDIT_ (shared broker/telemetry ones excepted)."""

import ipaddress
import os

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from eproc_shared.settings import ServiceSettings

CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"


def default_workers(cpu_max: str = CGROUP_CPU_MAX) -> int:
    """The CPUs this process may use: those it may run on (a container's cpuset included), and no more than a
    cgroup v2 CPU quota allows (a Kubernetes CPU limit), rounded down."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        with open(cpu_max) as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cpus = min(cpus, int(quota) // int(period))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota to read
    return max(1, cpus)


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
        default=10_000,
        ge=1,
        le=100_000,
        description="Log entries read per range (one query, one short transaction) while verifying the chain.",
    )
    verify_workers: int = Field(
        default_factory=default_workers,
        ge=1,
        le=256,
        description="Processes that check the hash chain in segments, started at the first verification and "
        "kept until shutdown; 1 verifies in the service's own process. Default: the CPUs the service may use "
        "(its CPU affinity, capped by a cgroup v2 CPU quota such as a Kubernetes CPU limit).",
    )

    # Red flags (eproc_audit.red_flags). Shares are basis points (1/100 of a percent) so that every
    # comparison is integer arithmetic on integer Rupiah.
    flag_single_bidder_max: int = Field(default=1, ge=1, description="A package opened with at most this many bids.")
    flag_competitive_methods: list[str] = Field(
        default=["tender", "seleksi"],
        description="Methods whose bidding period and time to award are judged (JSON list).",
    )
    flag_min_bidding_days: int = Field(
        default=7, ge=0, description="Announcement to submission deadline shorter than this many days is flagged."
    )
    flag_near_hps_bp: int = Field(
        default=9800, ge=0, le=10000, description="A winning price at or above this share of HPS (basis points)."
    )
    flag_repeat_wins: int = Field(
        default=3, ge=2, description="This many wins of one vendor at one OPD within the window is flagged."
    )
    flag_repeat_window_days: int = Field(default=365, ge=1, description="Window of repeated wins, in days.")
    flag_shared_address_ignore: list[str] = Field(
        default=[],
        description="Networks (CIDR, JSON list) whose submitter addresses are not compared for shared submission "
        "metadata, e.g. a bidding room's shared computers or a proxy that hides client addresses.",
    )
    flag_direct_methods: list[str] = Field(
        default=["pengadaan_langsung"], description="Direct-procurement methods checked for split purchases."
    )
    flag_direct_ceiling: int = Field(
        default=200_000_000, ge=0, description="Direct-procurement ceiling, integer Rupiah (split purchases)."
    )
    flag_split_window_days: int = Field(
        default=30,
        ge=1,
        description="Direct purchases (awards and recorded purchases) this many calendar days apart or less "
        "(Asia/Jakarta) count as one purchase (split).",
    )
    flag_amendment_cap_bp: int = Field(
        default=1000, ge=0, description="Cap on the value added by amendments, basis points of the original value."
    )
    flag_amendment_near_cap_bp: int = Field(
        default=8000, ge=0, le=10000, description="Added value at or above this share of the cap is flagged."
    )
    flag_min_award_days: int = Field(default=10, ge=0, description="Announcement to award faster than this is flagged.")
    flag_max_award_days: int = Field(default=90, ge=1, description="Announcement to award slower than this is flagged.")
    flag_stream_poll_s: float = Field(
        default=1.0, gt=0, description="How often the red-flag stream looks for new flags."
    )
    flag_stream_heartbeat_s: float = Field(
        default=15.0, gt=0, description="Comment line sent on an idle red-flag stream (keeps proxies from timing out)."
    )
    # Open data.
    ocds_ocid_prefix: str = Field(
        default="ocds-xxxxxx-dev-",
        pattern=r"^ocds-[a-z0-9]{6}-",
        description="OCDS ocid prefix registered with the Open Contracting Partnership, then the package id. "
        "The default is a placeholder refused in production.",
    )
    ocds_publisher_name: str = Field(default="LPSE (development)", description="OCDS package publisher name.")
    ocds_base_uri: str = Field(
        default="http://127.0.0.1:8000/api/audit/public/ocds",
        description="Public URL of the OCDS routes (package `uri`).",
    )

    @field_validator("flag_shared_address_ignore")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.ip_network(v.strip(), strict=False)) for v in value]

    @model_validator(mode="after")
    def _production_needs_a_key(self) -> "AuditSettings":
        if self.environment == "production" and not self.signing_key_file:
            raise ValueError(
                "AUDIT_SIGNING_KEY_FILE is required in production: checkpoints must be signed by a kept key"
            )
        return self

    @model_validator(mode="after")
    def _production_needs_real_ocids(self) -> "AuditSettings":
        if self.environment == "production" and self.ocds_ocid_prefix.startswith("ocds-xxxxxx-"):
            raise ValueError("AUDIT_OCDS_OCID_PREFIX must be the city's registered prefix in production")
        return self
