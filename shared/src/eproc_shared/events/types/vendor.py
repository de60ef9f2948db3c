"""Events of the vendor register (SIKaP), published by the vendor service.

``eproc.vendor.internal`` carries everything another service needs to judge a vendor's
eligibility from its own copy, without calling the vendor service: every event that can change
eligibility carries a full :class:`VendorEligibilityFacts` snapshot with a ``revision`` that grows
by one per change of a vendor's facts, so a consumer keeps the snapshot with the highest revision
and may ignore older ones arriving late. Only verified data is in the facts; data awaiting
verification is not. Contact data (for the notification service) is marked private.

``eproc.vendor.public`` carries the public profile: verified fields, track record and blacklist
status, never contacts, tax documents or personnel details.

Dates (licence validity, blacklist periods) are calendar dates in Asia/Jakarta and inclusive: a
licence with ``valid_until`` 2026-12-31 still counts on that day and no longer on 2027-01-01.
Money is integer Rupiah.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eproc_shared.events.catalogue import Event, event, private

TOPIC = "eproc.vendor.internal"
PUBLIC_TOPIC = "eproc.vendor.public"

SizeClass = Literal["kecil", "menengah", "besar"]
BusinessForm = Literal["pt", "cv", "koperasi", "firma", "perorangan"]
VendorStatus = Literal["registered", "submitted", "under_verification", "verified", "rejected"]
ItemKind = Literal["company", "kbli", "licence", "tax_status", "experience", "personnel", "equipment", "document"]
ItemStatus = Literal["draft", "submitted", "under_verification", "verified", "rejected"]
LicenceKind = Literal["nib", "siup", "sbu", "iujk", "sku", "other"]
QualificationCause = Literal[
    "verified",
    "rejected",
    "changed",
    "licence_expired",
    "tax_status_expired",
    "blacklisted",
    "blacklist_lifted",
    "rated",
]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VendorLicenceFact(_Part):
    """A verified licence. ``sbu_subclassification`` is set for an SBU (construction), e.g. ``BG004``."""

    licence_id: str
    kind: LicenceKind
    number: str
    issuer: str
    valid_from: date | None = None
    valid_until: date | None = Field(default=None, description="Inclusive; null when the licence does not expire.")
    kbli_codes: list[str] = Field(default_factory=list, description="Business fields (5-digit KBLI) it covers.")
    sbu_subclassification: str | None = None
    expired: bool = Field(description="Past valid_until on the facts' as_of date.")


class VendorTaxStatusFact(_Part):
    """The latest verified tax-compliance statement (KSWP / surat keterangan fiskal)."""

    compliant: bool
    checked_on: date
    valid_until: date | None = Field(default=None, description="Inclusive.")
    expired: bool


class VendorExperienceFact(_Part):
    """A verified past contract, counted for the minimum-experience requirement in its field."""

    experience_id: str
    kbli_code: str
    value: int = Field(description="Contract value in Rupiah.")
    year: int


class VendorBlacklistPeriod(_Part):
    """A confirmed blacklist (daftar hitam) entry; public data."""

    entry_id: str
    opd_id: str = Field(description="The agency (OPD) that issued it.")
    legal_basis: str
    reason: str
    starts_on: date
    ends_on: date = Field(description="Inclusive; the entry is lifted automatically the day after.")
    lifted: bool = False


class VendorEligibilityFacts(_Part):
    """Everything needed to judge whether a vendor may join a package, as of ``as_of``."""

    vendor_id: str
    revision: int = Field(description="Grows by one per change of this vendor's facts; keep the highest.")
    as_of: datetime = Field(description="When the facts were computed (UTC).")
    legal_name: str
    npwp: str = Field(description="Company tax number (NPWP), digits only.")
    status: VendorStatus
    verified: bool = Field(description="The company record has been verified at least once.")
    size_class: SizeClass | None = None
    kbli_codes: list[str] = Field(default_factory=list, description="Verified business fields (5-digit KBLI).")
    licences: list[VendorLicenceFact] = Field(default_factory=list)
    tax_status: VendorTaxStatusFact | None = None
    experience: list[VendorExperienceFact] = Field(default_factory=list)
    blacklist: list[VendorBlacklistPeriod] = Field(
        default_factory=list, description="Confirmed entries not yet ended (current and future)."
    )
    blacklisted: bool = Field(description="A confirmed entry covers the as_of date.")
    eligible: bool = Field(description="Verified, tax status valid and not blacklisted on the as_of date.")
    ineligible_reasons: list[str] = Field(default_factory=list)


class VendorItemRef(_Part):
    """One part of the record that goes through verification on its own."""

    kind: ItemKind
    item_id: str


class VendorItemRejection(_Part):
    kind: ItemKind
    item_id: str
    reason: str


@event("vendor.registered", 1, TOPIC)
class VendorRegistered(Event):
    """A vendor's company record was created (draft, not yet submitted for verification)."""

    # Emitted when the company data is first entered: a record created from the gateway's
    # identity.vendor_user_registered event does not know its business form and NPWP before that.

    vendor_id: str
    legal_name: str
    business_form: BusinessForm
    npwp: str
    city: str | None = None
    province: str | None = None
    registered_by: str | None = Field(default=None, description="User id that created the record.")
    contact_email: str | None = private(default=None, description="Company contact e-mail.")
    contact_name: str | None = private(default=None)


@event("vendor.submitted_for_verification", 1, TOPIC)
class VendorSubmittedForVerification(Event):
    """Parts of a vendor's record were submitted (or, after a change, re-submitted) for verification."""

    vendor_id: str
    items: list[VendorItemRef]
    submitted_by: str | None = None
    submitted_at: datetime
    resubmission: bool = Field(description="The vendor was verified before; only the changed parts wait.")


@event("vendor.verified", 1, TOPIC)
class VendorVerified(Event):
    """A verifier accepted the listed parts of a vendor's record."""

    vendor_id: str
    items: list[VendorItemRef]
    verified_by: str
    verified_at: datetime
    facts: VendorEligibilityFacts
    contact_email: str | None = private(default=None)


@event("vendor.rejected", 1, TOPIC)
class VendorRejected(Event):
    """A verifier rejected parts of a vendor's record, with a reason per part."""

    vendor_id: str
    rejections: list[VendorItemRejection]
    rejected_by: str
    rejected_at: datetime
    facts: VendorEligibilityFacts
    contact_email: str | None = private(default=None)


@event("vendor.qualification_changed", 1, TOPIC)
class VendorQualificationChanged(Event):
    """A vendor's eligibility facts changed, for any cause; the one event a consumer's copy needs."""

    vendor_id: str
    cause: QualificationCause
    facts: VendorEligibilityFacts


@event("vendor.licence_expired", 1, TOPIC)
class VendorLicenceExpired(Event):
    """A licence or the tax status passed its validity: the vendor is ineligible for what it covered from
    ``effective_on``."""

    vendor_id: str
    item: VendorItemRef
    licence_kind: LicenceKind | None = Field(default=None, description="Null for the tax status.")
    number: str | None = None
    valid_until: date
    effective_on: date = Field(description="First day the item no longer counts.")
    kbli_codes: list[str] = Field(default_factory=list, description="Business fields the item covered.")
    facts: VendorEligibilityFacts
    contact_email: str | None = private(default=None)


@event("vendor.blacklist_proposed", 1, TOPIC)
class VendorBlacklistProposed(Event):
    """A blacklist entry was proposed (e.g. after a termination for the vendor's fault); an admin confirms it."""

    vendor_id: str
    proposal_id: str
    opd_id: str
    contract_id: str | None = None
    reason: str
    proposed_starts_on: date
    proposed_ends_on: date


@event("vendor.blacklisted", 1, TOPIC)
class VendorBlacklisted(Event):
    """An admin confirmed a blacklist entry: the vendor is ineligible everywhere for the period."""

    vendor_id: str
    entry: VendorBlacklistPeriod
    confirmed_by: str
    contract_id: str | None = None
    facts: VendorEligibilityFacts


@event("vendor.blacklist_lifted", 1, TOPIC)
class VendorBlacklistLifted(Event):
    """A blacklist entry ended (automatically after its end date, or revoked by an admin)."""

    vendor_id: str
    entry_id: str
    lifted_on: date
    cause: Literal["ended", "revoked"]
    lifted_by: str | None = Field(default=None, description="Admin user id when revoked.")
    facts: VendorEligibilityFacts


@event("vendor.rated", 1, TOPIC)
class VendorRated(Event):
    """A performance rating from a completed or terminated contract joined the vendor's track record."""

    vendor_id: str
    rating_id: str
    contract_id: str
    package_id: str | None = None
    opd_id: str
    ppk_id: str
    rated_on: date
    scores: dict[str, int] = Field(description="Score per criterion.")
    score: int = Field(description="Overall score, 0-100.")
    contracts_rated: int = Field(description="Ratings in the track record, this one included.")
    average_score: int = Field(description="Average overall score of the track record, 0-100, rounded.")


class VendorPublicLicence(_Part):
    kind: LicenceKind
    number: str
    issuer: str
    valid_until: date | None = None
    kbli_codes: list[str] = Field(default_factory=list)
    sbu_subclassification: str | None = None
    expired: bool


class VendorTrackRecord(_Part):
    contracts_completed: int
    contracts_terminated: int
    contracts_rated: int
    average_score: int | None = Field(default=None, description="0-100, rounded; null before the first rating.")


@event("vendor.profile_published", 1, PUBLIC_TOPIC)
class VendorProfilePublished(Event):
    """The public profile of a vendor changed: verified fields, track record and blacklist status only."""

    vendor_id: str
    revision: int = Field(description="Same revision as the internal facts it was made from.")
    legal_name: str
    business_form: BusinessForm
    city: str | None = None
    province: str | None = None
    size_class: SizeClass | None = None
    status: VendorStatus
    kbli_codes: list[str] = Field(default_factory=list)
    licences: list[VendorPublicLicence] = Field(default_factory=list)
    track_record: VendorTrackRecord
    blacklisted: bool
    blacklist: list[VendorBlacklistPeriod] = Field(default_factory=list)
