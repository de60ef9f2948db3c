"""Guarantees (jaminan) the vendor posts.

Performance guarantee (jaminan pelaksanaan): 5% (setting) of the contract value, or of HPS when the
awarded price is under 80% of HPS; the award event says which base applies
(``performance_guarantee_base``). It is due after the award letter and before the contract is
signed. Contracts of goods and other services up to Rp200 juta (setting) need none. Advance
payment guarantee (jaminan uang muka): the amount of the advance, due before the advance is paid.
"""

from __future__ import annotations

from datetime import date

from eproc_contract.domain import ContractRuleError
from eproc_contract.domain.money import share_bps

PERFORMANCE, ADVANCE_PAYMENT = "performance", "advance_payment"
KINDS = (PERFORMANCE, ADVANCE_PAYMENT)

#: Works always need a performance guarantee; the exemption below the threshold is for the others.
ALWAYS_GUARANTEED = frozenset({"pekerjaan_konstruksi"})


def performance_guarantee(*, value: int, base: int, procurement_type: str | None, bps: int, exempt_up_to: int) -> int:
    """The required performance guarantee in Rupiah (rounded down), 0 when none is required."""
    if procurement_type not in ALWAYS_GUARANTEED and value <= exempt_up_to:
        return 0
    return share_bps(base, bps)


def check_submission(*, kind: str, amount: int, required: int, valid_until: date, needed_until: date | None) -> None:
    if required <= 0:
        raise ContractRuleError("guarantee-not-required", f"This contract needs no {kind} guarantee.", field="kind")
    if amount < required:
        raise ContractRuleError(
            "guarantee-too-small", f"The {kind} guarantee must be at least Rp{required}.", field="amount"
        )
    if needed_until is not None and valid_until < needed_until:
        raise ContractRuleError(
            "guarantee-expires-too-early",
            f"The guarantee must be valid at least until {needed_until}.",
            field="valid_until",
        )
