"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StrictInt, model_validator

from eproc_vendor.domain.validation import normalize_kbli, normalize_nib, normalize_npwp, normalize_sbu

Npwp = Annotated[str, AfterValidator(normalize_npwp)]
Nib = Annotated[str, AfterValidator(normalize_nib)]
Kbli = Annotated[str, AfterValidator(normalize_kbli)]
SbuCode = Annotated[str, AfterValidator(normalize_sbu)]
Rupiah = Annotated[StrictInt, Field(ge=0, description="Integer Rupiah.")]
Text = Annotated[str, Field(min_length=1, max_length=300)]
SizeClass = Literal["kecil", "menengah", "besar"]
BusinessForm = Literal["pt", "cv", "koperasi", "firma", "perorangan"]
LicenceKind = Literal["nib", "siup", "sbu", "iujk", "sku", "other"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(_In):
    name: Text
    position: str | None = Field(default=None, max_length=100)
    email: EmailStr
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{6,20}$")


class CompanyIn(_In):
    legal_name: Text
    business_form: BusinessForm
    nib: Nib = Field(description="Nomor Induk Berusaha, 13 digits.")
    npwp: Npwp = Field(description="Company NPWP, 15 or 16 digits; dots and dashes are ignored.")
    address: Text
    city: Annotated[str, Field(min_length=1, max_length=120)]
    province: Annotated[str, Field(min_length=1, max_length=120)]
    postal_code: str | None = Field(default=None, pattern=r"^\d{5}$")
    size_class: SizeClass = Field(description="kecil, menengah or besar.")
    contacts: list[ContactIn] = Field(min_length=1, max_length=10)


class KbliIn(_In):
    codes: list[Kbli] = Field(min_length=1, max_length=100, description="5-digit KBLI business fields.")

    @model_validator(mode="after")
    def _unique(self) -> KbliIn:
        self.codes = sorted(set(self.codes))
        return self


class LicenceIn(_In):
    kind: LicenceKind
    number: Text
    issuer: Text
    valid_from: date | None = None
    valid_until: date | None = Field(default=None, description="Last day of validity (inclusive); null: no expiry.")
    kbli_codes: list[Kbli] = Field(default_factory=list, max_length=100)
    sbu_subclassification: SbuCode | None = Field(default=None, description="Required for an SBU, e.g. BG004.")

    @model_validator(mode="after")
    def _consistent(self) -> LicenceIn:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        if self.kind == "sbu" and not self.sbu_subclassification:
            raise ValueError("an SBU needs its sbu_subclassification")
        if self.kind != "sbu" and self.sbu_subclassification:
            raise ValueError("sbu_subclassification applies to an SBU only")
        return self


class TaxStatusIn(_In):
    compliant: bool
    checked_on: date = Field(description="Date of the statement (KSWP / surat keterangan fiskal).")
    valid_until: date | None = Field(default=None, description="Last day of validity (inclusive).")
    reference: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _consistent(self) -> TaxStatusIn:
        if self.valid_until and self.valid_until < self.checked_on:
            raise ValueError("valid_until is before checked_on")
        return self


class ExperienceIn(_In):
    name: Text
    client: Text
    value: Rupiah
    year: int = Field(ge=1945, le=2100)
    kbli_code: Kbli
    location: str | None = Field(default=None, max_length=200)


class CertificateIn(_In):
    name: Text
    number: str | None = Field(default=None, max_length=100)
    issuer: str | None = Field(default=None, max_length=200)
    valid_until: date | None = None


class PersonnelIn(_In):
    name: Text
    position: Text
    education: str | None = Field(default=None, max_length=200)
    years_of_experience: int | None = Field(default=None, ge=0, le=70)
    certificates: list[CertificateIn] = Field(default_factory=list, max_length=30)


class EquipmentIn(_In):
    name: Text
    quantity: int = Field(ge=1, le=100_000)
    capacity: str | None = Field(default=None, max_length=100)
    ownership: Literal["owned", "leased"]


ITEM_BODIES: dict[str, type[_In]] = {
    "company": CompanyIn,
    "kbli": KbliIn,
    "tax_status": TaxStatusIn,
    "licence": LicenceIn,
    "experience": ExperienceIn,
    "personnel": PersonnelIn,
    "equipment": EquipmentIn,
}


class ItemOut(BaseModel):
    item_id: str
    kind: str
    status: str
    data: dict[str, Any] | None
    verified_data: dict[str, Any] | None
    rejection_reason: str | None = None
    submitted_at: datetime | None = None
    decided_at: datetime | None = None
    updated_at: datetime


class DocumentOut(BaseModel):
    document_id: str
    item_id: str | None
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str | None
    uploaded_at: datetime


class VendorOut(BaseModel):
    vendor_id: str
    user_id: str | None
    legal_name: str
    npwp: str | None
    status: str
    ever_verified: bool
    revision: int
    items: list[ItemOut]
    documents: list[DocumentOut]
    created_at: datetime
    updated_at: datetime


class HistoryOut(BaseModel):
    at: datetime
    actor: str | None
    action: str
    item_kind: str | None
    item_id: str | None
    before: Any = None
    after: Any = None
    detail: str | None = None


class Decision(_In):
    item_id: str
    verdict: Literal["verified", "rejected"]
    reason: str | None = Field(default=None, max_length=2000, description="Required when rejecting.")

    @model_validator(mode="after")
    def _reason(self) -> Decision:
        if self.verdict == "rejected" and not self.reason:
            raise ValueError("a rejection needs a reason")
        return self


class DecisionsIn(_In):
    decisions: list[Decision] = Field(min_length=1)


class QueueItem(BaseModel):
    item_id: str
    kind: str
    status: str
    submitted_at: datetime | None
    data: dict[str, Any] | None
    verified_data: dict[str, Any] | None


class QueueEntry(BaseModel):
    vendor_id: str
    legal_name: str
    oldest_submitted_at: datetime
    resubmission: bool
    items: list[QueueItem]


class RequirementOut(BaseModel):
    requirement: str
    passed: bool
    reason: str


class QualificationOut(BaseModel):
    vendor_id: str
    on: date
    passed: bool
    results: list[RequirementOut]


class BlacklistIn(_In):
    vendor_id: str = Field(min_length=1, max_length=64)
    opd_id: str = Field(min_length=1, max_length=64)
    legal_basis: Text
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    starts_on: date
    ends_on: date
    contract_id: str | None = Field(default=None, max_length=64)


class ConfirmIn(_In):
    legal_basis: Text
    starts_on: date | None = None
    ends_on: date | None = None
    note: str | None = Field(default=None, max_length=2000)


class NoteIn(_In):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class BlacklistOut(BaseModel):
    entry_id: str
    vendor_id: str
    vendor_name: str | None = None
    opd_id: str
    legal_basis: str | None
    reason: str
    starts_on: date
    ends_on: date
    status: str
    lifted_on: date | None = None
    contract_id: str | None = None
    in_force: bool


class RatingOut(BaseModel):
    rating_id: str
    contract_id: str
    package_id: str
    opd_id: str
    ppk_id: str
    rated_on: date
    scores: dict[str, int]
    score: int
    comment: str | None = None


class OutcomeOut(BaseModel):
    contract_id: str
    package_id: str
    opd_id: str
    outcome: str
    outcome_on: date
    final_value: int
    fault_party: str | None = None


class TrackRecordOut(BaseModel):
    vendor_id: str
    contracts_completed: int
    contracts_terminated: int
    average_score: int | None
    ratings: list[RatingOut]
    outcomes: list[OutcomeOut]


class PublicVendorSummary(BaseModel):
    vendor_id: str
    legal_name: str
    city: str | None
    province: str | None
    size_class: str | None
    kbli_codes: list[str]
    blacklisted: bool
