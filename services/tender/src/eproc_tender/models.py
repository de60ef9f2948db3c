"""Tables of the tender service (its own database; no other service reads them).

Sealed bid contents live only in ``bids.technical_sealed``/``bids.price_sealed`` and in encrypted
document files; nothing in clear about a bid's price or documents is stored before opening.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
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

from eproc_shared.db import UtcDateTime
from eproc_shared.messaging_tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)


packages = Table(
    "packages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(500), nullable=False),
    Column("search_text", Text, nullable=False),
    Column("opd_id", String(100), nullable=False, index=True),
    Column("satker", String(200)),
    Column("fiscal_year", Integer, nullable=False),
    Column("procurement_type", String(40), nullable=False),
    Column("method", String(40), nullable=False),
    Column("qualification", String(10), nullable=False),
    Column("envelope_system", String(20), nullable=False),
    Column("evaluation_system", String(20), nullable=False),
    Column("technical_weight", Integer),
    Column("price_weight", Integer),
    Column("contract_type", String(40), nullable=False),
    Column("pagu", BigInteger, nullable=False),
    Column("hps", BigInteger, nullable=False),
    Column("hps_items", JSON, nullable=False),
    Column("kbli_codes", JSON, nullable=False),
    Column("size_classes", JSON, nullable=False),
    Column("small_business_exemption", Text),
    Column("location", String(300)),
    Column("ppk_id", String(100), nullable=False),
    Column("pokja_id", String(100)),
    # The Pokja's members (user ids) when a committee was named; None: the Pokja acts as the one account pokja_id.
    Column("pokja_members", JSON),
    # Why a tender (not a seleksi) qualifies first: prakualifikasi is for complex work.
    Column("complexity_reason", Text),
    # Penunjukan langsung: its special case and legal basis.
    Column("appointment_case", String(40)),
    Column("legal_basis", Text),
    Column("status", String(30), nullable=False),
    Column("next_due_at", UtcDateTime, index=True),
    Column("submission_ends_at", UtcDateTime),
    Column("objection_ends_at", UtcDateTime),
    # Construction works: the end of the appeal period after the last rejected objection (the award waits for it).
    Column("appeal_window_ends_at", UtcDateTime),
    Column("announced_at", UtcDateTime),
    Column("public_key", LargeBinary, nullable=False),
    Column("wrapped_private_key", LargeBinary, nullable=False),
    Column("retender_of", String(36)),
    Column("failure_code", String(40)),
    Column("failure_reason", Text),
    Column("cancel_reason", Text),
    Column("winner_vendor_id", String(100)),
    Column("reserve_vendor_ids", JSON),
    Column("winner_announced_at", UtcDateTime),
    Column("sppbj_number", String(64)),
    Column("awarded_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Raised by every change to the package or its schedule (store.set_status): a bid prepared from an older
    # revision is prepared again (flows/bid_writer.py).
    Column("revision", Integer, nullable=False, server_default="0"),
)
Index("ix_packages_public", packages.c.status, packages.c.announced_at, packages.c.id)

stages = Table(
    "package_stages",
    metadata,
    Column("package_id", String(36), ForeignKey("packages.id"), primary_key=True),
    Column("stage", String(40), primary_key=True),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
)

package_documents = Table(
    "package_documents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("package_id", String(36), ForeignKey("packages.id"), nullable=False, index=True),
    Column("name", String(300), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("path", String(500), nullable=False),
    Column("published", Boolean, nullable=False),
    Column("addendum_number", Integer),
    Column("uploaded_at", UtcDateTime, nullable=False),
    UniqueConstraint("package_id", "name", "version"),
)

addenda = Table(
    "addenda",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("package_id", String(36), ForeignKey("packages.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("changes", JSON, nullable=False),
    Column("documents_changed", Boolean, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("package_id", "number"),
)

participants = Table(
    "participants",
    metadata,
    Column("package_id", String(36), ForeignKey("packages.id"), primary_key=True),
    Column("vendor_id", String(100), primary_key=True),
    Column("vendor_name", String(300), nullable=False),
    Column("npwp", String(32), nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    # Prakualifikasi: the vendor's qualification data and the Pokja's judgement (True: invited to bid).
    Column("qualification_statement", Text),
    Column("qualification_submitted_at", UtcDateTime),
    Column("prequalified", Boolean),
    Column("prequalification_reason", Text),
)

questions = Table(
    "questions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("package_id", String(36), ForeignKey("packages.id"), nullable=False, index=True),
    Column("vendor_id", String(100), nullable=False),
    Column("question", Text, nullable=False),
    Column("asked_at", UtcDateTime, nullable=False),
    Column("answer", Text),
    Column("answered_by", String(100)),
    Column("answered_at", UtcDateTime),
)

# Append-only: a replacement or withdrawal is a new row; the latest row per vendor counts.
bids = Table(
    "bids",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("package_id", String(36), ForeignKey("packages.id"), nullable=False),
    Column("vendor_id", String(100), nullable=False),
    Column("withdrawn", Boolean, nullable=False),
    # Two-stage: 1 for the first (administrative and technical) offer, 2 for the second (revised technical, price).
    Column("round", Integer, nullable=False, server_default="1"),
    Column("received_at", UtcDateTime, nullable=False),
    Column("technical_sealed", LargeBinary),
    Column("price_sealed", LargeBinary),
    Column("receipt_sha256", String(64)),
)
Index("ix_bids_latest", bids.c.package_id, bids.c.vendor_id, bids.c.seq)

bid_documents = Table(
    "bid_documents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("package_id", String(36), ForeignKey("packages.id"), nullable=False),
    Column("vendor_id", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("cipher_sha256", String(64), nullable=False),
    # The data key, file name, content type and plaintext hash, sealed to the package key.
    Column("sealed_meta", LargeBinary, nullable=False),
    Column("path", String(500), nullable=False),
    Column("uploaded_at", UtcDateTime, nullable=False),
    # HMAC-SHA256 of the plaintext's SHA-256 under the package's digest key (domain/sealing.py), never the bare
    # hash, which would let a reader test guessed files before opening. Bid-submitted events carry it so the
    # audit service sees identical documents from different vendors of a package. None before 0005.
    Column("plain_digest", String(64)),
)
Index("ix_bid_documents_owner", bid_documents.c.package_id, bid_documents.c.vendor_id)

# What opening revealed, and the Pokja's evaluation of it.
opened_bids = Table(
    "opened_bids",
    metadata,
    Column("package_id", String(36), ForeignKey("packages.id"), primary_key=True),
    Column("vendor_id", String(100), primary_key=True),
    Column("bid_id", String(36), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("receipt_sha256", String(64), nullable=False),
    Column("receipt_verified", Boolean, nullable=False),
    Column("declaration", Text),
    Column("documents", JSON, nullable=False),
    Column("offered_price", BigInteger),
    Column("items", JSON),
    Column("judgement", JSON, nullable=False),
    Column("result", JSON),
)

objections = Table(
    "objections",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("package_id", String(36), ForeignKey("packages.id"), nullable=False, index=True),
    Column("vendor_id", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("filed_at", UtcDateTime, nullable=False),
    Column("answer_due_at", UtcDateTime, nullable=False),
    Column("answer", Text),
    Column("upheld", Boolean),
    Column("consequence", String(20)),
    Column("answered_by", String(100)),
    Column("answered_at", UtcDateTime),
)

# Sanggah banding (construction works): an objector appeals the Pokja's rejection, with an appeal guarantee.
appeals = Table(
    "appeals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("package_id", String(36), ForeignKey("packages.id"), nullable=False, index=True),
    Column("objection_id", String(36), ForeignKey("objections.id"), nullable=False, unique=True),
    Column("vendor_id", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("guarantee_number", String(100), nullable=False),
    Column("guarantee_issuer", String(300), nullable=False),
    Column("guarantee_amount", BigInteger, nullable=False),
    Column("guarantee_required", BigInteger, nullable=False),
    Column("filed_at", UtcDateTime, nullable=False),
    Column("answer_due_at", UtcDateTime, nullable=False),
    Column("answer", Text),
    Column("upheld", Boolean),
    Column("consequence", String(20)),
    Column("guarantee_forfeited", Boolean),
    Column("answered_by", String(100)),
    Column("answered_at", UtcDateTime),
)

# Committee decisions: which Pokja members approved which outcome (the digest names the outcome approved).
committee_approvals = Table(
    "committee_approvals",
    metadata,
    Column("package_id", String(36), ForeignKey("packages.id"), primary_key=True),
    Column("decision", String(40), primary_key=True),
    Column("user_id", String(100), primary_key=True),
    Column("outcome_digest", String(64), nullable=False),
    Column("approved_at", UtcDateTime, nullable=False),
)

# The service's own copy of the vendor register's eligibility facts (highest revision kept).
vendor_facts = Table(
    "vendor_facts",
    metadata,
    Column("vendor_id", String(100), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("facts", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Recorded purchases (pencatatan): the current version in `recordings`, every version in `recording_revisions`.
recordings = Table(
    "recordings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("opd_id", String(100), nullable=False, index=True),
    Column("fiscal_year", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("method", String(40), nullable=False),
    Column("vendor_id", String(100), index=True),
    Column("realised_value", BigInteger, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("data", JSON, nullable=False),
    Column("ppk_id", String(100), nullable=False),
    Column("import_id", String(36)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

recording_revisions = Table(
    "recording_revisions",
    metadata,
    Column("recording_id", String(36), ForeignKey("recordings.id"), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("data", JSON, nullable=False),
    Column("reason", Text),
    Column("actor", String(100), nullable=False),
    Column("import_id", String(36)),
    Column("recorded_at", UtcDateTime, nullable=False),
)

# A CSV import: the file stays on disk until processed; rows are processed in batches, each batch one
# transaction that also advances `processed_rows`, so a restart resumes where it stopped.
recording_imports = Table(
    "recording_imports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("opd_id", String(100), nullable=False),
    Column("ppk_id", String(100), nullable=False),
    Column("file_name", String(200)),
    Column("status", String(20), nullable=False),
    Column("total_rows", Integer, nullable=False),
    Column("processed_rows", Integer, nullable=False),
    Column("accepted_rows", Integer, nullable=False),
    Column("rejected_rows", Integer, nullable=False),
    Column("error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
)

recording_import_rows = Table(
    "recording_import_rows",
    metadata,
    Column("import_id", String(36), ForeignKey("recording_imports.id"), primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("accepted", Boolean, nullable=False),
    Column("recording_id", String(36)),
    Column("errors", JSON, nullable=False),
)

# Direct methods (pengadaan/penunjukan langsung): who was invited and judged, and every price offered or proposed.
direct_invitations = Table(
    "direct_invitations",
    metadata,
    Column("package_id", String(36), ForeignKey("packages.id"), primary_key=True),
    Column("vendor_id", String(100), primary_key=True),
    Column("vendor_name", String(300), nullable=False),
    Column("npwp", String(30)),
    Column("invited_at", UtcDateTime, nullable=False),
    Column("qualified", Boolean),
    Column("qualification_reason", Text),
)

direct_prices = Table(
    "direct_prices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("package_id", String(36), ForeignKey("packages.id"), nullable=False, index=True),
    Column("vendor_id", String(100), nullable=False),
    # vendor: an offer (the latest counts); official: a price the Pejabat Pengadaan proposed in negotiation.
    Column("party", String(10), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("note", Text),
    Column("actor", String(100), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

# Tender cepat: the rounds of the reverse auction (closed_at and the nameless ranking once a round has ended),
# the vendors invited at announcement (those the register copy showed qualified), and every price, append-only.
auction_rounds = Table(
    "auction_rounds",
    metadata,
    Column("package_id", String(36), ForeignKey("packages.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("ranking", JSON),
)

auction_invitations = Table(
    "auction_invitations",
    metadata,
    Column("package_id", String(36), ForeignKey("packages.id"), primary_key=True),
    Column("vendor_id", String(100), primary_key=True),
    Column("vendor_name", String(300), nullable=False),
    Column("npwp", String(32), nullable=False),
    Column("invited_at", UtcDateTime, nullable=False),
)

auction_prices = Table(
    "auction_prices",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("package_id", String(36), ForeignKey("packages.id"), nullable=False),
    Column("vendor_id", String(100), nullable=False),
    Column("round", Integer, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
Index("ix_auction_prices_vendor", auction_prices.c.package_id, auction_prices.c.vendor_id, auction_prices.c.seq)

DOMAIN_TABLES = [
    packages,
    stages,
    package_documents,
    addenda,
    participants,
    questions,
    bids,
    bid_documents,
    opened_bids,
    objections,
    appeals,
    committee_approvals,
    vendor_facts,
    direct_invitations,
    direct_prices,
    recordings,
    recording_revisions,
    recording_imports,
    recording_import_rows,
    auction_rounds,
    auction_invitations,
    auction_prices,
]
