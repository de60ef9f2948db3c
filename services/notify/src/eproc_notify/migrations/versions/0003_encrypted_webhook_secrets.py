"""Webhook signing secrets encrypted at rest: columns for the encrypted values; the plaintext ones become nullable.

Schema only. Migrations run without the encryption key (the Kubernetes init container has the database URL
only), so the service itself encrypts the secrets still in plaintext, and empties those columns, when it starts
(eproc_notify.endpoint_secrets.seal_stored_secrets). A later revision drops the plaintext columns once every
deployment has started this release.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(sa.Column("secret_encrypted", sa.String(300), nullable=True))
        batch.add_column(sa.Column("previous_secret_encrypted", sa.String(300), nullable=True))
        batch.alter_column("secret", existing_type=sa.String(200), nullable=True)


def downgrade() -> None:
    endpoints = sa.table("webhook_endpoints", sa.column("secret", sa.String(200)))
    encrypted_only = op.get_bind().scalar(
        sa.select(sa.func.count()).select_from(endpoints).where(endpoints.c.secret.is_(None))
    )
    if encrypted_only:
        # Decrypting needs the key, which migrations do not have; dropping the columns would lose the secrets.
        raise RuntimeError(
            f"{encrypted_only} webhook endpoints hold only encrypted secrets: revision 0002 cannot keep them"
        )
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column("secret", existing_type=sa.String(200), nullable=False)
        batch.drop_column("previous_secret_encrypted")
        batch.drop_column("secret_encrypted")
