"""Gateway settings; every variable starts with GATEWAY_ (shared AUTH_*, KAFKA_*, telemetry ones excepted)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from eproc_shared.auth import AuthSettings
from eproc_shared.settings import ServiceSettings

DEFAULT_TOKEN_HASH_KEY = "dev-only-token-hash-key-change-me"


class ProductionConfigError(RuntimeError):
    """The gateway refuses to start in production with development conveniences or default secrets."""


class GatewaySettings(ServiceSettings):
    """The gateway: routing, identity, limits. Also takes every service-level setting with the GATEWAY_ prefix."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    port: int = 8000
    database_url: str = "sqlite+aiosqlite:///var/gateway.db"

    # Routing ---------------------------------------------------------------------------
    upstreams: dict[str, str] = Field(
        default={
            "tender": "http://127.0.0.1:8101",
            "vendor": "http://127.0.0.1:8102",
            "contract": "http://127.0.0.1:8103",
            "audit": "http://127.0.0.1:8104",
            "notify": "http://127.0.0.1:8105",
        },
        description='Base URL of each service, as JSON: {"tender": "http://tender:8000", ...}',
    )
    upstream_timeout_s: float = Field(default=30.0, gt=0, description="Read/write timeout of a proxied call.")
    upstream_connect_timeout_s: float = Field(
        default=2.0, gt=0, description="Connect timeout: a service that is down answers 503 within this."
    )
    upstream_timeouts: dict[str, float] = Field(
        default={},
        description='Per-route read/write timeouts, as JSON {"/api/tender/packages": 120}: longest path prefix wins.',
    )
    upstream_max_connections: int = Field(default=200, ge=1, description="Connections to all services, pooled.")
    upstream_max_keepalive: int = Field(default=100, ge=0, description="Idle pooled connections kept open.")
    upstream_pools: int = Field(
        default=8,
        ge=1,
        le=64,
        description=(
            "Connection pools the upstream connections are split over, used in turn (httpx checks every "
            "connection of a pool on each request: small pools keep that cheap)."
        ),
    )
    breaker_failure_threshold: int = Field(
        default=5, ge=1, description="Consecutive failures (unreachable, timeout, 502-504) that open a circuit."
    )
    breaker_open_s: float = Field(default=10.0, gt=0, description="How long an open circuit fails fast.")
    openapi_cache_s: float = Field(default=30.0, ge=0, description="How long the merged OpenAPI document is reused.")
    public_cache_max_age_s: int = Field(default=60, ge=0, description="Cache-Control max-age of public reads.")
    public_etag_max_bytes: int = Field(
        default=1_048_576, ge=0, description="Public responses up to this size get an ETag computed by the gateway."
    )
    stream_idle_timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="Server-sent event streams: silence after which the gateway ends one (the client reconnects "
        "with Last-Event-ID). Unset: never; a stream lasts until the client or the service closes it.",
    )

    # Identity --------------------------------------------------------------------------
    identity_mode: Literal["builtin", "oidc"] = Field(
        default="builtin",
        description="builtin: the gateway signs users in and issues tokens. oidc: an outside OpenID Connect "
        "provider (AUTH_ISSUER/AUTH_JWKS_URL) does; password sign-in and self-registration are then off.",
    )
    token_issuer: str | None = Field(
        default=None,
        description="`iss` of tokens the gateway signs. Default: AUTH_ISSUER in builtin mode, "
        "urn:eproc:gateway in oidc mode (then list it in AUTH_EXTRA_ISSUERS for the services).",
    )
    access_token_ttl_s: int = Field(
        default=900, ge=30, le=3600, description="Access token lifetime; services accept a token until it expires."
    )
    refresh_token_ttl_s: int = Field(default=14 * 86400, ge=300, description="Idle lifetime of a refresh token.")
    session_max_age_s: int = Field(
        default=30 * 86400, ge=300, description="Absolute lifetime of a sign-in session (refresh-token family)."
    )
    api_key_token_ttl_s: int = Field(
        default=300, ge=30, le=3600, description="Lifetime of the internal token an API-key call carries upstream."
    )
    session_check_cache_s: float = Field(
        default=5.0, ge=0, description="How long a replica trusts that a session is still not revoked."
    )
    token_hash_key: str = Field(
        default=DEFAULT_TOKEN_HASH_KEY,
        description="HMAC key for stored refresh tokens and API keys (at least 32 characters; secret).",
    )
    signing_key_files: list[str] = Field(
        default=[],
        description="PEM private keys (Ed25519 or RSA) as a JSON list of paths; the first signs, all are "
        "published in the JWKS. Required in production. Empty: keys are generated and kept in the database.",
    )
    signing_key_max_age_days: float = Field(
        default=30, gt=0, description="Database-kept keys: a new key is generated when the active one is older."
    )
    password_hash_time_cost: int = Field(default=3, ge=1, description="argon2id iterations (production needs >= 2).")
    password_hash_memory_kib: int = Field(default=65536, ge=1024, description="Argon2id memory per hash (KiB).")
    password_hash_parallelism: int = Field(default=4, ge=1, description="argon2id lanes.")
    password_min_length: int = Field(default=10, ge=8, description="Shortest password accepted.")
    bootstrap_admin_username: str | None = Field(
        default=None, description="Created at start (if missing) as the first administrator."
    )
    bootstrap_admin_password: str | None = Field(default=None, description="Its password (secret).")

    # Dev mode --------------------------------------------------------------------------
    dev_seed: bool | None = Field(
        default=None,
        description="Seed one demo account per role and write their credentials to dev_credentials_file. "
        "Default: on when EPROC_ENV=development. Refused in production.",
    )
    dev_credentials_file: str = Field(
        default="var/dev-credentials.json", description="Where dev seeding writes the demo accounts (mode 0600)."
    )
    dev_opd_id: str = Field(default="dev-opd", description="The OPD of the seeded officials.")

    # Limits and access -----------------------------------------------------------------
    rate_limit_user_per_min: int = Field(default=600, ge=1, description="Requests per minute per signed-in user.")
    rate_limit_api_key_per_min: int = Field(default=1200, ge=1, description="Requests per minute per API key.")
    rate_limit_anonymous_per_min: int = Field(
        default=120, ge=1, description="Requests per minute per client IP without credentials."
    )
    login_attempts_per_account: int = Field(default=5, ge=1, description="Failed sign-ins per account per window.")
    login_attempts_per_ip: int = Field(default=20, ge=1, description="Failed sign-ins per client IP per window.")
    login_window_s: int = Field(default=300, ge=1, description="Window over which failed sign-ins are counted.")
    rate_limit_max_keys: int = Field(
        default=100_000, ge=100, description="Counters kept per replica; the oldest idle ones are dropped beyond."
    )
    trusted_proxies: list[str] = Field(
        default=[],
        description="Addresses/CIDRs of load balancers in front of the gateway whose X-Forwarded-For is believed.",
    )
    cors_origins: list[str] = Field(default=[], description="Origins allowed by CORS, as a JSON list.")
    cors_allow_credentials: bool = Field(
        default=False, description="Let browsers send cookies/credentials cross-origin (never with origin *)."
    )

    auth: AuthSettings = Field(default_factory=AuthSettings)

    @model_validator(mode="after")
    def _defaults(self) -> GatewaySettings:
        if self.dev_seed is None:
            self.dev_seed = self.environment == "development"
        if self.token_issuer is None:
            self.token_issuer = self.auth.issuer if self.identity_mode == "builtin" else "urn:eproc:gateway"
        return self

    @property
    def issuer(self) -> str:
        assert self.token_issuer is not None
        return self.token_issuer

    def production_problems(self) -> list[str]:
        """What makes this configuration unfit for production (empty when fit)."""
        problems = []
        if self.dev_seed:
            problems.append("GATEWAY_DEV_SEED is on: demo accounts must never exist in production")
        if self.token_hash_key == DEFAULT_TOKEN_HASH_KEY or len(self.token_hash_key) < 32:
            problems.append("GATEWAY_TOKEN_HASH_KEY is the default or shorter than 32 characters")
        if not self.signing_key_files:
            problems.append("GATEWAY_SIGNING_KEY_FILES is empty: production signing keys come from secret files")
        if self.password_hash_memory_kib < 19456 or self.password_hash_time_cost < 2:
            problems.append("password hashing is weaker than argon2id m=19MiB t=2")
        if self.bootstrap_admin_password is not None and len(self.bootstrap_admin_password) < 16:
            problems.append("GATEWAY_BOOTSTRAP_ADMIN_PASSWORD is shorter than 16 characters")
        if "*" in self.cors_origins and self.cors_allow_credentials:
            problems.append("CORS allows credentials from any origin")
        return problems

    def check(self) -> None:
        if self.environment == "production":
            problems = self.production_problems()
            if problems:
                raise ProductionConfigError("refusing to start in production: " + "; ".join(problems))
