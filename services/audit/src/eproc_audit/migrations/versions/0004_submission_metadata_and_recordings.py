"""Submission metadata of bids (tender.bid_submitted.v2), recorded purchases (pencatatan), flags naming a record.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = 200


def upgrade() -> None:
    with op.batch_alter_table("audit_bids") as batch:
        batch.add_column(sa.Column("bid_id", sa.String(ID), nullable=True))
        batch.add_column(sa.Column("round", sa.Integer, nullable=True))
        batch.add_column(sa.Column("submitter_address", sa.String(100), nullable=True))
        batch.add_column(sa.Column("document_digests", sa.JSON, nullable=True))
    op.create_table(
        "audit_recorded_purchases",
        sa.Column("record_id", sa.String(ID), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("code", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("opd_id", sa.String(ID), nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("procurement_type", sa.String(40), nullable=False),
        sa.Column("kbli_codes", sa.JSON, nullable=False),
        sa.Column("pagu", sa.BigInteger, nullable=False),
        sa.Column("realised_value", sa.BigInteger, nullable=False),
        sa.Column("vendor_id", sa.String(ID), nullable=True),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audit_recorded_purchases_opd_year", "audit_recorded_purchases", ["opd_id", "fiscal_year"])
    with op.batch_alter_table("audit_red_flags") as batch:
        batch.add_column(sa.Column("record_id", sa.String(ID), nullable=True))
    op.create_index("ix_audit_red_flags_record", "audit_red_flags", ["record_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_red_flags_record", "audit_red_flags")
    with op.batch_alter_table("audit_red_flags") as batch:
        batch.drop_column("record_id")
    op.drop_table("audit_recorded_purchases")
    with op.batch_alter_table("audit_bids") as batch:
        for column in ("document_digests", "submitter_address", "round", "bid_id"):
            batch.drop_column(column)
