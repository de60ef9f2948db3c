"""Tender cepat: price bidding in rounds (reverse auction) among the invited, already-qualified vendors.

The Pokja sets the rounds, each a window of the server clock; rounds follow one another without overlap.
Inside a round's window an invited vendor may only lower its own price: its first price (in round 1) is at
most the HPS, every later one is strictly below its previous one. A vendor that did not price in round 1
does not join later rounds (the later rounds are the reverse auction among those who offered).

The ranking orders each bidder's latest (so lowest) price; on equal prices the price submitted first ranks
higher (earlier time, then earlier arrival), so holding a price is never beaten by matching it later. After
the last round the first in the ranking wins; fewer than :data:`MIN_BIDDERS` bidders fail the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from eproc_tender.domain import Conflict, DomainError
from eproc_tender.domain.rules import EnvelopeSystem, EvaluationSystem, HpsItem, Qualification
from eproc_tender.domain.schedule import Window

#: Tender cepat fails with fewer bids than this (a structural rule of the method, not a setting).
MIN_BIDDERS = 2


def check_package(
    items: Sequence[HpsItem], qualification: Qualification, envelope: EnvelopeSystem, evaluation: EvaluationSystem
) -> None:
    """Tender cepat is for fully specified work: every item with its volume, price-only, qualification known."""
    if not items:
        raise DomainError(
            "specs-incomplete",
            "Tender cepat needs the specification and volume of every item: list them in hps_items.",
            field="hps_items",
        )
    if qualification is not Qualification.PASCA:
        raise DomainError(
            "qualification-not-applicable",
            "Tender cepat invites vendors already qualified in the register: no prakualifikasi.",
            field="qualification",
        )
    if envelope is not EnvelopeSystem.ONE_FILE:
        raise DomainError(
            "envelope-not-applicable", "Tender cepat takes prices only (one_file).", field="envelope_system"
        )
    if evaluation is not EvaluationSystem.LOWEST_PRICE:
        raise DomainError(
            "evaluation-not-applicable", "Tender cepat ranks by price (lowest_price).", field="evaluation_system"
        )


def check_rounds(rounds: Sequence[Window], max_rounds: int) -> None:
    if not rounds:
        raise DomainError("rounds-required", "Set at least one round.", field="rounds")
    if len(rounds) > max_rounds:
        raise DomainError("too-many-rounds", f"At most {max_rounds} rounds.", field="rounds")
    for index, window in enumerate(rounds):
        if window.ends_at <= window.starts_at:
            raise DomainError("round-empty", "A round ends after it starts.", field=f"rounds.{index}.ends_at")
        if index and window.starts_at < rounds[index - 1].ends_at:
            raise DomainError(
                "rounds-overlap", "A round starts when the previous one has ended.", field=f"rounds.{index}.starts_at"
            )


def round_at(rounds: Sequence[Window], now: datetime) -> int | None:
    """The number (from 1) of the round whose window holds ``now`` (the end is exclusive)."""
    return next((i + 1 for i, w in enumerate(rounds) if w.contains(now)), None)


def outside_rounds(rounds: Sequence[Window], now: datetime) -> Conflict:
    upcoming = next((i + 1 for i, w in enumerate(rounds) if now < w.starts_at), None)
    if upcoming is None:
        return Conflict("outside-round", "The last round has ended: no more prices are taken.")
    return Conflict(
        "outside-round",
        f"No round is open now: round {upcoming} opens at {rounds[upcoming - 1].starts_at.isoformat()}.",
    )


def check_price(previous: int | None, price: int, hps: int, round_number: int) -> None:
    """A vendor's new price: the first at most the HPS and in round 1; every later one strictly lower."""
    if previous is None:
        if round_number > 1:
            raise Conflict(
                "not-in-first-round",
                "Only vendors who offered a price in round 1 bid in the later rounds.",
                field="price",
            )
        if price > hps:
            raise DomainError("above-hps", f"The price {price} exceeds the HPS {hps}.", field="price")
        return
    if price >= previous:
        raise DomainError(
            "price-not-lower",
            f"In a reverse auction a price only goes down: your last price is {previous}; offer less.",
            field="price",
        )


@dataclass(frozen=True)
class Price:
    vendor_id: str
    price: int
    at: datetime
    seq: int  # arrival order: breaks ties between prices taken at the same instant


@dataclass(frozen=True)
class Standing:
    position: int
    vendor_id: str
    price: int
    at: datetime


def ranking(prices: Iterable[Price]) -> list[Standing]:
    """Each vendor's latest price, lowest first; equal prices: the one submitted first ranks higher."""
    latest: dict[str, Price] = {}
    for p in sorted(prices, key=lambda p: p.seq):
        latest[p.vendor_id] = p
    ordered = sorted(latest.values(), key=lambda p: (p.price, p.at, p.seq))
    return [Standing(i + 1, p.vendor_id, p.price, p.at) for i, p in enumerate(ordered)]
