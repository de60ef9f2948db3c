"""Who may join a package, judged from the service's own copy of the vendor register's facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Requirements:
    kbli_codes: list[str]
    size_classes: list[str]


def ineligibility_reasons(facts: dict[str, Any] | None, needs: Requirements, today: date) -> list[str]:
    """Why a vendor may not join (empty: it may). ``facts`` is a ``VendorEligibilityFacts`` as JSON."""
    if facts is None:
        return ["the vendor is not known to the tender service yet (not verified in the vendor register)"]
    reasons: list[str] = []
    if not facts.get("verified") or facts.get("status") != "verified":
        reasons.append("the vendor is not verified")
    # The register judged the facts on its as_of date; a blacklist period may have begun since.
    blacklisted = any(
        not entry.get("lifted")
        and date.fromisoformat(entry["starts_on"]) <= today <= date.fromisoformat(entry["ends_on"])
        for entry in facts.get("blacklist", [])
    )
    if blacklisted:
        reasons.append("the vendor is blacklisted")
    if not facts.get("eligible"):
        reasons.extend(r for r in facts.get("ineligible_reasons", []) if r not in reasons)
        if not facts.get("ineligible_reasons") and not reasons:
            reasons.append("the vendor register marks the vendor ineligible")
    if needs.kbli_codes and not set(needs.kbli_codes) & set(facts.get("kbli_codes", [])):
        reasons.append(f"no verified business field (KBLI) among {', '.join(needs.kbli_codes)}")
    size = facts.get("size_class")
    if needs.size_classes and size not in needs.size_classes:
        reasons.append(f"size class {size or 'unknown'} is not among {', '.join(needs.size_classes)}")
    return reasons
