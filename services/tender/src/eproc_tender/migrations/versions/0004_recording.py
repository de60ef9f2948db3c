"""Recorded purchases (pencatatan) with their versions, CSV imports with their per-row report; direct methods.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("packages", sa.Column("appointment_case", sa.String(length=40), nullable=True))
    op.add_column("packages", sa.Column("legal_basis", sa.Text(), nullable=True))
    op.create_table(
        "direct_invitations",
        sa.Column("package_id", sa.String(length=36), sa.ForeignKey("packages.id"), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("vendor_name", sa.String(length=300), nullable=False),
        sa.Column("npwp", sa.String(length=30), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("qualified", sa.Boolean(), nullable=True),
        sa.Column("qualification_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("package_id", "vendor_id"),
    )
    op.create_table(
        "direct_prices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("package_id", sa.String(length=36), sa.ForeignKey("packages.id"), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("party", sa.String(length=10), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_direct_prices_package_id", "direct_prices", ["package_id"])
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("opd_id", sa.String(length=100), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=True),
        sa.Column("realised_value", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("ppk_id", sa.String(length=100), nullable=False),
        sa.Column("import_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_recordings_opd_id", "recordings", ["opd_id"])
    op.create_index("ix_recordings_vendor_id", "recordings", ["vendor_id"])
    op.create_table(
        "recording_revisions",
        sa.Column("recording_id", sa.String(length=36), sa.ForeignKey("recordings.id"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("import_id", sa.String(length=36), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("recording_id", "revision"),
    )
    op.create_table(
        "recording_imports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("opd_id", sa.String(length=100), nullable=False),
        sa.Column("ppk_id", sa.String(length=100), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("accepted_rows", sa.Integer(), nullable=False),
        sa.Column("rejected_rows", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "recording_import_rows",
        sa.Column("import_id", sa.String(length=36), sa.ForeignKey("recording_imports.id"), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("recording_id", sa.String(length=36), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("import_id", "row_number"),
    )


def downgrade() -> None:
    op.drop_table("recording_import_rows")
    op.drop_table("recording_imports")
    op.drop_table("recording_revisions")
    op.drop_index("ix_recordings_vendor_id", "recordings")
    op.drop_index("ix_recordings_opd_id", "recordings")
    op.drop_table("recordings")
    op.drop_index("ix_direct_prices_package_id", "direct_prices")
    op.drop_table("direct_prices")
    op.drop_table("direct_invitations")
    op.drop_column("packages", "legal_basis")
    op.drop_column("packages", "appointment_case")
