"""Package vocabulary and the value rules: which method fits which procurement type and value.

Value thresholds come from settings (the domain reference's figures are the defaults). Values are
judged on the HPS (owner's estimate), the value the selection is run against.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from eproc_tender.domain import DomainError


class ProcurementType(StrEnum):
    BARANG = "barang"
    PEKERJAAN_KONSTRUKSI = "pekerjaan_konstruksi"
    JASA_KONSULTANSI = "jasa_konsultansi"
    JASA_LAINNYA = "jasa_lainnya"


class Method(StrEnum):
    TENDER = "tender"
    SELEKSI = "seleksi"
    # Fully specified work among vendors already qualified in the register: a reverse auction (auction.py).
    TENDER_CEPAT = "tender_cepat"
    PENGADAAN_LANGSUNG = "pengadaan_langsung"
    PENUNJUKAN_LANGSUNG = "penunjukan_langsung"


SUPPORTED_METHODS = frozenset(
    {Method.TENDER, Method.SELEKSI, Method.TENDER_CEPAT, Method.PENGADAAN_LANGSUNG, Method.PENUNJUKAN_LANGSUNG}
)
#: Run by a Pejabat Pengadaan with invited vendors and negotiation, not by a Pokja with sealed bids.
DIRECT_METHODS = frozenset({Method.PENGADAAN_LANGSUNG, Method.PENUNJUKAN_LANGSUNG})


class AppointmentCase(StrEnum):
    """The special cases that allow penunjukan langsung."""

    EMERGENCY_FOLLOW_UP = "emergency_follow_up"
    SINGLE_SOURCE = "single_source"
    FAILED_RETENDER = "failed_retender"  # with the PA/KPA's approval, named in the legal basis


class Qualification(StrEnum):
    PASCA = "pasca"
    PRA = "pra"


class EnvelopeSystem(StrEnum):
    ONE_FILE = "one_file"
    TWO_FILE = "two_file"
    TWO_STAGE = "two_stage"


class EvaluationSystem(StrEnum):
    LOWEST_PRICE = "lowest_price"  # sistem gugur: pass/fail, lowest evaluated price wins
    SCORING = "scoring"  # sistem nilai: technical and price weights
    QUALITY_COST = "quality_cost"  # seleksi: quality and cost weights


class ContractType(StrEnum):
    LUMP_SUM = "lump_sum"
    UNIT_PRICE = "unit_price"
    COMBINATION = "combination"
    TIME_BASED = "time_based"


@dataclass(frozen=True)
class Thresholds:
    tender_min_value: int
    seleksi_min_value: int
    small_business_ceiling: int


@dataclass(frozen=True)
class HpsItem:
    description: str
    unit: str
    quantity: int
    unit_price: int

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price


def check_values(pagu: int, hps: int, items: list[HpsItem]) -> None:
    """HPS within pagu, and the HPS detail adds up to the HPS."""
    if hps > pagu:
        raise DomainError("hps-above-pagu", f"HPS {hps} exceeds the pagu {pagu}.", field="hps")
    if items and sum(i.total for i in items) != hps:
        raise DomainError(
            "hps-detail-mismatch",
            f"The HPS items add up to {sum(i.total for i in items)}, not the HPS {hps}.",
            field="hps_items",
        )


def direct_ceiling(kind: ProcurementType, limits: Thresholds) -> int:
    """Pengadaan langsung reaches up to the value above which tender (or seleksi, for consultancy) is required."""
    return limits.seleksi_min_value if kind is ProcurementType.JASA_KONSULTANSI else limits.tender_min_value


def check_method_fits(method: Method, kind: ProcurementType, hps: int, limits: Thresholds) -> None:
    if method not in SUPPORTED_METHODS:
        raise DomainError("method-not-supported", f"The method {method} is not available yet.", field="method")
    if method is Method.PENGADAAN_LANGSUNG and hps > (ceiling := direct_ceiling(kind, limits)):
        raise DomainError(
            "method-above-ceiling",
            f"Pengadaan langsung reaches an HPS of {ceiling} for {kind}; this one is {hps}: use tender or seleksi.",
            field="method",
        )
    if method is Method.SELEKSI:
        if kind is not ProcurementType.JASA_KONSULTANSI:
            raise DomainError("method-type-mismatch", "Seleksi is for consultancy (jasa konsultansi).", field="method")
        if hps <= limits.seleksi_min_value:
            raise DomainError(
                "method-below-threshold",
                f"Seleksi needs an HPS above {limits.seleksi_min_value}; this one is {hps}.",
                field="method",
            )
    if method in (Method.TENDER, Method.TENDER_CEPAT):
        # Tender cepat is a tender: the same procurement types and value threshold.
        if kind is ProcurementType.JASA_KONSULTANSI:
            raise DomainError("method-type-mismatch", "Consultancy is procured by seleksi, not tender.", field="method")
        if hps <= limits.tender_min_value:
            raise DomainError(
                "method-below-threshold",
                f"Tender needs an HPS above {limits.tender_min_value}; this one is {hps}.",
                field="method",
            )


def allowed_sizes(hps: int, requested: list[str], exemption_reason: str | None, limits: Thresholds) -> list[str]:
    """Size classes that may join: small businesses only up to the ceiling unless the PPK justifies otherwise."""
    if hps <= limits.small_business_ceiling and not exemption_reason:
        if requested and set(requested) != {"kecil"}:
            raise DomainError(
                "reserved-for-small-business",
                "Packages up to the small-business ceiling are reserved for small businesses; give a justification "
                "to open it to others.",
                field="size_classes",
            )
        return ["kecil"]
    return sorted(set(requested)) if requested else ["kecil", "menengah", "besar"]


def check_weights(evaluation: EvaluationSystem, technical_weight: int | None, price_weight: int | None) -> None:
    if evaluation is EvaluationSystem.LOWEST_PRICE:
        if technical_weight is not None or price_weight is not None:
            raise DomainError("weights-not-used", "Lowest-price evaluation takes no weights.", field="technical_weight")
        return
    if technical_weight is None or price_weight is None:
        raise DomainError("weights-required", "Scoring needs technical and price weights.", field="technical_weight")
    if technical_weight + price_weight != 100:
        raise DomainError("weights-sum", "Technical and price weights must add up to 100.", field="price_weight")


def check_qualification(method: Method, qualification: Qualification, complexity_reason: str | None) -> None:
    """Prakualifikasi is for consultancy (seleksi) and for complex work, which a tender must justify."""
    if qualification is Qualification.PRA:
        if method is Method.TENDER and not complexity_reason:
            raise DomainError(
                "complexity-reason-required",
                "A tender qualifies first (prakualifikasi) only for complex work: say why this work is complex.",
                field="complexity_reason",
            )
    elif complexity_reason:
        raise DomainError(
            "complexity-reason-unused", "A complexity reason goes with prakualifikasi only.", field="complexity_reason"
        )


def check_committee(pokja_id: str | None, members: list[str] | None, sizes: list[int]) -> list[str] | None:
    """A Pokja is one Pokja account (``pokja_id``) or a committee of the allowed size, named by its members."""
    if members is None:
        if not pokja_id:
            raise DomainError("pokja-required", "Name the Pokja (pokja_id) or its members.", field="pokja_id")
        return None
    if len(set(members)) != len(members):
        raise DomainError("member-twice", "A member is named twice.", field="members")
    if len(members) not in sizes:
        allowed = " or ".join(str(n) for n in sizes)
        raise DomainError("committee-size", f"A Pokja has {allowed} members, not {len(members)}.", field="members")
    return list(members)


def check_appointment(method: Method, case: AppointmentCase | None, legal_basis: str | None) -> None:
    """Penunjukan langsung only for its special cases, with the legal basis recorded; nothing else takes them."""
    if method is Method.PENUNJUKAN_LANGSUNG:
        if case is None:
            raise DomainError(
                "appointment-case-required",
                "Penunjukan langsung needs its special case: emergency_follow_up, single_source or failed_retender.",
                field="appointment_case",
            )
        if not legal_basis:
            raise DomainError(
                "legal-basis-required", "Penunjukan langsung records its legal basis.", field="legal_basis"
            )
        return
    if case is not None:
        raise DomainError("appointment-case-unused", "Only penunjukan langsung has a case.", field="appointment_case")
    if legal_basis:
        raise DomainError("legal-basis-unused", "Only penunjukan langsung records a legal basis.", field="legal_basis")
