"""Tables of the contract service (its own database; no other service reads them).

Created by migrations/versions/0002_contracts.py; keep the two in step.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from eproc_shared.messaging_tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)


def _at(name: str, nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(name, DateTime(timezone=True), nullable=nullable)


contracts = Table(
    "contracts",
    metadata,
    Column("id", String(40), primary_key=True),
    # The award (package + SPPBJ) or the terminated contract a replacement follows: one contract each.
    Column("source_ref", String(300), nullable=False, unique=True),
    Column("package_id", String(100), nullable=False, index=True),
    Column("package_code", String(100)),
    Column("package_name", Text),
    Column("opd_id", String(100), nullable=False, index=True),
    Column("satker", Text),
    Column("fiscal_year", Integer),
    Column("procurement_type", String(40)),
    Column("method", String(40)),
    Column("location", Text),
    Column("kbli_code", String(10)),
    Column("ppk_id", String(100), nullable=False),
    Column("vendor_id", String(100), nullable=False, index=True),
    Column("vendor_name", Text, nullable=False),
    Column("vendor_npwp", String(40)),
    Column("hps", BigInteger, nullable=False),
    Column("pagu", BigInteger, nullable=False),
    Column("awarded_price", BigInteger, nullable=False),
    Column("low_price", Boolean, nullable=False),
    Column("performance_guarantee_base", BigInteger, nullable=False),
    Column("performance_guarantee_amount", BigInteger, nullable=False),
    Column("reserve_vendor_ids", JSON, nullable=False),
    Column("sppbj_number", String(100)),
    Column("sppbj_date", Date),
    Column("proposed_contract_type", String(40)),
    Column("original_value", BigInteger, nullable=False),
    Column("current_value", BigInteger, nullable=False),
    Column("added_value_total", BigInteger, nullable=False),
    Column("paid_total", BigInteger, nullable=False),
    Column("retention_held", BigInteger, nullable=False),
    Column("penalty_amount", BigInteger, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("terms", JSON),
    Column("terms_version", Integer, nullable=False),
    Column("signed_on", Date),
    Column("spmk_number", String(100)),
    Column("start_date", Date),
    Column("planned_end", Date),
    Column("handed_over_on", Date),
    Column("ended_on", Date),
    Column("end_reason", Text),
    Column("fault_party", String(20)),
    Column("legal_basis", Text),
    Column("blacklist_recommended", Boolean, nullable=False),
    Column("replaces_contract_id", String(40)),
    Column("replaced_by_contract_id", String(40)),
    _at("created_at"),
    _at("updated_at"),
)

terms_versions = Table(
    "contract_terms_versions",
    metadata,
    Column("contract_id", String(40), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("terms", JSON, nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("planned_end", Date),
    Column("amendment_number", Integer),
    _at("effective_at"),
)

signatures = Table(
    "contract_signatures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("contract_id", String(40), nullable=False, index=True),
    # 0 for the contract itself, n for amendment n.
    Column("amendment_number", Integer, nullable=False),
    Column("party", String(10), nullable=False),
    Column("signer_id", String(100), nullable=False),
    Column("seq", Integer, nullable=False),
    _at("signed_at"),
    UniqueConstraint("contract_id", "amendment_number", "party"),
)

guarantees = Table(
    "contract_guarantees",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("contract_id", String(40), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("issuer", Text, nullable=False),
    Column("number", String(100), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("submitted_by", String(100), nullable=False),
    _at("submitted_at"),
)

progress_reports = Table(
    "contract_progress",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("contract_id", String(40), nullable=False, index=True),
    Column("milestone", String(50), nullable=False),
    Column("percent", Integer, nullable=False),
    Column("reported_on", Date, nullable=False),
    Column("note", Text),
    Column("evidence", JSON, nullable=False),
    Column("reported_by", String(100), nullable=False),
    _at("reported_at"),
)

payments = Table(
    "contract_payments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("contract_id", String(40), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("termin", Integer),
    Column("gross_amount", BigInteger, nullable=False),
    Column("retention_amount", BigInteger, nullable=False),
    Column("net_amount", BigInteger, nullable=False),
    Column("paid_on", Date, nullable=False),
    Column("reference", String(200)),
    Column("recorded_by", String(100), nullable=False),
    _at("recorded_at"),
)

penalties = Table(
    "contract_penalties",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("contract_id", String(40), nullable=False, index=True),
    Column("assessed_on", Date, nullable=False),
    Column("days_late", Integer, nullable=False),
    Column("base", BigInteger, nullable=False),
    Column("late_part_value", BigInteger),
    Column("uncapped", BigInteger, nullable=False),
    Column("cap", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("assessed_by", String(100), nullable=False),
    _at("assessed_at"),
)

amendments = Table(
    "contract_amendments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("contract_id", String(40), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("scope_change", Text),
    Column("value_delta", BigInteger, nullable=False),
    Column("extension_days", Integer, nullable=False),
    Column("proposed_by", String(100), nullable=False),
    _at("proposed_at"),
    _at("applied_at", nullable=True),
    Column("applied_on", Date),
    Column("terms_version", Integer),
    UniqueConstraint("contract_id", "number"),
)

handovers = Table(
    "contract_handovers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("contract_id", String(40), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("handed_over_on", Date, nullable=False),
    Column("description", Text, nullable=False),
    Column("days_late", Integer, nullable=False),
    Column("recorded_by", String(100), nullable=False),
    _at("recorded_at"),
)

ratings = Table(
    "contract_ratings",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("contract_id", String(40), nullable=False, unique=True),
    Column("scores", JSON, nullable=False),
    Column("comment", Text),
    Column("rated_by", String(100), nullable=False),
    Column("rated_on", Date, nullable=False),
    _at("rated_at"),
)
