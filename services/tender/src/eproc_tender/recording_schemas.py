"""Bodies of the recording (pencatatan) API; a CSV row is read into the same model."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from eproc_tender.domain.recording import RecordKind, RecordMethod
from eproc_tender.domain.rules import ProcurementType
from eproc_tender.schemas import Kbli, PositiveRupiah, Reason

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class ProofIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    sha256: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[0-9a-fA-F]{64}$")]


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: RecordKind
    method: RecordMethod | None = Field(
        default=None, description="non_tender: pengadaan_langsung, penunjukan_langsung or e_purchasing."
    )
    package_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500)]
    opd_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    satker: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    fiscal_year: Annotated[int, Field(strict=True, ge=2000, le=2100)]
    procurement_type: ProcurementType
    kbli_codes: list[Kbli] = Field(default_factory=list, max_length=50)
    pagu: PositiveRupiah
    realised_value: PositiveRupiah
    vendor_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    vendor_name: Name | None = None
    swakelola_type: Annotated[int, Field(strict=True)] | None = None
    organiser: Name | None = Field(default=None, description="Swakelola: the organiser (penyelenggara).")
    start_date: date
    end_date: date
    legal_basis: Reason | None = Field(default=None, description="Darurat and penunjukan langsung: the legal basis.")
    proofs: list[ProofIn] = Field(min_length=1, max_length=50, description="Proof documents by name and SHA-256.")


class CorrectionIn(RecordIn):
    correction_reason: Reason
