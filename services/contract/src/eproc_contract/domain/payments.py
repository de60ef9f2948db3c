"""Payments per termin, the advance and the release of retention.

The gross total paid never exceeds the current contract value (after amendments). Retention,
where the terms set it, is withheld from each termin (rounded down) and paid out once after the
final handover.
"""

from __future__ import annotations

from dataclasses import dataclass

from eproc_contract.domain import ContractRuleError, StateConflict
from eproc_contract.domain.money import share_bps

ADVANCE, TERMIN, RETENTION_RELEASE = "advance", "termin", "retention_release"


@dataclass(frozen=True)
class Split:
    gross: int
    retention: int
    net: int


def check_ceiling(*, amount: int, paid_so_far: int, current_value: int) -> None:
    if amount <= 0:
        raise ContractRuleError("invalid-amount", "The amount must be positive.", field="amount")
    if paid_so_far + amount > current_value:
        raise ContractRuleError(
            "payment-ceiling",
            f"Payments would total Rp{paid_so_far + amount}, above the contract value Rp{current_value} "
            f"(Rp{current_value - paid_so_far} remain).",
            field="amount",
        )


def termin_split(amount: int, retention_bps: int) -> Split:
    retention = share_bps(amount, retention_bps)
    return Split(gross=amount, retention=retention, net=amount - retention)


def check_termin(
    *, termin: int | None, planned: set[int], already_paid: set[int], milestone_percent: int | None
) -> None:
    if termin is None:
        raise ContractRuleError("termin-required", "A termin payment names its termin.", field="termin")
    if termin not in planned:
        raise ContractRuleError("unknown-termin", f"Termin {termin} is not in the payment plan.", field="termin")
    if termin in already_paid:
        raise StateConflict("termin-paid", f"Termin {termin} has been paid already.")
    if (milestone_percent or 0) < 100:
        raise ContractRuleError(
            "milestone-not-reached",
            f"Termin {termin} is due when its milestone is reported at 100% (now {milestone_percent or 0}%).",
            field="termin",
        )


def check_advance(*, amount: int, planned: int, guaranteed: int, already_paid: bool) -> None:
    if planned <= 0:
        raise ContractRuleError("no-advance", "The terms provide no advance payment.", field="kind")
    if already_paid:
        raise StateConflict("advance-paid", "The advance has been paid already.")
    if amount > planned:
        raise ContractRuleError("advance-too-high", f"The advance is at most Rp{planned}.", field="amount")
    if guaranteed < amount:
        raise ContractRuleError(
            "advance-guarantee-missing",
            f"An advance payment guarantee of at least Rp{amount} must be posted first.",
            field="amount",
        )
