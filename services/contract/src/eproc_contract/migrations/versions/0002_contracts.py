"""Contracts, their versions of terms, signatures, guarantees, progress, payments, penalties, amendments,
handovers and ratings.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.String(40), primary_key=True),
        # The award (package + SPPBJ) or the terminated contract a replacement follows: one contract each.
        sa.Column("source_ref", sa.String(300), nullable=False, unique=True),
        sa.Column("package_id", sa.String(100), nullable=False, index=True),
        sa.Column("package_code", sa.String(100)),
        sa.Column("package_name", sa.Text),
        sa.Column("opd_id", sa.String(100), nullable=False, index=True),
        sa.Column("satker", sa.Text),
        sa.Column("fiscal_year", sa.Integer),
        sa.Column("procurement_type", sa.String(40)),
        sa.Column("method", sa.String(40)),
        sa.Column("location", sa.Text),
        sa.Column("kbli_code", sa.String(10)),
        sa.Column("ppk_id", sa.String(100), nullable=False),
        sa.Column("vendor_id", sa.String(100), nullable=False, index=True),
        sa.Column("vendor_name", sa.Text, nullable=False),
        sa.Column("vendor_npwp", sa.String(40)),
        sa.Column("hps", sa.BigInteger, nullable=False),
        sa.Column("pagu", sa.BigInteger, nullable=False),
        sa.Column("awarded_price", sa.BigInteger, nullable=False),
        sa.Column("low_price", sa.Boolean, nullable=False),
        sa.Column("performance_guarantee_base", sa.BigInteger, nullable=False),
        sa.Column("performance_guarantee_amount", sa.BigInteger, nullable=False),
        sa.Column("reserve_vendor_ids", sa.JSON, nullable=False),
        sa.Column("sppbj_number", sa.String(100)),
        sa.Column("sppbj_date", sa.Date),
        sa.Column("proposed_contract_type", sa.String(40)),
        sa.Column("original_value", sa.BigInteger, nullable=False),
        sa.Column("current_value", sa.BigInteger, nullable=False),
        sa.Column("added_value_total", sa.BigInteger, nullable=False),
        sa.Column("paid_total", sa.BigInteger, nullable=False),
        sa.Column("retention_held", sa.BigInteger, nullable=False),
        sa.Column("penalty_amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("terms", sa.JSON),
        sa.Column("terms_version", sa.Integer, nullable=False),
        sa.Column("signed_on", sa.Date),
        sa.Column("spmk_number", sa.String(100)),
        sa.Column("start_date", sa.Date),
        sa.Column("planned_end", sa.Date),
        sa.Column("handed_over_on", sa.Date),
        sa.Column("ended_on", sa.Date),
        sa.Column("end_reason", sa.Text),
        sa.Column("fault_party", sa.String(20)),
        sa.Column("legal_basis", sa.Text),
        sa.Column("blacklist_recommended", sa.Boolean, nullable=False),
        sa.Column("replaces_contract_id", sa.String(40)),
        sa.Column("replaced_by_contract_id", sa.String(40)),
        _at("created_at"),
        _at("updated_at"),
    )

    op.create_table(
        "contract_terms_versions",
        sa.Column("contract_id", sa.String(40), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("terms", sa.JSON, nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("planned_end", sa.Date),
        sa.Column("amendment_number", sa.Integer),
        _at("effective_at"),
    )

    op.create_table(
        "contract_signatures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("contract_id", sa.String(40), nullable=False, index=True),
        # 0 for the contract itself, n for amendment n.
        sa.Column("amendment_number", sa.Integer, nullable=False),
        sa.Column("party", sa.String(10), nullable=False),
        sa.Column("signer_id", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        _at("signed_at"),
        sa.UniqueConstraint("contract_id", "amendment_number", "party"),
    )

    op.create_table(
        "contract_guarantees",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("contract_id", sa.String(40), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("number", sa.String(100), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("valid_until", sa.Date, nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=False),
        _at("submitted_at"),
    )

    op.create_table(
        "contract_progress",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("contract_id", sa.String(40), nullable=False, index=True),
        sa.Column("milestone", sa.String(50), nullable=False),
        sa.Column("percent", sa.Integer, nullable=False),
        sa.Column("reported_on", sa.Date, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("reported_by", sa.String(100), nullable=False),
        _at("reported_at"),
    )

    op.create_table(
        "contract_payments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("contract_id", sa.String(40), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("termin", sa.Integer),
        sa.Column("gross_amount", sa.BigInteger, nullable=False),
        sa.Column("retention_amount", sa.BigInteger, nullable=False),
        sa.Column("net_amount", sa.BigInteger, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("reference", sa.String(200)),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        _at("recorded_at"),
    )

    op.create_table(
        "contract_penalties",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("contract_id", sa.String(40), nullable=False, index=True),
        sa.Column("assessed_on", sa.Date, nullable=False),
        sa.Column("days_late", sa.Integer, nullable=False),
        sa.Column("base", sa.BigInteger, nullable=False),
        sa.Column("late_part_value", sa.BigInteger),
        sa.Column("uncapped", sa.BigInteger, nullable=False),
        sa.Column("cap", sa.BigInteger, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("assessed_by", sa.String(100), nullable=False),
        _at("assessed_at"),
    )

    op.create_table(
        "contract_amendments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("contract_id", sa.String(40), nullable=False, index=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("scope_change", sa.Text),
        sa.Column("value_delta", sa.BigInteger, nullable=False),
        sa.Column("extension_days", sa.Integer, nullable=False),
        sa.Column("proposed_by", sa.String(100), nullable=False),
        _at("proposed_at"),
        _at("applied_at", nullable=True),
        sa.Column("applied_on", sa.Date),
        sa.Column("terms_version", sa.Integer),
        sa.UniqueConstraint("contract_id", "number"),
    )

    op.create_table(
        "contract_handovers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("contract_id", sa.String(40), nullable=False, index=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("handed_over_on", sa.Date, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("days_late", sa.Integer, nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        _at("recorded_at"),
    )

    op.create_table(
        "contract_ratings",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("contract_id", sa.String(40), nullable=False, unique=True),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("rated_by", sa.String(100), nullable=False),
        sa.Column("rated_on", sa.Date, nullable=False),
        _at("rated_at"),
    )


def downgrade() -> None:
    op.drop_table("contract_ratings")
    op.drop_table("contract_handovers")
    op.drop_table("contract_amendments")
    op.drop_table("contract_penalties")
    op.drop_table("contract_payments")
    op.drop_table("contract_progress")
    op.drop_table("contract_guarantees")
    op.drop_table("contract_signatures")
    op.drop_table("contract_terms_versions")
    op.drop_table("contracts")
