"""Request bodies of the contract API. Money is integer Rupiah; shares are basis points (500 = 5%)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Rupiah = Annotated[int, Field(ge=0, le=10**15, strict=True)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MilestoneIn(Body):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    name: Text


class TerminIn(Body):
    termin: int = Field(ge=1, le=100)
    description: Text
    share_bps: int = Field(ge=1, le=10_000, description="Share of the value, basis points; all add up to 10000.")
    milestone: str = Field(description="Code of the milestone that must be 100% before this termin is paid.")


class DraftTermsIn(Body):
    contract_number: Short
    contract_type: Short = Field(description="lumsum, harga_satuan, gabungan, terima_jadi, kontrak_payung, ...")
    duration_days: int = Field(ge=1, description="Work period in calendar days from the SPMK start date.")
    scope: Text
    milestones: list[MilestoneIn] = Field(min_length=1, max_length=100)
    payment_plan: list[TerminIn] = Field(min_length=1, max_length=100)
    retention_bps: int = Field(default=0, ge=0, le=10_000)
    advance_payment_amount: Rupiah = 0


class GuaranteeIn(Body):
    kind: Literal["performance", "advance_payment"]
    issuer: Text = Field(description="Bank or insurer that issued the guarantee.")
    number: Short
    amount: Rupiah
    valid_until: date


class StartIn(Body):
    spmk_number: Short
    start_date: date


class EvidenceIn(Body):
    name: Text
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    uri: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ProgressIn(Body):
    milestone: str
    percent: int = Field(ge=0, le=100)
    note: Annotated[str, StringConstraints(max_length=4000)] | None = None
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)
    reported_on: date | None = None


class PaymentIn(Body):
    kind: Literal["advance", "termin", "retention_release"]
    termin: int | None = Field(default=None, ge=1)
    amount: Annotated[int, Field(ge=1, le=10**15, strict=True)] | None = None
    paid_on: date | None = None
    reference: Annotated[str, StringConstraints(max_length=200)] | None = None


class PenaltyIn(Body):
    on: date | None = Field(default=None, description="Day up to which lateness counts (default: today).")
    late_part_value: Annotated[int, Field(ge=1, le=10**15, strict=True)] | None = Field(
        default=None, description="Value of the late part, where the contract lets finished parts be used alone."
    )


class AmendmentIn(Body):
    reason: Text
    scope_change: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] | None = None
    value_delta: Annotated[int, Field(ge=-(10**15), le=10**15, strict=True)] = 0
    extension_days: int = Field(default=0, ge=0, le=3650)


class HandoverIn(Body):
    kind: Literal["partial", "final"]
    description: Text
    handed_over_on: date | None = None


class CompleteIn(Body):
    completed_on: date | None = None


class EndIn(Body):
    kind: Literal["termination", "stop"] = Field(description="termination (pemutusan) or stop (penghentian).")
    reason: Text
    fault_party: Literal["vendor", "ppk", "force_majeure", "mutual"]
    legal_basis: Annotated[str, StringConstraints(max_length=1000)] | None = None
    blacklist_recommended: bool = False
    on: date | None = None


class ReplacementIn(Body):
    vendor_id: Short = Field(description="A reserve vendor (pemenang cadangan) of the award.")
    vendor_name: Text
    vendor_npwp: Annotated[str, StringConstraints(max_length=40)] | None = None
    value: Annotated[int, Field(ge=1, le=10**15, strict=True)]


class ScoreIn(Body):
    criterion: Short
    score: int = Field(ge=0)
    scale_max: int = Field(gt=0, le=100)


class RatingIn(Body):
    scores: list[ScoreIn] = Field(min_length=1, max_length=20)
    comment: Annotated[str, StringConstraints(max_length=4000)] | None = None
