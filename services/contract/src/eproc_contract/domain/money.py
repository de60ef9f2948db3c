"""Integer Rupiah arithmetic.

Rounding rule, the only one used by the service: a share of an amount (a percentage in basis points,
a rate per mille) is computed exactly on integers and **rounded down to the whole Rupiah**
(``amount * numerator // denominator``). Caps are checked exactly, without rounding: an addition is
within a 10% cap when ``added * 10_000 <= original * 1_000``. No float is ever involved.
"""

from __future__ import annotations

BPS = 10_000  #: basis points in a whole: 500 bps = 5%
PER_MILLE = 1_000


def share_bps(amount: int, bps: int) -> int:
    """``bps`` basis points of ``amount``, rounded down to the whole Rupiah."""
    if amount < 0 or bps < 0:
        raise ValueError("amount and bps must not be negative")
    return amount * bps // BPS


def within_bps(part: int, whole: int, bps: int) -> bool:
    """Exactly ``part <= whole * bps / 10_000``, without rounding."""
    return part * BPS <= whole * bps
