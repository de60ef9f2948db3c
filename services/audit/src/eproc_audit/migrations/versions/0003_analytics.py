"""Facts learned from the log (packages, bids, contracts), red flags and the OCDS release index.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = 200


def upgrade() -> None:
    op.create_table(
        "audit_packages",
        sa.Column("package_id", sa.String(ID), primary_key=True),
        sa.Column("opd_id", sa.String(ID), nullable=True),
        sa.Column("fiscal_year", sa.Integer, nullable=True),
        sa.Column("method", sa.String(40), nullable=True),
        sa.Column("evaluation_system", sa.String(40), nullable=True),
        sa.Column("pagu", sa.BigInteger, nullable=True),
        sa.Column("hps", sa.BigInteger, nullable=True),
        sa.Column("kbli_codes", sa.JSON, nullable=True),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("announced_seq", sa.BigInteger, nullable=True),
        sa.Column("submission_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("schedule_seq", sa.BigInteger, nullable=True),
        sa.Column("bidders", sa.Integer, nullable=True),
        sa.Column("opened_seq", sa.BigInteger, nullable=True),
        sa.Column("winner_vendor_id", sa.String(ID), nullable=True),
        sa.Column("winning_price", sa.BigInteger, nullable=True),
        sa.Column("lowest_price", sa.BigInteger, nullable=True),
        sa.Column("lowest_vendor_id", sa.String(ID), nullable=True),
        sa.Column("winner_seq", sa.BigInteger, nullable=True),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("awarded_price", sa.BigInteger, nullable=True),
        sa.Column("award_seq", sa.BigInteger, nullable=True),
        sa.Column("ended", sa.String(20), nullable=True),
    )
    op.create_index("ix_audit_packages_opd_year", "audit_packages", ["opd_id", "fiscal_year"])
    op.create_table(
        "audit_bids",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("package_id", sa.String(ID), nullable=False),
        sa.Column("vendor_id", sa.String(ID), nullable=False),
        sa.Column("receipt_sha256", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_bids_package", "audit_bids", ["package_id"])
    op.create_table(
        "audit_contracts",
        sa.Column("contract_id", sa.String(ID), primary_key=True),
        sa.Column("package_id", sa.String(ID), nullable=True),
        sa.Column("opd_id", sa.String(ID), nullable=True),
        sa.Column("vendor_id", sa.String(ID), nullable=True),
        sa.Column("original_value", sa.BigInteger, nullable=True),
        sa.Column("current_value", sa.BigInteger, nullable=True),
        sa.Column("signed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completed", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_audit_contracts_package", "audit_contracts", ["package_id"])
    op.create_table(
        "audit_red_flags",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("flag_key", sa.String(400), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("package_id", sa.String(ID), nullable=True),
        sa.Column("vendor_id", sa.String(ID), nullable=True),
        sa.Column("opd_id", sa.String(ID), nullable=True),
        sa.Column("contract_id", sa.String(ID), nullable=True),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("raised_by_seq", sa.BigInteger, nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audit_red_flags_package", "audit_red_flags", ["package_id", "id"])
    op.create_index("ix_audit_red_flags_vendor", "audit_red_flags", ["vendor_id", "id"])
    op.create_table(
        "audit_ocds_releases",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("package_id", sa.String(ID), nullable=False),
    )
    op.create_index("ix_audit_ocds_releases_package", "audit_ocds_releases", ["package_id", "seq"])


def downgrade() -> None:
    for table in ("audit_ocds_releases", "audit_red_flags", "audit_contracts", "audit_bids", "audit_packages"):
        op.drop_table(table)
