"""Prakualifikasi, two-stage bids, appeals (sanggah banding), Pokja committees.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("packages", sa.Column("pokja_members", sa.JSON(), nullable=True))
    op.add_column("packages", sa.Column("complexity_reason", sa.Text(), nullable=True))
    op.add_column("packages", sa.Column("appeal_window_ends_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("participants", sa.Column("qualification_statement", sa.Text(), nullable=True))
    op.add_column("participants", sa.Column("qualification_submitted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("participants", sa.Column("prequalified", sa.Boolean(), nullable=True))
    op.add_column("participants", sa.Column("prequalification_reason", sa.Text(), nullable=True))
    op.add_column("bids", sa.Column("round", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("objection_id", sa.String(length=36), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("guarantee_number", sa.String(length=100), nullable=False),
        sa.Column("guarantee_issuer", sa.String(length=300), nullable=False),
        sa.Column("guarantee_amount", sa.BigInteger(), nullable=False),
        sa.Column("guarantee_required", sa.BigInteger(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("upheld", sa.Boolean(), nullable=True),
        sa.Column("consequence", sa.String(length=20), nullable=True),
        sa.Column("guarantee_forfeited", sa.Boolean(), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["package_id"], ["packages.id"]),
        sa.ForeignKeyConstraint(["objection_id"], ["objections.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("objection_id"),
    )
    op.create_index("ix_appeals_package_id", "appeals", ["package_id"])
    op.create_table(
        "committee_approvals",
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("decision", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("outcome_digest", sa.String(length=64), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["packages.id"]),
        sa.PrimaryKeyConstraint("package_id", "decision", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("committee_approvals")
    op.drop_index("ix_appeals_package_id", table_name="appeals")
    op.drop_table("appeals")
    op.drop_column("bids", "round")
    for column in ("prequalification_reason", "prequalified", "qualification_submitted_at", "qualification_statement"):
        op.drop_column("participants", column)
    op.drop_column("packages", "appeal_window_ends_at")
    op.drop_column("packages", "complexity_reason")
    op.drop_column("packages", "pokja_members")
