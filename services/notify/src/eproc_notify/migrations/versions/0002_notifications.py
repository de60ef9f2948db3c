"""Notify's own tables: copies of other services' facts, preferences, subscriptions, webhook endpoints,
deliveries and their attempts.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from eproc_shared.messaging_tables import Id

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("opd_id", sa.String(64), nullable=True),
        sa.Column("vendor_id", sa.String(64), nullable=True),
        sa.Column("username", sa.String(200), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
    )
    op.create_index("ix_users_vendor", "users", ["vendor_id"])
    op.create_index("ix_users_opd", "users", ["opd_id"])

    op.create_table(
        "preferences",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("email_enabled", sa.Boolean, nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("updated_at", UTC_TS, nullable=False),
    )

    op.create_table(
        "vendors",
        sa.Column("vendor_id", sa.String(64), primary_key=True),
        sa.Column("legal_name", sa.String(300), nullable=True),
        sa.Column("contact_email", sa.String(320), nullable=True),
        sa.Column("contact_name", sa.String(200), nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
    )

    op.create_table(
        "packages",
        sa.Column("package_id", sa.String(64), primary_key=True),
        sa.Column("code", sa.String(100), nullable=True),
        sa.Column("name", sa.String(500), nullable=True),
        sa.Column("opd_id", sa.String(64), nullable=True),
        sa.Column("hps", sa.BigInteger, nullable=True),
        sa.Column("facts", sa.JSON, nullable=True),
        sa.Column("updated_at", UTC_TS, nullable=False),
    )

    op.create_table(
        "participants",
        sa.Column("package_id", sa.String(64), primary_key=True),
        sa.Column("vendor_id", sa.String(64), primary_key=True),
        sa.Column("vendor_name", sa.String(300), nullable=True),
        sa.Column("registered_at", UTC_TS, nullable=False),
    )

    op.create_table(
        "api_keys",
        sa.Column("api_key_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("vendor_id", sa.String(64), nullable=True),
        sa.Column("kbli_codes", sa.JSON, nullable=False),
        sa.Column("opd_ids", sa.JSON, nullable=False),
        sa.Column("keywords", sa.JSON, nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
    )
    op.create_index("ix_subscriptions_user", "subscriptions", ["user_id"])

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("owner_kind", sa.String(10), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("contact_email", sa.String(320), nullable=True),
        sa.Column("event_types", sa.JSON, nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("previous_secret", sa.String(200), nullable=True),
        sa.Column("previous_secret_until", UTC_TS, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("disabled_at", UTC_TS, nullable=True),
        sa.Column("disabled_reason", sa.String(500), nullable=True),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("failing_since", UTC_TS, nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
    )
    op.create_index("ix_webhook_endpoints_owner", "webhook_endpoints", ["owner"])

    op.create_table(
        "deliveries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        # One row per event, recipient and channel, whatever the redelivery.
        sa.Column("dedupe_key", sa.String(700), nullable=False, unique=True),
        sa.Column("channel", sa.String(10), nullable=False),  # inbox | email | webhook
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("endpoint_id", sa.String(64), nullable=True),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("language", sa.String(2), nullable=True),
        sa.Column("subject", sa.String(500), nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("link", sa.String(1000), nullable=True),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("status", sa.String(12), nullable=False),  # pending | delivered | failed
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTC_TS, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_latency_ms", sa.Integer, nullable=True),
        sa.Column("replay_of", Id, nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("completed_at", UTC_TS, nullable=True),
        sa.Column("read_at", UTC_TS, nullable=True),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["channel", "status", "next_attempt_at"])
    op.create_index("ix_deliveries_endpoint", "deliveries", ["endpoint_id", "status", "next_attempt_at"])
    op.create_index("ix_deliveries_inbox", "deliveries", ["user_id", "channel", "id"])

    op.create_table(
        "delivery_attempts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", Id, nullable=False),
        sa.Column("endpoint_id", sa.String(64), nullable=True),
        sa.Column("attempted_at", UTC_TS, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_delivery_attempts_delivery", "delivery_attempts", ["delivery_id", "id"])
    op.create_index("ix_delivery_attempts_endpoint", "delivery_attempts", ["endpoint_id", "id"])


def downgrade() -> None:
    op.drop_table("delivery_attempts")
    op.drop_table("deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("subscriptions")
    op.drop_table("api_keys")
    op.drop_table("participants")
    op.drop_table("packages")
    op.drop_table("vendors")
    op.drop_table("preferences")
    op.drop_table("users")
