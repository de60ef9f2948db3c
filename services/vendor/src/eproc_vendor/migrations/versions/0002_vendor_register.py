"""The vendor register: vendors, items under verification, history, documents, blacklist, track record.

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
        "vendors",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("legal_name", sa.String(300), nullable=False),
        sa.Column("npwp", sa.String(16), nullable=True, unique=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("ever_verified", sa.Boolean, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("public_name", sa.String(300), nullable=True),
        sa.Column("public_name_lc", sa.String(300), nullable=True),
        sa.Column("public_city_lc", sa.String(120), nullable=True),
        sa.Column("public_size_class", sa.String(20), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
    )
    op.create_index("ix_vendors_public_name_lc", "vendors", ["public_name_lc"])
    op.create_index("ix_vendors_public_city_lc", "vendors", ["public_city_lc"])
    op.create_table(
        "vendor_kbli",
        sa.Column("vendor_id", sa.String(64), sa.ForeignKey("vendors.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("code", sa.String(5), primary_key=True),
    )
    op.create_index("ix_vendor_kbli_code", "vendor_kbli", ["code"])
    op.create_table(
        "vendor_items",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("vendor_id", sa.String(64), sa.ForeignKey("vendors.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("data", sa.JSON, nullable=True),
        sa.Column("verified_data", sa.JSON, nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("rejection_reason", sa.Text, nullable=True),
        sa.Column("submitted_at", UTC_TS, nullable=True),
        sa.Column("decided_at", UTC_TS, nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("expiry_notified_for", sa.Date, nullable=True),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_vendor_items_vendor_id", "vendor_items", ["vendor_id"])
    op.create_index("ix_vendor_items_queue", "vendor_items", ["status", "submitted_at"])
    op.create_table(
        "vendor_history",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("item_kind", sa.String(20), nullable=True),
        sa.Column("item_id", sa.String(64), nullable=True),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_vendor_history_vendor_id", "vendor_history", ["vendor_id"])
    op.create_table(
        "vendor_documents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("vendor_id", sa.String(64), sa.ForeignKey("vendors.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(300), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=True),
        sa.Column("uploaded_at", UTC_TS, nullable=False),
    )
    op.create_index("ix_vendor_documents_vendor_id", "vendor_documents", ["vendor_id"])
    op.create_table(
        "blacklist_entries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("opd_id", sa.String(64), nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("lifted_on", sa.Date, nullable=True),
        sa.Column("contract_id", sa.String(64), nullable=True),
        sa.Column("proposed_by", sa.String(64), nullable=True),
        sa.Column("proposed_at", UTC_TS, nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", UTC_TS, nullable=True),
        sa.Column("decision_note", sa.Text, nullable=True),
    )
    op.create_index("ix_blacklist_entries_vendor_id", "blacklist_entries", ["vendor_id"])
    op.create_index("ix_blacklist_entries_contract_id", "blacklist_entries", ["contract_id"])
    op.create_table(
        "contract_outcomes",
        sa.Column("contract_id", sa.String(64), primary_key=True),
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("package_id", sa.String(64), nullable=False),
        sa.Column("opd_id", sa.String(64), nullable=False),
        sa.Column("ppk_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("outcome_on", sa.Date, nullable=False),
        sa.Column("final_value", sa.BigInteger, nullable=False),
        sa.Column("kbli_code", sa.String(5), nullable=True),
        sa.Column("fault_party", sa.String(20), nullable=True),
        sa.Column("event_time", UTC_TS, nullable=False),
    )
    op.create_index("ix_contract_outcomes_vendor_id", "contract_outcomes", ["vendor_id"])
    op.create_table(
        "ratings",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("package_id", sa.String(64), nullable=False),
        sa.Column("opd_id", sa.String(64), nullable=False),
        sa.Column("ppk_id", sa.String(64), nullable=False),
        sa.Column("rated_on", sa.Date, nullable=False),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("event_time", UTC_TS, nullable=False),
    )
    op.create_index("ix_ratings_vendor_id", "ratings", ["vendor_id"])


def downgrade() -> None:
    for table in (
        "ratings",
        "contract_outcomes",
        "blacklist_entries",
        "vendor_documents",
        "vendor_history",
        "vendor_items",
        "vendor_kbli",
        "vendors",
    ):
        op.drop_table(table)
