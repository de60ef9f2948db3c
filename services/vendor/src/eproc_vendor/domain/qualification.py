"""Judging a vendor against a package's requirements: pass or fail per requirement, with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from eproc_vendor.domain.facts import VendorFacts, standing

SMALL = "kecil"


@dataclass(frozen=True)
class Requirements:
    kbli_codes: tuple[str, ...] = ()
    size_classes: tuple[str, ...] = ()
    small_business_reserved: bool = False
    min_experience_value: int | None = None
    experience_kbli: tuple[str, ...] = field(default=())
    sbu: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequirementResult:
    requirement: str
    passed: bool
    reason: str


def _rupiah(value: int) -> str:
    return "Rp" + f"{value:,}".replace(",", ".")


def qualify(facts: VendorFacts, req: Requirements, day: date) -> list[RequirementResult]:
    """Every requirement is judged, so that a failing vendor learns everything it lacks at once."""
    state = standing(facts, day)
    results = [
        RequirementResult(
            "verified",
            facts.verified,
            "The company data is verified." if facts.verified else "The company data has not been verified.",
        )
    ]
    tax = facts.tax_status
    if tax is None:
        results.append(RequirementResult("tax_status", False, "No verified tax-compliance status."))
    elif not tax.compliant:
        results.append(RequirementResult("tax_status", False, "The verified tax status is not compliant."))
    elif tax.expired_on(day):
        until = tax.valid_until.isoformat() if tax.valid_until else ""
        results.append(RequirementResult("tax_status", False, f"The tax-compliance status expired after {until}."))
    else:
        until = f" until {tax.valid_until.isoformat()}" if tax.valid_until else ""
        results.append(RequirementResult("tax_status", True, f"Tax-compliant{until}."))
    active = [p for p in facts.blacklist if p.covers(day)]
    if active:
        p = active[0]
        results.append(
            RequirementResult(
                "not_blacklisted",
                False,
                f"Blacklisted by {p.opd_id} until {p.ends_on.isoformat()} ({p.legal_basis}): {p.reason}",
            )
        )
    else:
        results.append(RequirementResult("not_blacklisted", True, "No blacklist entry covers this day."))

    if req.kbli_codes:
        held = sorted(set(req.kbli_codes) & state.usable_kbli)
        if held:
            results.append(RequirementResult("kbli", True, f"Holds the business field(s) {', '.join(held)}."))
        else:
            lapsed = sorted(set(req.kbli_codes) & set(facts.kbli_codes))
            why = (
                f"The business field(s) {', '.join(lapsed)} are covered only by expired licences."
                if lapsed
                else f"Holds none of the business fields {', '.join(req.kbli_codes)}."
            )
            results.append(RequirementResult("kbli", False, why))

    if req.small_business_reserved or req.size_classes:
        wanted = (SMALL,) if req.small_business_reserved else req.size_classes
        label = "reserved for small businesses" if req.small_business_reserved else f"open to {', '.join(wanted)}"
        if facts.size_class is None:
            results.append(RequirementResult("size_class", False, "No verified size class."))
        elif facts.size_class in wanted:
            results.append(
                RequirementResult("size_class", True, f"Size class {facts.size_class}; the package is {label}.")
            )
        else:
            results.append(
                RequirementResult("size_class", False, f"Size class {facts.size_class}; the package is {label}.")
            )

    if req.min_experience_value is not None:
        fields = req.experience_kbli or req.kbli_codes
        relevant = [e for e in facts.experience if not fields or e.kbli_code in fields]
        best = max(relevant, key=lambda e: e.value, default=None)
        minimum = _rupiah(req.min_experience_value)
        where = f" in {', '.join(fields)}" if fields else ""
        if best is not None and best.value >= req.min_experience_value:
            results.append(
                RequirementResult(
                    "experience",
                    True,
                    f"Largest verified contract{where} is {_rupiah(best.value)} ({best.year}), at least {minimum}.",
                )
            )
        elif best is not None:
            results.append(
                RequirementResult(
                    "experience",
                    False,
                    f"Largest verified contract{where} is {_rupiah(best.value)}, below the minimum {minimum}.",
                )
            )
        else:
            results.append(RequirementResult("experience", False, f"No verified contract{where}; minimum {minimum}."))

    for code in req.sbu:
        sbus = [lic for lic in facts.licences if lic.kind == "sbu" and lic.sbu_subclassification == code]
        valid = [lic for lic in sbus if lic.valid_on(day)]
        name = f"sbu:{code}"
        if valid:
            lic = valid[0]
            until = f", valid until {lic.valid_until.isoformat()}" if lic.valid_until else ""
            results.append(RequirementResult(name, True, f"SBU {code} no. {lic.number}{until}."))
        elif sbus:
            until = max((lic.valid_until for lic in sbus if lic.valid_until), default=None)
            results.append(
                RequirementResult(name, False, f"SBU {code} expired after {until.isoformat() if until else '?'}.")
            )
        else:
            results.append(RequirementResult(name, False, f"No verified SBU with sub-classification {code}."))
    return results
