"""Events of the contract domain (e-Kontrak), published by the contract service on ``eproc.contract.internal``.

Defined here first by the vendor service, which consumes them to build each vendor's track record
(SIKaP) and to propose blacklist entries after a termination for the vendor's fault. Money is
integer Rupiah; dates are calendar dates in Asia/Jakarta.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eproc_shared.events.catalogue import Event, event

TOPIC = "eproc.contract.internal"

FaultParty = Literal["vendor", "ppk", "force_majeure", "mutual"]


class ContractRatingScore(BaseModel):
    """One criterion of a performance rating, e.g. quality, cost, time, service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    criterion: str = Field(description="quality, cost, time, service (or a region's own criteria).")
    score: int = Field(ge=0, description="Score given, from 0 to scale_max.")
    scale_max: int = Field(gt=0, description="Highest possible score on this criterion's scale.")


@event("contract.completed", 1, TOPIC)
class ContractCompleted(Event):
    """A contract was completed (selesai): the work was handed over."""

    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    ppk_id: str
    signed_on: date
    completed_on: date
    original_value: int = Field(description="Contract value at signing, Rupiah.")
    final_value: int = Field(description="Contract value after amendments, Rupiah.")
    kbli_code: str | None = Field(default=None, description="Business field of the work (5-digit KBLI).")


@event("contract.terminated", 1, TOPIC)
class ContractTerminated(Event):
    """A contract was terminated (pemutusan) before completion."""

    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    ppk_id: str
    signed_on: date
    terminated_on: date
    original_value: int
    final_value: int
    paid_value: int = Field(default=0, description="Value paid up to termination, Rupiah.")
    fault_party: FaultParty
    reason: str
    legal_basis: str | None = Field(default=None, description="Clause or regulation the termination rests on.")
    blacklist_recommended: bool = Field(
        default=False, description="The PPK recommends blacklisting (only meaningful when fault_party is vendor)."
    )


@event("contract.vendor_rated", 1, TOPIC)
class ContractVendorRated(Event):
    """The PPK rated the vendor's performance on a contract (after completion or termination)."""

    rating_id: str
    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    ppk_id: str
    rated_on: date
    contract_value: int = Field(description="Final contract value, Rupiah.")
    scores: list[ContractRatingScore] = Field(min_length=1)
    comment: str | None = None
