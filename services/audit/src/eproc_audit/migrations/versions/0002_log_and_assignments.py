"""Tamper-evident log, its head, signing keys, checkpoints, package facts and assignments.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 200


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("canonical", sa.LargeBinary, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("key", sa.Text, nullable=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(ID), nullable=True),
        sa.Column("package_id", sa.String(ID), nullable=True),
        sa.Column("opd_id", sa.String(ID), nullable=True),
        sa.Column("vendor_id", sa.String(ID), nullable=True),
        sa.Column("contract_id", sa.String(ID), nullable=True),
        sa.Column("fiscal_year", sa.Integer, nullable=True),
        sa.UniqueConstraint("source", "event_id", name="uq_audit_log_event"),
    )
    for name, column in (
        ("package", "package_id"),
        ("vendor", "vendor_id"),
        ("contract", "contract_id"),
        ("opd", "opd_id"),
        ("type", "type"),
    ):
        op.create_index(f"ix_audit_log_{name}", "audit_log", [column, "seq"])
    head = op.create_table(
        "audit_log_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])
    op.create_table(
        "audit_signing_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("public_jwk", sa.JSON, nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(64), sa.ForeignKey("audit_signing_keys.key_id"), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
    )
    op.create_index("ix_audit_checkpoints_seq", "audit_checkpoints", ["seq"])
    op.create_table(
        "audit_package_facts",
        sa.Column("package_id", sa.String(ID), primary_key=True),
        sa.Column("opd_id", sa.String(ID), nullable=True),
        sa.Column("fiscal_year", sa.Integer, nullable=True),
    )
    op.create_index("ix_audit_package_facts_opd_year", "audit_package_facts", ["opd_id", "fiscal_year"])
    op.create_table(
        "audit_contract_packages",
        sa.Column("contract_id", sa.String(ID), primary_key=True),
        sa.Column("package_id", sa.String(ID), nullable=False),
    )
    op.create_index("ix_audit_contract_packages_package_id", "audit_contract_packages", ["package_id"])
    op.create_table(
        "audit_assignments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("auditor_id", sa.String(ID), nullable=False),
        sa.Column("letter_number", sa.String(200), nullable=False),
        sa.Column("opd_id", sa.String(ID), nullable=True),
        sa.Column("fiscal_year", sa.Integer, nullable=True),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_until", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(ID), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(ID), nullable=True),
    )
    op.create_index("ix_audit_assignments_auditor_id", "audit_assignments", ["auditor_id"])
    op.create_table(
        "audit_assignment_packages",
        sa.Column("assignment_id", sa.String(36), sa.ForeignKey("audit_assignments.id"), primary_key=True),
        sa.Column("package_id", sa.String(ID), primary_key=True),
    )


def downgrade() -> None:
    for table in (
        "audit_assignment_packages",
        "audit_assignments",
        "audit_contract_packages",
        "audit_package_facts",
        "audit_checkpoints",
        "audit_signing_keys",
        "audit_log_head",
        "audit_log",
    ):
        op.drop_table(table)
