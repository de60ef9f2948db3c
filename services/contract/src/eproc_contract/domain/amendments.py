"""Amendments (adendum): scope, time and value changes.

Additions of value (pekerjaan tambah) together may not exceed 10% (setting) of the original value;
reductions do not make room for more additions. The value never drops below what has been paid.
"""

from __future__ import annotations

from eproc_contract.domain import ContractRuleError
from eproc_contract.domain.money import share_bps, within_bps


def check_amendment(
    *,
    value_delta: int,
    extension_days: int,
    scope_change: str | None,
    original_value: int,
    current_value: int,
    added_so_far: int,
    paid: int,
    cap_bps: int,
) -> int:
    """Checks the change; answers the total of additions after it."""
    if value_delta == 0 and extension_days == 0 and not scope_change:
        raise ContractRuleError(
            "empty-amendment", "An amendment changes the value, the time or the scope.", field="value_delta"
        )
    if extension_days < 0:
        raise ContractRuleError("invalid-extension", "A time extension cannot be negative.", field="extension_days")
    added = added_so_far + max(0, value_delta)
    if not within_bps(added, original_value, cap_bps):
        raise ContractRuleError(
            "amendment-cap",
            f"Added value would total Rp{added}, above the cap of Rp{share_bps(original_value, cap_bps)} "
            f"({cap_bps / 100:g}% of the original Rp{original_value}).",
            field="value_delta",
        )
    if current_value + value_delta < max(paid, 1):
        raise ContractRuleError(
            "value-below-paid",
            f"The new value Rp{current_value + value_delta} would be below what has been paid (Rp{paid}).",
            field="value_delta",
        )
    return added
