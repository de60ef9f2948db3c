"""Tender cepat: auction rounds with their published rankings, invited vendors, and every auction price.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auction_rounds",
        sa.Column("package_id", sa.String(length=36), sa.ForeignKey("packages.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ranking", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("package_id", "number"),
    )
    op.create_table(
        "auction_invitations",
        sa.Column("package_id", sa.String(length=36), sa.ForeignKey("packages.id"), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("vendor_name", sa.String(length=300), nullable=False),
        sa.Column("npwp", sa.String(length=32), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("package_id", "vendor_id"),
    )
    op.create_table(
        "auction_prices",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("package_id", sa.String(length=36), sa.ForeignKey("packages.id"), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_auction_prices_vendor", "auction_prices", ["package_id", "vendor_id", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_auction_prices_vendor", table_name="auction_prices")
    op.drop_table("auction_prices")
    op.drop_table("auction_invitations")
    op.drop_table("auction_rounds")
