"""Bid documents keep a keyed digest of their plaintext (HMAC of its SHA-256 under a per-package key) for
tender.bid_submitted.v2.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: documents uploaded before this revision have their plaintext hash only inside the sealed metadata.
    # Never the bare SHA-256: whoever reads the table could test guessed files against it before opening.
    op.add_column("bid_documents", sa.Column("plain_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("bid_documents", "plain_digest")
