"""Events of the contract domain (e-Kontrak), published by the contract service on ``eproc.contract.internal``.

The completed, terminated and vendor_rated types were defined first by the vendor service, which
consumes them to build each vendor's track record (SIKaP) and to propose blacklist entries after a
termination for the vendor's fault; their shapes are frozen. The lifecycle events (drafted ... stopped)
follow the rest of a contract's life on the internal topic; ``eproc.contract.public`` carries the
public record only (value, vendor, dates, status, amendments). Money is integer Rupiah; dates are
calendar dates in Asia/Jakarta; times are UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eproc_shared.events.catalogue import Event, event

TOPIC = "eproc.contract.internal"
PUBLIC_TOPIC = "eproc.contract.public"

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


# Lifecycle events (internal) ------------------------------------------------------------------
# Added by the contract service. The three events above keep their published shapes; these carry the
# rest of a contract's life for the services that follow it (audit, notify).


ContractStatus = Literal["draft", "signing", "signed", "active", "handed_over", "completed", "terminated", "stopped"]
SignatureParty = Literal["ppk", "vendor"]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ContractSignature(_Part):
    """One signature: who signed for which party, when, and in which order (1 = first)."""

    party: SignatureParty
    signer_id: str
    signed_at: datetime
    order: int = Field(ge=1)


@event("contract.drafted", 1, TOPIC)
class ContractDrafted(Event):
    """A contract draft was drawn up from an award letter (SPPBJ), or for a reserve vendor after a termination."""

    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    ppk_id: str
    value: int = Field(description="Contract value, Rupiah (the awarded price).")
    hps: int
    pagu: int
    contract_type: str | None = Field(description="lumsum, harga_satuan, gabungan, ...; None until the PPK sets it.")
    sppbj_number: str | None
    sppbj_date: date | None
    performance_guarantee_amount: int = Field(description="Required performance guarantee, Rupiah (0: none).")
    replaces_contract_id: str | None = Field(default=None, description="The terminated contract this one replaces.")
    drafted_at: datetime


@event("contract.party_signed", 1, TOPIC)
class ContractPartySigned(Event):
    """One party signed and the other's signature now waits (the contract does not bind yet)."""

    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    ppk_id: str
    signature: ContractSignature
    awaiting: SignatureParty = Field(description="The party whose signature the contract now waits on.")


@event("contract.signed", 1, TOPIC)
class ContractSigned(Event):
    """Both parties signed: the terms of version 1 bind."""

    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    ppk_id: str
    contract_number: str
    contract_type: str
    value: int
    duration_days: int
    signatures: list[ContractSignature]
    signed_on: date


@event("contract.started", 1, TOPIC)
class ContractStarted(Event):
    """The start order (SPMK) fixed the start date and the planned end."""

    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    spmk_number: str
    start_date: date
    planned_end: date = Field(description="Last day of the work period (inclusive).")
    started_at: datetime


@event("contract.progress_reported", 1, TOPIC)
class ContractProgressReported(Event):
    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    milestone: str
    percent: int = Field(ge=0, le=100)
    evidence_count: int = Field(ge=0, description="Evidence documents attached (kept by the contract service).")
    reported_by: str
    reported_on: date


@event("contract.payment_recorded", 1, TOPIC)
class ContractPaymentRecorded(Event):
    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    payment_id: str
    kind: Literal["advance", "termin", "retention_release"]
    termin: int | None = None
    gross_amount: int = Field(description="Amount charged against the contract value, Rupiah.")
    retention_amount: int = Field(description="Withheld until the final handover, Rupiah.")
    net_amount: int = Field(description="Paid out now, Rupiah.")
    paid_on: date
    total_paid: int = Field(description="Gross total paid so far, Rupiah.")
    current_value: int


@event("contract.amended", 1, TOPIC)
class ContractAmended(Event):
    """An amendment (adendum) signed by both parties took effect as a new version of the terms."""

    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    amendment_number: int
    terms_version: int
    reason: str
    scope_change: str | None
    value_delta: int
    extension_days: int
    previous_value: int
    new_value: int
    planned_end: date | None
    added_value_total: int = Field(description="Sum of all value additions so far (what the cap limits), Rupiah.")
    signatures: list[ContractSignature]
    amended_on: date


@event("contract.handed_over", 1, TOPIC)
class ContractHandedOver(Event):
    """A handover (BAST) of part of the work or of all of it."""

    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    handover_id: str
    kind: Literal["partial", "final"]
    handed_over_on: date
    description: str
    days_late: int = Field(ge=0, description="Days after the planned end (0 if on time).")


@event("contract.stopped", 1, TOPIC)
class ContractStopped(Event):
    """The contract was stopped (penghentian), e.g. by force majeure, rather than terminated for a fault."""

    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    ppk_id: str
    stopped_on: date
    original_value: int
    final_value: int
    paid_value: int
    reason: str
    fault_party: FaultParty
    legal_basis: str | None = None


# Public record ------------------------------------------------------------------------------------


class PublicAmendment(_Part):
    number: int
    reason: str
    value_delta: int
    extension_days: int
    new_value: int
    amended_on: date


class PublicContract(_Part):
    """What anyone may see of a contract: no guarantees, evidence, payments detail or private documents."""

    contract_id: str
    package_id: str
    package_code: str | None
    package_name: str | None
    opd_id: str
    fiscal_year: int | None
    vendor_id: str
    vendor_name: str
    contract_number: str | None
    contract_type: str | None
    original_value: int
    current_value: int
    hps: int
    status: ContractStatus
    signed_on: date | None
    start_date: date | None
    planned_end: date | None
    handed_over_on: date | None
    ended_on: date | None = Field(description="Completion, termination or stop date.")
    amendments: list[PublicAmendment]
    replaces_contract_id: str | None = None


@event("contract.public_updated", 1, PUBLIC_TOPIC)
class ContractPublicUpdated(Event):
    """A contract's public record after a change the public may see (signing, start, amendment, handover, end)."""

    change: Literal["signed", "started", "amended", "handed_over", "completed", "terminated", "stopped"]
    contract: PublicContract
    changed_at: datetime
