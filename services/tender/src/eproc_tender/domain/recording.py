"""Recorded purchases (pencatatan): what a record of a purchase done outside the platform must hold.

A record is not run by the platform, so it has no state machine: it is one version after another, the
latest counting. These rules judge one version. Splitting a purchase to stay under the direct procurement
ceiling is not refused here (the audit service detects it from the published records), but a record whose
method cannot lawfully reach its value is refused, as in the platform's own methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from eproc_tender.domain import DomainError
from eproc_tender.domain.rules import ProcurementType, Thresholds, direct_ceiling


class RecordKind(StrEnum):
    NON_TENDER = "non_tender"
    SWAKELOLA = "swakelola"
    DARURAT = "darurat"


class RecordMethod(StrEnum):
    PENGADAAN_LANGSUNG = "pengadaan_langsung"
    PENUNJUKAN_LANGSUNG = "penunjukan_langsung"
    E_PURCHASING = "e_purchasing"
    SWAKELOLA = "swakelola"
    DARURAT = "darurat"


NON_TENDER_METHODS = frozenset(
    {RecordMethod.PENGADAAN_LANGSUNG, RecordMethod.PENUNJUKAN_LANGSUNG, RecordMethod.E_PURCHASING}
)
#: Swakelola types 1-4 (by the ministry/agency itself, another agency, a community organisation, a community group).
SWAKELOLA_TYPES = range(1, 5)


@dataclass(frozen=True)
class RecordFacts:
    kind: RecordKind
    method: RecordMethod | None
    procurement_type: ProcurementType
    pagu: int
    realised_value: int
    vendor_named: bool
    swakelola_type: int | None
    organiser: str | None
    start_date: date
    end_date: date
    legal_basis: str | None


def resolve_method(facts: RecordFacts, limits: Thresholds) -> RecordMethod:
    """Checks one version of a record; returns its method (swakelola and darurat are their own method)."""
    if facts.realised_value > facts.pagu:
        raise DomainError(
            "realised-above-pagu",
            f"The realised value {facts.realised_value} exceeds the pagu {facts.pagu}.",
            field="realised_value",
        )
    if facts.end_date < facts.start_date:
        raise DomainError("dates-reversed", "The end date is before the start date.", field="end_date")
    if facts.kind is RecordKind.SWAKELOLA:
        return _swakelola(facts)
    if not facts.vendor_named:
        raise DomainError("vendor-required", f"A {facts.kind} record names its vendor.", field="vendor_name")
    if facts.swakelola_type is not None or facts.organiser:
        field = "swakelola_type" if facts.swakelola_type is not None else "organiser"
        raise DomainError("not-swakelola", "Only swakelola has a type and an organiser.", field=field)
    if facts.kind is RecordKind.DARURAT:
        if facts.method not in (None, RecordMethod.DARURAT):
            raise DomainError("method-kind-mismatch", "An emergency record has no other method.", field="method")
        _need_legal_basis(facts, "An emergency purchase (darurat) records its legal basis.")
        return RecordMethod.DARURAT
    if facts.method not in NON_TENDER_METHODS:
        allowed = ", ".join(sorted(NON_TENDER_METHODS))
        raise DomainError("method-required", f"A non-tender record names its method: {allowed}.", field="method")
    if facts.method is RecordMethod.PENGADAAN_LANGSUNG:
        ceiling = direct_ceiling(facts.procurement_type, limits)
        if facts.realised_value > ceiling:
            raise DomainError(
                "method-above-ceiling",
                f"Pengadaan langsung reaches {ceiling} for {facts.procurement_type}; "
                f"this purchase is {facts.realised_value}.",
                field="method",
            )
    if facts.method is RecordMethod.PENUNJUKAN_LANGSUNG:
        _need_legal_basis(facts, "Penunjukan langsung is for special cases: record the legal basis.")
    elif facts.legal_basis:
        raise DomainError(
            "legal-basis-unused",
            "Only emergency and direct appointment records carry a legal basis.",
            field="legal_basis",
        )
    return facts.method


def _swakelola(facts: RecordFacts) -> RecordMethod:
    if facts.method not in (None, RecordMethod.SWAKELOLA):
        raise DomainError("method-kind-mismatch", "A swakelola record has no other method.", field="method")
    if facts.swakelola_type not in SWAKELOLA_TYPES:
        raise DomainError("swakelola-type", "Swakelola is of type 1, 2, 3 or 4.", field="swakelola_type")
    if not facts.organiser:
        raise DomainError("organiser-required", "A swakelola record names its organiser.", field="organiser")
    if facts.vendor_named:
        raise DomainError("vendor-not-swakelola", "Swakelola has an organiser, not a vendor.", field="vendor_name")
    if facts.legal_basis:
        raise DomainError(
            "legal-basis-unused",
            "Only emergency and direct appointment records carry a legal basis.",
            field="legal_basis",
        )
    return RecordMethod.SWAKELOLA


def _need_legal_basis(facts: RecordFacts, message: str) -> None:
    if not facts.legal_basis:
        raise DomainError("legal-basis-required", message, field="legal_basis")
