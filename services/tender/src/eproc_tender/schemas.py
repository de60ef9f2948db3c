"""Request and response bodies of the HTTP API. Money is integer Rupiah (JSON integers, never strings or floats)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from eproc_tender.domain.rules import (
    AppointmentCase,
    ContractType,
    EnvelopeSystem,
    EvaluationSystem,
    Method,
    ProcurementType,
    Qualification,
)
from eproc_tender.domain.schedule import Stage

Rupiah = Annotated[int, Field(strict=True, ge=0, description="Integer Rupiah.")]
PositiveRupiah = Annotated[int, Field(strict=True, gt=0, description="Integer Rupiah.")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=5000)]
Kbli = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
SizeClass = Literal["kecil", "menengah", "besar"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HpsItemIn(_In):
    description: Text
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    quantity: Annotated[int, Field(strict=True, gt=0)]
    unit_price: Rupiah


class PackageIn(_In):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500)]
    opd_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    satker: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    fiscal_year: Annotated[int, Field(strict=True, ge=2000, le=2100)]
    procurement_type: ProcurementType
    method: Method
    qualification: Qualification = Qualification.PASCA
    envelope_system: EnvelopeSystem = EnvelopeSystem.ONE_FILE
    evaluation_system: EvaluationSystem = EvaluationSystem.LOWEST_PRICE
    technical_weight: Annotated[int, Field(strict=True, ge=0, le=100)] | None = None
    price_weight: Annotated[int, Field(strict=True, ge=0, le=100)] | None = None
    contract_type: ContractType
    pagu: PositiveRupiah
    hps: PositiveRupiah
    hps_items: list[HpsItemIn] = Field(default_factory=list, max_length=2000)
    kbli_codes: list[Kbli] = Field(min_length=1, max_length=50)
    size_classes: list[SizeClass] = Field(default_factory=list)
    small_business_exemption: Reason | None = Field(
        default=None, description="Why a package under the small-business ceiling is open to larger firms."
    )
    location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    complexity_reason: Reason | None = Field(
        default=None, description="Tender with prakualifikasi: why the work is complex (required then, only then)."
    )
    appointment_case: AppointmentCase | None = Field(
        default=None, description="Penunjukan langsung: its special case (required then, only then)."
    )
    legal_basis: Reason | None = Field(
        default=None,
        description="Penunjukan langsung: the legal basis (and the PA/KPA approval after a failed re-tender).",
    )


class PackagePatch(_In):
    """A draft's fields to change (PPK, before announcement); the whole package is validated again."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500)] | None = None
    satker: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    qualification: Qualification | None = None
    envelope_system: EnvelopeSystem | None = None
    evaluation_system: EvaluationSystem | None = None
    technical_weight: Annotated[int, Field(strict=True, ge=0, le=100)] | None = None
    price_weight: Annotated[int, Field(strict=True, ge=0, le=100)] | None = None
    contract_type: ContractType | None = None
    pagu: PositiveRupiah | None = None
    hps: PositiveRupiah | None = None
    hps_items: list[HpsItemIn] | None = Field(default=None, max_length=2000)
    kbli_codes: list[Kbli] | None = Field(default=None, min_length=1, max_length=50)
    size_classes: list[SizeClass] | None = None
    small_business_exemption: Reason | None = None
    location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    complexity_reason: Reason | None = None


UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class AssignIn(_In):
    pokja_id: UserId | None = Field(
        default=None, description="The Pokja: one Pokja account, or the committee's name when members are given."
    )
    members: list[UserId] | None = Field(
        default=None, description="The Pokja committee's members (user ids; 3 or 5 by default); any member acts."
    )


class QualificationIn(_In):
    statement: Text = Field(description="The vendor's qualification data (izin, pengalaman, tenaga ahli, ...).")
    declaration: Literal[True] = Field(description="The vendor declares the data true; must be true.")


class PrequalificationJudgementIn(_In):
    passed: bool
    reason: Text | None = None


class AppealGuaranteeIn(_In):
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    issuer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    amount: PositiveRupiah


class AppealIn(_In):
    objection_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    reason: Reason
    guarantee: AppealGuaranteeIn


class WindowIn(_In):
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class ScheduleIn(_In):
    stages: dict[Stage, WindowIn]


class AddendumIn(_In):
    reason: Reason
    stages: dict[Stage, WindowIn] = Field(default_factory=dict)
    documents_changed: bool = False


class ReasonIn(_In):
    reason: Reason


class FailureIn(_In):
    reason_code: Literal["collusion", "other"]
    reason: Reason


class QuestionIn(_In):
    question: Text


class AnswerIn(_In):
    answer: Text


class BidItemIn(_In):
    description: Text
    quantity: Annotated[int, Field(strict=True, gt=0)]
    unit_price: Rupiah


class BidIn(_In):
    price: PositiveRupiah | None = Field(
        default=None, description="Required, except in the first stage of a two-stage package (no price then)."
    )
    items: list[BidItemIn] = Field(default_factory=list, max_length=2000)
    declaration: Literal[True] = Field(
        description="The vendor's integrity declaration (pakta integritas); must be true."
    )
    technical_document_ids: list[str] = Field(default_factory=list, max_length=50)
    price_document_ids: list[str] = Field(default_factory=list, max_length=50)


class JudgementIn(_In):
    administrative_passed: bool | None = None
    administrative_reason: Text | None = None
    technical_passed: bool | None = None
    technical_score: Annotated[int, Field(strict=True, ge=0, le=100)] | None = None
    technical_reason: Text | None = None
    price_reasonable: bool | None = None
    price_reason: Text | None = None
    qualification_passed: bool | None = None
    qualification_reason: Text | None = None


class ObjectionIn(_In):
    reason: Reason


class ObjectionAnswerIn(_In):
    answer: Reason
    upheld: bool
    consequence: Literal["none", "re_evaluate", "fail"] = "none"


class AppealAnswerIn(ObjectionAnswerIn):
    pass


class AwardIn(_In):
    sppbj_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None


class Receipt(BaseModel):
    bid_id: str
    package_id: str
    vendor_id: str
    received_at: datetime
    receipt_sha256: str = Field(description="SHA-256 of the sealed bytes (technical envelope then price envelope).")
    withdrawn: bool = False


class BidDocumentReceipt(BaseModel):
    document_id: str
    size: int
    cipher_sha256: str
    plain_sha256: str = Field(description="SHA-256 of the file as uploaded, for the vendor's records.")
