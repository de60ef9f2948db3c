"""Events of the tender service (packages, sealed bids, evaluation, objections, award).

``eproc.tender.public`` is what anyone may follow: announcements, addenda, participants, answered
questions, bid prices once opened, results once the winner is announced, failure and cancellation.
It never carries a sealed price or document, nor who asked a question.

``eproc.tender.internal`` carries what other services need and the public may not see yet: a bid's
receipt (never its price or documents), the evaluation before its announcement, objections, and the
award for the contract service.

Money is integer Rupiah; times are UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eproc_shared.events.catalogue import Event, event, private

TOPIC = "eproc.tender.internal"
PUBLIC_TOPIC = "eproc.tender.public"

Method = Literal["tender", "seleksi", "tender_cepat", "pengadaan_langsung", "penunjukan_langsung"]
ProcurementType = Literal["barang", "pekerjaan_konstruksi", "jasa_konsultansi", "jasa_lainnya"]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TenderStageWindow(_Part):
    stage: str = Field(description="announcement, registration, clarification, submission, opening, ...")
    starts_at: datetime
    ends_at: datetime


class TenderPackageFacts(_Part):
    """The public facts of a package."""

    package_id: str
    code: str
    name: str
    opd_id: str
    satker: str | None = None
    fiscal_year: int
    procurement_type: ProcurementType
    method: Method
    qualification: Literal["pasca", "pra"]
    envelope_system: Literal["one_file", "two_file", "two_stage"]
    evaluation_system: Literal["lowest_price", "scoring", "quality_cost"]
    contract_type: str
    pagu: int
    hps: int
    kbli_codes: list[str] = Field(default_factory=list)
    size_classes: list[str] = Field(default_factory=list)
    location: str | None = None


class TenderOpenedPrice(_Part):
    vendor_id: str
    vendor_name: str
    price: int = Field(description="Offered price as read at opening, before arithmetic correction.")
    receipt_verified: bool


class TenderBidResult(_Part):
    vendor_id: str
    vendor_name: str
    offered_price: int | None = None
    corrected_price: int | None = None
    passed: bool
    reasons: list[str] = Field(default_factory=list)
    low_price: bool = Field(default=False, description="Under the low-price share of HPS (price clarification).")
    technical_score: int | None = None
    total_score: float | None = None
    rank: int | None = None


@event("tender.announced", 1, PUBLIC_TOPIC)
class TenderAnnounced(Event):
    """A package was announced: its facts and schedule are public and vendors may register."""

    package: TenderPackageFacts
    schedule: list[TenderStageWindow]
    announced_at: datetime
    retender_of: str | None = Field(default=None, description="The failed package this one re-tenders.")


@event("tender.amended", 1, PUBLIC_TOPIC)
class TenderAmended(Event):
    """An addendum changed the schedule or the documents, with its reason."""

    package_id: str
    addendum_number: int
    reason: str
    schedule: list[TenderStageWindow]
    documents_changed: bool
    amended_at: datetime


@event("tender.participant_registered", 1, PUBLIC_TOPIC)
class TenderParticipantRegistered(Event):
    package_id: str
    vendor_id: str
    vendor_name: str
    registered_at: datetime


@event("tender.question_answered", 1, PUBLIC_TOPIC)
class TenderQuestionAnswered(Event):
    """A clarification answer; who asked is not said."""

    package_id: str
    question_id: str
    question: str
    answer: str
    answered_at: datetime


@event("tender.bid_submitted", 1, TOPIC)
class TenderBidSubmitted(Event):
    """A sealed bid was received (or replaced one): its receipt, never its price or documents."""

    package_id: str
    opd_id: str
    vendor_id: str
    bid_id: str
    received_at: datetime
    receipt_sha256: str = Field(description="SHA-256 of the sealed bytes, as on the vendor's receipt.")
    replaces_bid_id: str | None = None


@event("tender.bid_submitted", 2, TOPIC)
class TenderBidSubmittedV2(Event):
    """A sealed bid was received (or replaced one), with what the audit service needs to see collusion.

    Supersedes v1, which stays registered for history: v2 adds the network address the bid came from
    and a keyed digest of each attached document's plaintext (computed while it was sealed at upload), so
    bidders sharing a machine or identical files within a package can be flagged without opening anything.
    The digests are keyed, never bare SHA-256, so that nobody reading this topic can test a guessed file
    before opening. Both fields are private: this type lives on the internal topic only.
    """

    package_id: str
    opd_id: str
    vendor_id: str
    bid_id: str
    received_at: datetime
    receipt_sha256: str = Field(description="SHA-256 of the sealed bytes, as on the vendor's receipt.")
    replaces_bid_id: str | None = None
    round: int = Field(default=1, ge=1, description="1, or 2 for the second offer of a two-stage package.")
    submitter_address: str | None = private(
        default=None, description="Client network address of the submission, as the gateway saw it."
    )
    document_digests: list[str] = private(
        default_factory=list,
        description="For each attached document, in the order the bid lists them (technical documents, then "
        "price documents): HMAC-SHA256, under a per-package key held only by the tender service, of the SHA-256 "
        "of the document's plaintext, in lowercase hex. Equal for identical files within one package; not "
        "comparable across packages, and useless for testing a guessed file without the key.",
    )


@event("tender.bid_withdrawn", 1, TOPIC)
class TenderBidWithdrawn(Event):
    package_id: str
    opd_id: str
    vendor_id: str
    withdrawn_at: datetime


@event("tender.bids_opened", 1, PUBLIC_TOPIC)
class TenderBidsOpened(Event):
    """Bids were opened after the deadline. ``envelope`` price: the prices are public from now on."""

    package_id: str
    envelope: Literal["technical", "price", "all"]
    bidders: list[str] = Field(description="Vendor ids whose envelopes were opened.")
    prices: list[TenderOpenedPrice] = Field(default_factory=list, description="Empty for a technical envelope.")
    opened_at: datetime
    opened_by: str


@event("tender.evaluated", 1, TOPIC)
class TenderEvaluated(Event):
    """The Pokja's evaluation is complete: results, winner and reserves (public with the winner announcement)."""

    package_id: str
    opd_id: str
    results: list[TenderBidResult]
    winner_vendor_id: str
    reserve_vendor_ids: list[str]
    evaluated_at: datetime


@event("tender.winner_announced", 1, PUBLIC_TOPIC)
class TenderWinnerAnnounced(Event):
    """The winner is public and the objection period runs until ``objection_ends_at``."""

    package_id: str
    opd_id: str
    winner_vendor_id: str
    winner_name: str
    winner_npwp: str = Field(description="Company tax number (public for winners).")
    winning_price: int = Field(description="Corrected price.")
    hps: int
    reserve_vendor_ids: list[str]
    results: list[TenderBidResult]
    announced_at: datetime
    objection_ends_at: datetime


@event("tender.objection_filed", 1, TOPIC)
class TenderObjectionFiled(Event):
    package_id: str
    opd_id: str
    objection_id: str
    vendor_id: str
    reason: str = private(description="The objector's statement.")
    filed_at: datetime
    answer_due_at: datetime


@event("tender.objection_answered", 1, TOPIC)
class TenderObjectionAnswered(Event):
    package_id: str
    opd_id: str
    objection_id: str
    vendor_id: str
    upheld: bool
    consequence: Literal["none", "re_evaluate", "fail"]
    answer: str = private()
    answered_at: datetime
    late: bool = Field(description="Answered after the answer period.")


class TenderAwardWinner(_Part):
    vendor_id: str
    legal_name: str
    npwp: str


@event("tender.awarded", 1, TOPIC)
class TenderAwarded(Event):
    """The award letter (SPPBJ): what the contract service needs to draw up the contract."""

    package: TenderPackageFacts
    ppk_id: str = Field(description="The PPK (commitment official) who signs the contract.")
    pokja_id: str | None = None
    winner: TenderAwardWinner
    offered_price: int
    awarded_price: int = Field(description="Corrected price: the contract value unless negotiated.")
    low_price: bool = Field(description="Under the low-price share of HPS: the guarantee is on HPS.")
    performance_guarantee_base: int = Field(description="Value the performance guarantee percentage applies to.")
    reserve_vendor_ids: list[str]
    sppbj_number: str
    awarded_at: datetime


@event("tender.failed", 1, PUBLIC_TOPIC)
class TenderFailed(Event):
    package_id: str
    opd_id: str
    reason_code: Literal["no_bids", "all_above_hps", "no_bid_passed", "objection_upheld", "collusion", "other"]
    reason: str
    failed_at: datetime


@event("tender.package_assigned", 1, TOPIC)
class TenderPackageAssigned(Event):
    """The PPK handed a package to its Pokja (committee members) or, for a direct method, its Pejabat Pengadaan."""

    package_id: str
    code: str
    name: str
    opd_id: str
    method: Method
    ppk_id: str
    assigned_role: Literal["pokja", "pejabat_pengadaan"]
    assignee_ids: list[str] = Field(description="User ids of the Pokja members or of the Pejabat Pengadaan.")
    assigned_at: datetime


@event("tender.cancelled", 1, PUBLIC_TOPIC)
class TenderCancelled(Event):
    package_id: str
    opd_id: str
    reason: str
    cancelled_at: datetime


class TenderVendorRef(_Part):
    vendor_id: str
    vendor_name: str


@event("tender.prequalification_announced", 1, PUBLIC_TOPIC)
class TenderPrequalificationAnnounced(Event):
    """Prakualifikasi results: who passed (and is invited to bid) and who did not; reasons are not public."""

    package_id: str
    opd_id: str
    passed: list[TenderVendorRef]
    not_passed: list[TenderVendorRef]
    bid_deadline: datetime = Field(description="Deadline of the invited vendors' bids.")
    announced_at: datetime


@event("tender.second_stage_invited", 1, PUBLIC_TOPIC)
class TenderSecondStageInvited(Event):
    """Two-stage: the bidders who passed the first (administrative and technical) stage may send their second
    offer (revised technical offer and price) until ``deadline``."""

    package_id: str
    opd_id: str
    invited_vendor_ids: list[str]
    deadline: datetime
    invited_at: datetime


@event("tender.appeal_filed", 1, TOPIC)
class TenderAppealFiled(Event):
    """Sanggah banding (construction works): an objector appeals the rejection of its objection."""

    package_id: str
    opd_id: str
    appeal_id: str
    objection_id: str
    vendor_id: str
    reason: str = private(description="The appellant's statement.")
    guarantee_amount: int = Field(description="Appeal guarantee offered, integer Rupiah.")
    guarantee_required: int = Field(description="Appeal guarantee required (a share of the HPS).")
    filed_at: datetime
    answer_due_at: datetime


@event("tender.appeal_answered", 1, TOPIC)
class TenderAppealAnswered(Event):
    package_id: str
    opd_id: str
    appeal_id: str
    objection_id: str
    vendor_id: str
    upheld: bool
    consequence: Literal["none", "re_evaluate", "fail"]
    answer: str = private()
    guarantee_forfeited: bool = Field(description="A rejected appeal forfeits the guarantee.")
    answered_by: str
    answered_at: datetime
    late: bool = Field(description="Answered after the appeal answer period.")


@event("tender.committee_decided", 1, TOPIC)
class TenderCommitteeDecided(Event):
    """A decision the Pokja takes as a committee (winner determination), with the members who approved it."""

    package_id: str
    opd_id: str
    decision: Literal["winner_determination"]
    members: list[str]
    approved_by: list[str]
    winner_vendor_id: str | None = None
    failure: str | None = Field(default=None, description="Why the evaluation fails the package, if it does.")
    decided_at: datetime


class TenderAuctionStanding(_Part):
    """One place in a round's ranking: no name, so bidders cannot see who holds which price."""

    position: int = Field(ge=1)
    price: int


@event("tender.auction_invited", 1, TOPIC)
class TenderAuctionInvited(Event):
    """Tender cepat announced: the vendors the register showed qualified for the package are invited to bid."""

    package_id: str
    code: str
    name: str
    opd_id: str
    vendor_ids: list[str]
    rounds: list[TenderStageWindow] = Field(description="The auction rounds in order (stage auction_round_<n>).")
    invited_at: datetime


@event("tender.auction_bid_submitted", 1, TOPIC)
class TenderAuctionBidSubmitted(Event):
    """Tender cepat: an invited vendor priced (or lowered its price) inside a round."""

    package_id: str
    opd_id: str
    vendor_id: str
    round: int = Field(ge=1)
    price: int = private(description="The new price; public only as a nameless ranking once the round has closed.")
    submitted_at: datetime
    submitter_address: str | None = private(
        default=None, description="Client network address of the submission, as the gateway saw it."
    )


@event("tender.auction_round_closed", 1, PUBLIC_TOPIC)
class TenderAuctionRoundClosed(Event):
    """Tender cepat: a round ended; the ranking of every bidder's latest price, without names."""

    package_id: str
    opd_id: str
    round: int = Field(ge=1)
    rounds_total: int = Field(ge=1)
    ranking: list[TenderAuctionStanding] = Field(
        description="Lowest first; on equal prices the one submitted first ranks higher."
    )
    closed_at: datetime
    next_round_starts_at: datetime | None = Field(default=None, description="None after the last round.")


class TenderAuctionResult(_Part):
    position: int = Field(ge=1)
    vendor_id: str
    vendor_name: str
    price: int = Field(description="The vendor's final price.")
    submitted_at: datetime = Field(description="When the final price was submitted (it breaks ties).")


@event("tender.auction_concluded", 1, PUBLIC_TOPIC)
class TenderAuctionConcluded(Event):
    """Tender cepat: after the last round the system ranked the bids and names the winner (no objection period;
    the PPK then awards with tender.awarded.v1). Fewer than two bidders fail the package instead (tender.failed.v1)."""

    package_id: str
    opd_id: str
    hps: int
    results: list[TenderAuctionResult]
    winner_vendor_id: str
    winner_name: str
    winner_npwp: str = Field(description="Company tax number (public for winners).")
    winning_price: int
    reserve_vendor_ids: list[str]
    concluded_at: datetime


@event("tender.direct_started", 1, PUBLIC_TOPIC)
class TenderDirectStarted(Event):
    """Pengadaan langsung or penunjukan langsung started: the official invited its first vendor(s).

    Says that the package is being procured directly, with its public facts; not whom the official invited.
    """

    package: TenderPackageFacts
    appointment_case: Literal["emergency_follow_up", "single_source", "failed_retender"] | None = Field(
        default=None, description="Penunjukan langsung: its special case."
    )
    legal_basis: str | None = Field(default=None, description="Penunjukan langsung: the legal basis recorded.")
    started_at: datetime


@event("tender.direct_awarded", 1, PUBLIC_TOPIC)
class TenderDirectAwarded(Event):
    """Pengadaan langsung or penunjukan langsung awarded (SPK or purchase order): the winner and agreed value."""

    package_id: str
    opd_id: str
    method: Literal["pengadaan_langsung", "penunjukan_langsung"]
    hps: int
    winner_vendor_id: str
    winner_name: str
    winner_npwp: str = Field(description="Company tax number (public for winners).")
    offered_price: int = Field(description="The vendor's first offer.")
    agreed_price: int = Field(description="The price agreed in negotiation: the contract value.")
    awarded_at: datetime
