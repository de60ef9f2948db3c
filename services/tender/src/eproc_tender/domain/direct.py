"""Direct methods (pengadaan langsung, penunjukan langsung): invitation, offers and negotiation, conclusion.

Negotiation only lowers a price: each vendor offer is at most its previous one, and a price the Pejabat
Pengadaan proposes is below the vendor's latest offer. The latest vendor offer is the price that counts;
every offer and proposal is kept as the negotiation's history.
"""

from __future__ import annotations

from dataclasses import dataclass

from eproc_tender.domain import Conflict, DomainError
from eproc_tender.domain.rules import Method


def check_invitation(method: Method, already_invited: set[str], new: list[str]) -> None:
    if len(set(new)) != len(new):
        raise DomainError("vendor-twice", "A vendor is named twice.", field="vendor_ids")
    again = sorted(set(new) & already_invited)
    if again:
        raise Conflict("already-invited", f"Already invited: {', '.join(again)}.", field="vendor_ids")
    if method is Method.PENUNJUKAN_LANGSUNG and len(already_invited) + len(new) != 1:
        raise DomainError("one-vendor", "Penunjukan langsung invites exactly one vendor.", field="vendor_ids")


def check_offer(previous: int | None, price: int) -> None:
    if previous is not None and price > previous:
        raise DomainError(
            "price-raised", f"Negotiation only lowers the price: the last offer was {previous}.", field="price"
        )


def check_proposal(latest_offer: int | None, price: int) -> None:
    if latest_offer is None:
        raise Conflict("no-offer", "The vendor has not offered yet: there is nothing to negotiate.", field="vendor_id")
    if price >= latest_offer:
        raise DomainError(
            "proposal-not-lower", f"A proposed price is below the vendor's offer of {latest_offer}.", field="price"
        )


@dataclass(frozen=True)
class Candidate:
    qualified: bool | None
    latest_offer: int | None


def check_conclusion(candidate: Candidate | None, hps: int) -> int:
    """The agreed price of the chosen vendor, who must be invited, qualified and within the HPS."""
    if candidate is None:
        raise DomainError("not-invited", "The vendor was not invited to this package.", field="vendor_id")
    if candidate.qualified is not True:
        raise Conflict("not-qualified", "Judge the vendor qualified before concluding.", field="vendor_id")
    if candidate.latest_offer is None:
        raise Conflict("no-offer", "The vendor has not offered a price.", field="vendor_id")
    if candidate.latest_offer > hps:
        raise DomainError(
            "above-hps",
            f"The vendor's price {candidate.latest_offer} exceeds the HPS {hps}: negotiate it down first.",
            field="vendor_id",
        )
    return candidate.latest_offer
