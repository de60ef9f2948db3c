"""Tables of the notify service (its own database; no other service reads them).

Three kinds of rows: copies of other services' facts, learnt from their events (users, vendors,
packages, participants, API keys); what people and systems asked for (preferences, subscriptions,
webhook endpoints); and the deliveries themselves, one per event, recipient and channel.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text

from eproc_shared.db import UtcDateTime
from eproc_shared.messaging_tables import Id, messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)
UTC_TS = UtcDateTime()

users = Table(
    "users",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("roles", JSON, nullable=False),
    Column("opd_id", String(64), nullable=True),
    Column("vendor_id", String(64), nullable=True),
    Column("username", String(200), nullable=True),
    Column("email", String(320), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("updated_at", UTC_TS, nullable=False),
    Index("ix_users_vendor", "vendor_id"),
    Index("ix_users_opd", "opd_id"),
)

preferences = Table(
    "preferences",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("language", String(2), nullable=False),
    Column("email_enabled", Boolean, nullable=False),
    Column("email", String(320), nullable=True),
    Column("updated_at", UTC_TS, nullable=False),
)

vendors = Table(
    "vendors",
    metadata,
    Column("vendor_id", String(64), primary_key=True),
    Column("legal_name", String(300), nullable=True),
    Column("contact_email", String(320), nullable=True),
    Column("contact_name", String(200), nullable=True),
    Column("revision", Integer, nullable=False),
    Column("updated_at", UTC_TS, nullable=False),
)

packages = Table(
    "packages",
    metadata,
    Column("package_id", String(64), primary_key=True),
    Column("code", String(100), nullable=True),
    Column("name", String(500), nullable=True),
    Column("opd_id", String(64), nullable=True),
    Column("hps", BigInteger, nullable=True),
    Column("facts", JSON, nullable=True),
    Column("updated_at", UTC_TS, nullable=False),
)

participants = Table(
    "participants",
    metadata,
    Column("package_id", String(64), primary_key=True),
    Column("vendor_id", String(64), primary_key=True),
    Column("vendor_name", String(300), nullable=True),
    Column("registered_at", UTC_TS, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("api_key_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_by", String(64), nullable=True),
    Column("revoked", Boolean, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("vendor_id", String(64), nullable=True),
    Column("kbli_codes", JSON, nullable=False),
    Column("opd_ids", JSON, nullable=False),
    Column("keywords", JSON, nullable=False),
    Column("created_at", UTC_TS, nullable=False),
    Index("ix_subscriptions_user", "user_id"),
)

endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("owner_kind", String(10), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("description", String(500), nullable=True),
    Column("contact_email", String(320), nullable=True),
    Column("event_types", JSON, nullable=False),
    # Plaintext as revisions before 0003 stored it: never written now, emptied at start-up (endpoint_secrets.py).
    Column("secret", String(200), nullable=True),
    Column("previous_secret", String(200), nullable=True),
    # The signing secrets, AES-GCM encrypted and bound to this row's id (domain/secret_box.py).
    Column("secret_encrypted", String(300), nullable=True),
    Column("previous_secret_encrypted", String(300), nullable=True),
    Column("previous_secret_until", UTC_TS, nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_at", UTC_TS, nullable=True),
    Column("disabled_reason", String(500), nullable=True),
    Column("consecutive_failures", Integer, nullable=False),
    Column("failing_since", UTC_TS, nullable=True),
    Column("created_at", UTC_TS, nullable=False),
    Column("updated_at", UTC_TS, nullable=False),
    Index("ix_webhook_endpoints_owner", "owner"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # One row per event, recipient and channel, whatever the redelivery.
    Column("dedupe_key", String(700), nullable=False, unique=True),
    Column("channel", String(10), nullable=False),  # inbox | email | webhook
    Column("user_id", String(64), nullable=True),
    Column("endpoint_id", String(64), nullable=True),
    Column("address", String(320), nullable=True),
    Column("event_id", String(200), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("language", String(2), nullable=True),
    Column("subject", String(500), nullable=True),
    Column("body", Text, nullable=True),
    Column("link", String(1000), nullable=True),
    Column("payload", Text, nullable=True),
    Column("status", String(12), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTC_TS, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_latency_ms", Integer, nullable=True),
    Column("replay_of", Id, nullable=True),
    Column("created_at", UTC_TS, nullable=False),
    Column("completed_at", UTC_TS, nullable=True),
    Column("read_at", UTC_TS, nullable=True),
    Index("ix_deliveries_due", "channel", "status", "next_attempt_at"),
    Index("ix_deliveries_endpoint", "endpoint_id", "status", "next_attempt_at"),
    Index("ix_deliveries_inbox", "user_id", "channel", "id"),
)

attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("delivery_id", Id, nullable=False),
    Column("endpoint_id", String(64), nullable=True),
    Column("attempted_at", UTC_TS, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Index("ix_delivery_attempts_delivery", "delivery_id", "id"),
    Index("ix_delivery_attempts_endpoint", "endpoint_id", "id"),
)
