"""Recorded purchases (pencatatan) of the tender service: non-tender, swakelola and emergency purchases
done outside the platform that must still count for the governance index (ITKP).

Each version of a record is published whole, so a consumer keeps the highest ``revision`` per
``record_id`` and never has to merge: revision 1 is the first record, each correction the next one.
The facts are what the audit service needs for the governance indicators (counts and values per OPD,
year and kind) and for split-purchase detection (same OPD, vendor and KBLI, values under the direct
procurement ceiling, close dates). Public topic: recorded purchases are public procurement data; the
vendor's tax id is left out because a vendor may be a person.

Money is integer Rupiah; times are UTC; dates are calendar dates in Asia/Jakarta.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eproc_shared.events.catalogue import Event, event

TOPIC = "eproc.tender.public"

RecordKind = Literal["non_tender", "swakelola", "darurat"]
RecordMethod = Literal["pengadaan_langsung", "penunjukan_langsung", "e_purchasing", "swakelola", "darurat"]
ProcurementType = Literal["barang", "pekerjaan_konstruksi", "jasa_konsultansi", "jasa_lainnya"]


class RecordedProof(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    sha256: str = Field(description="Lower-case hex SHA-256 of the proof document as the PPK holds it.")


@event("tender.purchase_recorded", 1, TOPIC)
class TenderPurchaseRecorded(Event):
    """A purchase done outside the platform was recorded, or a record was corrected (``revision`` > 1)."""

    record_id: str
    code: str
    revision: int = Field(description="1 for the first record; each correction adds one. Keep the highest.")
    kind: RecordKind
    method: RecordMethod = Field(description="non_tender: how it was bought; otherwise equal to the kind.")
    package_name: str
    opd_id: str
    satker: str | None = None
    fiscal_year: int
    procurement_type: ProcurementType
    kbli_codes: list[str] = Field(default_factory=list)
    pagu: int
    realised_value: int
    vendor_id: str | None = Field(default=None, description="Vendor register id when the vendor is registered.")
    vendor_name: str | None = None
    swakelola_type: int | None = Field(default=None, description="Swakelola type 1-4.")
    organiser: str | None = Field(default=None, description="Swakelola organiser (penyelenggara).")
    start_date: date
    end_date: date
    legal_basis: str | None = Field(default=None, description="Emergency (darurat): the legal basis.")
    proofs: list[RecordedProof]
    ppk_id: str
    recorded_at: datetime
    correction_reason: str | None = None
    import_id: str | None = Field(default=None, description="The CSV import that brought this version, if any.")
