"""Tables of the vendor service (its own database; no other service reads them).

A vendor's record is split into items (company data, business fields, each licence, the tax
status, each past contract, each key person, each piece of equipment) that are verified one by
one: an item keeps its last verified content in ``verified_data`` while a change to it waits in
``data``, so a change sends only that part back to verification and the rest stays visible.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from eproc_shared.db import UtcDateTime
from eproc_shared.messaging_tables import Id, messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)

vendors = Table(
    "vendors",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(64), nullable=True),
    Column("legal_name", String(300), nullable=False),
    Column("npwp", String(16), nullable=True, unique=True),
    Column("status", String(30), nullable=False),
    Column("ever_verified", Boolean, nullable=False, default=False),
    Column("revision", Integer, nullable=False, default=0),
    # Verified values, copied here so that public search is a plain indexed query.
    Column("public_name", String(300), nullable=True),
    Column("public_name_lc", String(300), nullable=True, index=True),
    Column("public_city_lc", String(120), nullable=True, index=True),
    Column("public_size_class", String(20), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

vendor_kbli = Table(
    "vendor_kbli",
    metadata,
    Column("vendor_id", String(64), ForeignKey("vendors.id", ondelete="CASCADE"), primary_key=True),
    Column("code", String(5), primary_key=True),
    Index("ix_vendor_kbli_code", "code"),
)

vendor_items = Table(
    "vendor_items",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("vendor_id", String(64), ForeignKey("vendors.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("data", JSON, nullable=True),
    Column("verified_data", JSON, nullable=True),
    Column("status", String(30), nullable=False),
    Column("rejection_reason", Text, nullable=True),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("expiry_notified_for", Date, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(64), nullable=True),
    Index("ix_vendor_items_queue", "status", "submitted_at"),
)

vendor_history = Table(
    "vendor_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("vendor_id", String(64), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=True),
    Column("action", String(60), nullable=False),
    Column("item_kind", String(20), nullable=True),
    Column("item_id", String(64), nullable=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("detail", Text, nullable=True),
)

vendor_documents = Table(
    "vendor_documents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("vendor_id", String(64), ForeignKey("vendors.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("item_id", String(64), nullable=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(300), nullable=False),
    Column("uploaded_by", String(64), nullable=True),
    Column("uploaded_at", UtcDateTime, nullable=False),
)

blacklist_entries = Table(
    "blacklist_entries",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("vendor_id", String(64), nullable=False, index=True),
    Column("opd_id", String(64), nullable=False),
    Column("legal_basis", Text, nullable=True),
    Column("reason", Text, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    # proposed -> confirmed -> lifted, or proposed -> dismissed; confirmed -> revoked by an admin.
    Column("status", String(20), nullable=False),
    Column("lifted_on", Date, nullable=True),
    Column("contract_id", String(64), nullable=True, index=True),
    Column("proposed_by", String(64), nullable=True),
    Column("proposed_at", UtcDateTime, nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decision_note", Text, nullable=True),
)

contract_outcomes = Table(
    "contract_outcomes",
    metadata,
    Column("contract_id", String(64), primary_key=True),
    Column("vendor_id", String(64), nullable=False, index=True),
    Column("package_id", String(64), nullable=False),
    Column("opd_id", String(64), nullable=False),
    Column("ppk_id", String(64), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("outcome_on", Date, nullable=False),
    Column("final_value", BigInteger, nullable=False),
    Column("kbli_code", String(5), nullable=True),
    Column("fault_party", String(20), nullable=True),
    Column("event_time", UtcDateTime, nullable=False),
)

ratings = Table(
    "ratings",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("vendor_id", String(64), nullable=False, index=True),
    Column("contract_id", String(64), nullable=False),
    Column("package_id", String(64), nullable=False),
    Column("opd_id", String(64), nullable=False),
    Column("ppk_id", String(64), nullable=False),
    Column("rated_on", Date, nullable=False),
    Column("scores", JSON, nullable=False),
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=True),
    Column("event_time", UtcDateTime, nullable=False),
)
