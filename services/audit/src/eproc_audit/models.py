"""Tables of the audit service (its own database; no other service reads them).

``audit_log`` is append-only: the service only ever inserts into it. ``audit_log_head`` is one row
holding the last sequence number and hash; appenders lock it, so entries are numbered without gaps
even with several replicas, and verification compares it with the chain (a deleted tail shows).
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from eproc_shared.messaging_tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)

ID = 200

log_entries = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("canonical", LargeBinary, nullable=False),
    # Everything below is derived from `canonical` (eproc_audit.refs) for querying; verification re-derives it.
    Column("event_id", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=True),
    Column("subject", Text, nullable=True),
    Column("key", Text, nullable=True),
    Column("topic", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(ID), nullable=True),
    Column("package_id", String(ID), nullable=True),
    Column("opd_id", String(ID), nullable=True),
    Column("vendor_id", String(ID), nullable=True),
    Column("contract_id", String(ID), nullable=True),
    Column("fiscal_year", Integer, nullable=True),
    UniqueConstraint("source", "event_id", name="uq_audit_log_event"),
    Index("ix_audit_log_package", "package_id", "seq"),
    Index("ix_audit_log_vendor", "vendor_id", "seq"),
    Index("ix_audit_log_contract", "contract_id", "seq"),
    Index("ix_audit_log_opd", "opd_id", "seq"),
    Index("ix_audit_log_type", "type", "seq"),
)

log_head = Table(
    "audit_log_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

signing_keys = Table(
    "audit_signing_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("public_jwk", JSON, nullable=False),
    Column("first_used_at", DateTime(timezone=True), nullable=False),
)

checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("seq", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("signed_at", String(40), nullable=False),
    Column("key_id", String(64), ForeignKey("audit_signing_keys.key_id"), nullable=False),
    Column("signature", String(200), nullable=False),
    Index("ix_audit_checkpoints_seq", "seq"),
)

# What the log has taught about packages and contracts, so an assignment for "an OPD and a fiscal
# year" covers the packages of that OPD and year, and their contracts.
package_facts = Table(
    "audit_package_facts",
    metadata,
    Column("package_id", String(ID), primary_key=True),
    Column("opd_id", String(ID), nullable=True),
    Column("fiscal_year", Integer, nullable=True),
    Index("ix_audit_package_facts_opd_year", "opd_id", "fiscal_year"),
)

contract_packages = Table(
    "audit_contract_packages",
    metadata,
    Column("contract_id", String(ID), primary_key=True),
    Column("package_id", String(ID), nullable=False),
    Index("ix_audit_contract_packages_package_id", "package_id"),
)

assignments = Table(
    "audit_assignments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("auditor_id", String(ID), nullable=False),
    Column("letter_number", String(200), nullable=False),
    Column("opd_id", String(ID), nullable=True),
    Column("fiscal_year", Integer, nullable=True),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("note", Text, nullable=True),
    Column("created_by", String(ID), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_by", String(ID), nullable=True),
    Index("ix_audit_assignments_auditor_id", "auditor_id"),
)

assignment_packages = Table(
    "audit_assignment_packages",
    metadata,
    Column("assignment_id", String(36), ForeignKey("audit_assignments.id"), primary_key=True),
    Column("package_id", String(ID), primary_key=True),
)

# What the log teaches about packages, bids and contracts, kept up to date in the log consumer's
# transaction (eproc_audit.projection) for red flags and governance indicators. Each ``*_seq``
# column is the log entry the value came from: the evidence of a flag.
packages = Table(
    "audit_packages",
    metadata,
    Column("package_id", String(ID), primary_key=True),
    Column("opd_id", String(ID), nullable=True),
    Column("fiscal_year", Integer, nullable=True),
    Column("method", String(40), nullable=True),
    Column("evaluation_system", String(40), nullable=True),
    Column("pagu", BigInteger, nullable=True),
    Column("hps", BigInteger, nullable=True),
    Column("kbli_codes", JSON, nullable=True),
    Column("announced_at", DateTime(timezone=True), nullable=True),
    Column("announced_seq", BigInteger, nullable=True),
    Column("submission_ends_at", DateTime(timezone=True), nullable=True),
    Column("schedule_seq", BigInteger, nullable=True),
    Column("bidders", Integer, nullable=True),
    Column("opened_seq", BigInteger, nullable=True),
    Column("winner_vendor_id", String(ID), nullable=True),
    Column("winning_price", BigInteger, nullable=True),
    Column("lowest_price", BigInteger, nullable=True),
    Column("lowest_vendor_id", String(ID), nullable=True),
    Column("winner_seq", BigInteger, nullable=True),
    Column("awarded_at", DateTime(timezone=True), nullable=True),
    Column("awarded_price", BigInteger, nullable=True),
    Column("award_seq", BigInteger, nullable=True),
    Column("ended", String(20), nullable=True),
    Index("ix_audit_packages_opd_year", "opd_id", "fiscal_year"),
)

bids = Table(
    "audit_bids",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("package_id", String(ID), nullable=False),
    Column("vendor_id", String(ID), nullable=False),
    Column("receipt_sha256", String(64), nullable=False),
    # From tender.bid_submitted.v2 (private fields of the internal topic; never shown in a flag).
    Column("bid_id", String(ID), nullable=True),
    Column("round", Integer, nullable=True),
    Column("submitter_address", String(100), nullable=True),
    Column("document_digests", JSON, nullable=True),
    Index("ix_audit_bids_package", "package_id"),
)

# Purchases recorded outside the platform (tender.purchase_recorded.v1): only the highest revision of each
# record is kept, so a correction replaces the figures it corrects; ``seq`` is that revision's log entry.
recorded_purchases = Table(
    "audit_recorded_purchases",
    metadata,
    Column("record_id", String(ID), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("code", String(ID), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("method", String(40), nullable=False),
    Column("opd_id", String(ID), nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("procurement_type", String(40), nullable=False),
    Column("kbli_codes", JSON, nullable=False),
    Column("pagu", BigInteger, nullable=False),
    Column("realised_value", BigInteger, nullable=False),
    Column("vendor_id", String(ID), nullable=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_audit_recorded_purchases_opd_year", "opd_id", "fiscal_year"),
)

contracts = Table(
    "audit_contracts",
    metadata,
    Column("contract_id", String(ID), primary_key=True),
    Column("package_id", String(ID), nullable=True),
    Column("opd_id", String(ID), nullable=True),
    Column("vendor_id", String(ID), nullable=True),
    Column("original_value", BigInteger, nullable=True),
    Column("current_value", BigInteger, nullable=True),
    Column("signed", Integer, nullable=False, default=0),
    Column("completed", Integer, nullable=False, default=0),
    Index("ix_audit_contracts_package", "package_id"),
)

red_flags = Table(
    "audit_red_flags",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("flag_key", String(400), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("package_id", String(ID), nullable=True),
    Column("vendor_id", String(ID), nullable=True),
    Column("opd_id", String(ID), nullable=True),
    Column("contract_id", String(ID), nullable=True),
    Column("record_id", String(ID), nullable=True),
    Column("explanation", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("raised_by_seq", BigInteger, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Index("ix_audit_red_flags_package", "package_id", "id"),
    Index("ix_audit_red_flags_vendor", "vendor_id", "id"),
    Index("ix_audit_red_flags_record", "record_id", "id"),
)

# Which public log entries are OCDS releases, and of which contracting process (package).
ocds_releases = Table(
    "audit_ocds_releases",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("package_id", String(ID), nullable=False),
    Index("ix_audit_ocds_releases_package", "package_id", "seq"),
)
