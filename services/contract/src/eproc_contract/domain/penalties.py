"""Late-delivery penalties (denda keterlambatan).

1 per mille (setting) per calendar day late, of the contract value or, where the contract lets a
finished part be used on its own, of the value of the late part. The total is capped at a share of
the contract value (setting, default 5%: the size of the performance guarantee, at which the PPK may
terminate). Integer arithmetic, rounded down to the whole Rupiah:
``min(base * per_mille * days // 1000, value * cap_bps // 10000)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eproc_contract.domain import ContractRuleError
from eproc_contract.domain.money import PER_MILLE, share_bps


@dataclass(frozen=True)
class Penalty:
    days_late: int
    base: int
    uncapped: int
    cap: int
    amount: int

    @property
    def capped(self) -> bool:
        return self.uncapped > self.cap


def late_penalty(*, value: int, days_late: int, per_mille_per_day: int, cap_bps: int, late_part: int | None) -> Penalty:
    if late_part is not None and not 0 < late_part <= value:
        raise ContractRuleError(
            "invalid-late-part",
            "The late part's value must be positive and at most the contract value.",
            field="late_part_value",
        )
    base = value if late_part is None else late_part
    uncapped = base * per_mille_per_day * max(0, days_late) // PER_MILLE
    cap = share_bps(value, cap_bps)
    return Penalty(days_late=max(0, days_late), base=base, uncapped=uncapped, cap=cap, amount=min(uncapped, cap))
