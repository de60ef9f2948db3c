"""What a vendor has proved (verified data only) and what follows from it on a given day.

Validity and blacklist dates are inclusive calendar days in Asia/Jakarta: a licence valid until
31 December still counts that day and not on 1 January.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Licence:
    item_id: str
    kind: str
    number: str
    issuer: str
    valid_from: date | None
    valid_until: date | None
    kbli_codes: tuple[str, ...] = ()
    sbu_subclassification: str | None = None

    def expired_on(self, day: date) -> bool:
        return self.valid_until is not None and day > self.valid_until

    def valid_on(self, day: date) -> bool:
        return not self.expired_on(day) and (self.valid_from is None or self.valid_from <= day)


@dataclass(frozen=True)
class TaxStatus:
    item_id: str
    compliant: bool
    checked_on: date
    valid_until: date | None

    def expired_on(self, day: date) -> bool:
        return self.valid_until is not None and day > self.valid_until

    def valid_on(self, day: date) -> bool:
        return self.compliant and not self.expired_on(day)


@dataclass(frozen=True)
class Experience:
    experience_id: str
    kbli_code: str
    value: int
    year: int


@dataclass(frozen=True)
class BlacklistPeriod:
    entry_id: str
    opd_id: str
    legal_basis: str
    reason: str
    starts_on: date
    ends_on: date
    lifted_on: date | None = None

    def covers(self, day: date) -> bool:
        if self.lifted_on is not None and day >= self.lifted_on:
            return False
        return self.starts_on <= day <= self.ends_on

    def over_on(self, day: date) -> bool:
        return day > self.ends_on or (self.lifted_on is not None and day >= self.lifted_on)


@dataclass(frozen=True)
class VendorFacts:
    vendor_id: str
    verified: bool
    size_class: str | None = None
    kbli_codes: tuple[str, ...] = ()
    licences: tuple[Licence, ...] = ()
    tax_status: TaxStatus | None = None
    experience: tuple[Experience, ...] = ()
    blacklist: tuple[BlacklistPeriod, ...] = ()


@dataclass(frozen=True)
class Standing:
    """A vendor's standing on one day."""

    day: date
    eligible: bool
    blacklisted: bool
    reasons: list[str] = field(default_factory=list)
    usable_kbli: frozenset[str] = frozenset()


def usable_kbli(facts: VendorFacts, day: date) -> frozenset[str]:
    """Verified business fields that still count: a field covered by licences needs one still valid."""
    usable = set()
    for code in facts.kbli_codes:
        covering = [lic for lic in facts.licences if code in lic.kbli_codes]
        if not covering or any(lic.valid_on(day) for lic in covering):
            usable.add(code)
    return frozenset(usable)


def standing(facts: VendorFacts, day: date) -> Standing:
    reasons = []
    if not facts.verified:
        reasons.append("The vendor's company data has not been verified.")
    if facts.tax_status is None:
        reasons.append("No verified tax-compliance status.")
    elif not facts.tax_status.compliant:
        reasons.append("The verified tax status is not compliant.")
    elif facts.tax_status.expired_on(day):
        reasons.append(f"The tax-compliance status expired after {facts.tax_status.valid_until.isoformat()}.")  # type: ignore[union-attr]
    active = [p for p in facts.blacklist if p.covers(day)]
    for period in active:
        reasons.append(
            f"Blacklisted by {period.opd_id} from {period.starts_on.isoformat()} to {period.ends_on.isoformat()}."
        )
    return Standing(
        day=day,
        eligible=not reasons,
        blacklisted=bool(active),
        reasons=reasons,
        usable_kbli=usable_kbli(facts, day),
    )
