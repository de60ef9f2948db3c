"""Packages, schedules, addenda, participants, questions, sealed bids, opening, objections, vendor facts.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "packages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("opd_id", sa.String(length=100), nullable=False),
        sa.Column("satker", sa.String(length=200), nullable=True),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("procurement_type", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("qualification", sa.String(length=10), nullable=False),
        sa.Column("envelope_system", sa.String(length=20), nullable=False),
        sa.Column("evaluation_system", sa.String(length=20), nullable=False),
        sa.Column("technical_weight", sa.Integer(), nullable=True),
        sa.Column("price_weight", sa.Integer(), nullable=True),
        sa.Column("contract_type", sa.String(length=40), nullable=False),
        sa.Column("pagu", sa.BigInteger(), nullable=False),
        sa.Column("hps", sa.BigInteger(), nullable=False),
        sa.Column("hps_items", sa.JSON(), nullable=False),
        sa.Column("kbli_codes", sa.JSON(), nullable=False),
        sa.Column("size_classes", sa.JSON(), nullable=False),
        sa.Column("small_business_exemption", sa.Text(), nullable=True),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("ppk_id", sa.String(length=100), nullable=False),
        sa.Column("pokja_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submission_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("objection_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("wrapped_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("retender_of", sa.String(length=36), nullable=True),
        sa.Column("failure_code", sa.String(length=40), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("winner_vendor_id", sa.String(length=100), nullable=True),
        sa.Column("reserve_vendor_ids", sa.JSON(), nullable=True),
        sa.Column("winner_announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sppbj_number", sa.String(length=64), nullable=True),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(op.f("ix_packages_next_due_at"), "packages", ["next_due_at"], unique=False)
    op.create_index(op.f("ix_packages_opd_id"), "packages", ["opd_id"], unique=False)
    op.create_index("ix_packages_public", "packages", ["status", "announced_at", "id"], unique=False)
    op.create_table(
        "vendor_facts",
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vendor_id"),
    )
    op.create_table(
        "addenda",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("documents_changed", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("package_id", "number"),
    )
    op.create_index(op.f("ix_addenda_package_id"), "addenda", ["package_id"], unique=False)
    op.create_table(
        "bid_documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("cipher_sha256", sa.String(length=64), nullable=False),
        sa.Column("sealed_meta", sa.LargeBinary(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bid_documents_owner", "bid_documents", ["package_id", "vendor_id"], unique=False)
    op.create_table(
        "bids",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("technical_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("price_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("receipt_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
        ),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_bids_latest", "bids", ["package_id", "vendor_id", "seq"], unique=False)
    op.create_table(
        "objections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("upheld", sa.Boolean(), nullable=True),
        sa.Column("consequence", sa.String(length=20), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_objections_package_id"), "objections", ["package_id"], unique=False)
    op.create_table(
        "opened_bids",
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("bid_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt_sha256", sa.String(length=64), nullable=False),
        sa.Column("receipt_verified", sa.Boolean(), nullable=False),
        sa.Column("declaration", sa.Text(), nullable=True),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("offered_price", sa.BigInteger(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=True),
        sa.Column("judgement", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
        ),
        sa.PrimaryKeyConstraint("package_id", "vendor_id"),
    )
    op.create_table(
        "package_documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("addendum_number", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("package_id", "name", "version"),
    )
    op.create_index(op.f("ix_package_documents_package_id"), "package_documents", ["package_id"], unique=False)
    op.create_table(
        "package_stages",
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
        ),
        sa.PrimaryKeyConstraint("package_id", "stage"),
    )
    op.create_table(
        "participants",
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("vendor_name", sa.String(length=300), nullable=False),
        sa.Column("npwp", sa.String(length=32), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
        ),
        sa.PrimaryKeyConstraint("package_id", "vendor_id"),
    )
    op.create_table(
        "questions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_questions_package_id"), "questions", ["package_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_questions_package_id"), table_name="questions")
    op.drop_table("questions")
    op.drop_table("participants")
    op.drop_table("package_stages")
    op.drop_index(op.f("ix_package_documents_package_id"), table_name="package_documents")
    op.drop_table("package_documents")
    op.drop_table("opened_bids")
    op.drop_index(op.f("ix_objections_package_id"), table_name="objections")
    op.drop_table("objections")
    op.drop_index("ix_bids_latest", table_name="bids")
    op.drop_table("bids")
    op.drop_index("ix_bid_documents_owner", table_name="bid_documents")
    op.drop_table("bid_documents")
    op.drop_index(op.f("ix_addenda_package_id"), table_name="addenda")
    op.drop_table("addenda")
    op.drop_table("vendor_facts")
    op.drop_index("ix_packages_public", table_name="packages")
    op.drop_index(op.f("ix_packages_opd_id"), table_name="packages")
    op.drop_index(op.f("ix_packages_next_due_at"), table_name="packages")
    op.drop_table("packages")
