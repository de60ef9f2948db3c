"""Evaluation arithmetic: corrected prices, HPS and low-price checks, scores, ranking, winner and reserves.

The Pokja judges (administrative, technical, qualification, price reasonableness); the system
computes everything else and names the winner, so that nobody can pick a winner outside the rules:
the winner is the best-ranked bidder whose qualification is proven, every better-ranked one having
failed qualification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from eproc_tender.domain.rules import EvaluationSystem


@dataclass(frozen=True)
class PricedItem:
    description: str
    quantity: int
    unit_price: int

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price


def corrected_price(offered: int, items: list[PricedItem]) -> int:
    """Arithmetic correction: the priced items' sum is the price when the stated total disagrees."""
    return sum(i.total for i in items) if items else offered


@dataclass(frozen=True)
class Judgement:
    """What the Pokja decided about one bid (None: not judged yet)."""

    administrative_passed: bool | None = None
    administrative_reason: str | None = None
    technical_passed: bool | None = None
    technical_score: int | None = None  # 0-100, scoring methods only
    technical_reason: str | None = None
    price_reasonable: bool | None = None  # only asked of bids flagged under the low-price ratio
    price_reason: str | None = None
    qualification_passed: bool | None = None
    qualification_reason: str | None = None


@dataclass(frozen=True)
class BidForEvaluation:
    vendor_id: str
    received_at: datetime
    offered_price: int | None  # None until the price envelope is opened
    items: list[PricedItem]
    judgement: Judgement


@dataclass
class BidResult:
    vendor_id: str
    offered_price: int | None
    corrected_price: int | None
    passed: bool
    reasons: list[str] = field(default_factory=list)
    low_price: bool = False
    price_score: float | None = None
    total_score: float | None = None
    rank: int | None = None
    _key: tuple[object, ...] = ()


@dataclass
class Outcome:
    results: list[BidResult]
    pending: list[str]  # what still needs the Pokja's judgement before a winner can be named
    winner: str | None = None
    reserves: list[str] = field(default_factory=list)
    failure: str | None = None


@dataclass(frozen=True)
class Method:
    system: EvaluationSystem
    hps: int
    low_price_ratio_percent: int
    technical_weight: int | None = None
    price_weight: int | None = None
    max_reserves: int = 2


def is_low_price(price: int, hps: int, low_price_ratio_percent: int) -> bool:
    """Under this share of the HPS a price needs clarification, and its winner guarantees on the HPS."""
    return price * 100 < hps * low_price_ratio_percent


def evaluate(bids: list[BidForEvaluation], how: Method) -> Outcome:
    results: list[BidResult] = []
    pending: list[str] = []
    scoring = how.system is not EvaluationSystem.LOWEST_PRICE
    for bid in bids:
        j = bid.judgement
        price = corrected_price(bid.offered_price, bid.items) if bid.offered_price is not None else None
        r = BidResult(bid.vendor_id, bid.offered_price, price, passed=True)
        if j.administrative_passed is None or j.technical_passed is None:
            pending.append(f"{bid.vendor_id}: administrative and technical evaluation")
        if j.administrative_passed is False:
            r.passed = False
            r.reasons.append(f"administrative: {j.administrative_reason or 'not met'}")
        if j.technical_passed is False:
            r.passed = False
            r.reasons.append(f"technical: {j.technical_reason or 'not met'}")
        if scoring and j.technical_passed and j.technical_score is None:
            pending.append(f"{bid.vendor_id}: technical score")
        if price is None:
            if r.passed:
                pending.append(f"{bid.vendor_id}: price envelope not opened")
        else:
            if price > how.hps:
                r.passed = False
                r.reasons.append(f"price: corrected price {price} is above the HPS {how.hps}")
            elif is_low_price(price, how.hps, how.low_price_ratio_percent):
                r.low_price = True
                if j.price_reasonable is False:
                    r.passed = False
                    r.reasons.append(f"price: not reasonable after clarification ({j.price_reason or 'no reason'})")
                elif j.price_reasonable is None and r.passed:
                    pending.append(
                        f"{bid.vendor_id}: price clarification (under {how.low_price_ratio_percent}% of HPS)"
                    )
        results.append(r)

    received = {b.vendor_id: b.received_at for b in bids}
    judgements = {b.vendor_id: b.judgement for b in bids}
    passing = [r for r in results if r.passed and r.corrected_price is not None]
    if passing:
        lowest = min(r.corrected_price for r in passing if r.corrected_price is not None)
        for r in passing:
            assert r.corrected_price is not None
            if scoring:
                tw, pw = how.technical_weight or 0, how.price_weight or 0
                price_score = Fraction(100 * lowest, r.corrected_price)
                total = Fraction(tw * (judgements[r.vendor_id].technical_score or 0) + pw * price_score, 100)
                r.price_score, r.total_score = round(float(price_score), 2), round(float(total), 2)
                # Ties go to the lower price, then to the earlier bid.
                r._key = (-total, r.corrected_price, received[r.vendor_id])
            else:
                r._key = (r.corrected_price, received[r.vendor_id])
        passing.sort(key=lambda r: r._key)
        for rank, r in enumerate(passing, start=1):
            r.rank = rank

    outcome = Outcome(results=results, pending=pending)
    if pending:
        return outcome
    if not results:
        outcome.failure = "no bids"
        return outcome
    if not passing:
        above = all(r.corrected_price is not None and r.corrected_price > how.hps for r in results)
        outcome.failure = "all bids are above the HPS" if above else "no bid passed evaluation"
        return outcome
    for index, r in enumerate(passing):
        qualified = judgements[r.vendor_id].qualification_passed
        if qualified is None:
            outcome.pending.append(f"{r.vendor_id}: qualification proof (leading bidder)")
            return outcome
        if qualified:
            outcome.winner = r.vendor_id
            rest = [
                x.vendor_id for x in passing[index + 1 :] if judgements[x.vendor_id].qualification_passed is not False
            ]
            outcome.reserves = rest[: how.max_reserves]
            return outcome
        r.reasons.append(f"qualification: {judgements[r.vendor_id].qualification_reason or 'not proven'}")
    outcome.failure = "no bidder proved its qualification"
    return outcome


def leading_bidder(outcome: Outcome, judgements: dict[str, Judgement]) -> str | None:
    """The bidder whose qualification the Pokja must check next: the best-ranked one not yet failed."""
    ranked = sorted((r for r in outcome.results if r.rank is not None), key=lambda r: r.rank or 0)
    for r in ranked:
        if judgements[r.vendor_id].qualification_passed is not False:
            return r.vendor_id
    return None
