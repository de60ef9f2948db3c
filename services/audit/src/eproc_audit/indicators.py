"""Governance indicators (ITKP-style) per OPD and fiscal year, and for the whole city: pure arithmetic.

Money is integer Rupiah throughout. Ratios are integer **basis points** (1/100 of a percent, 10 000 =
100 %) rounded half away from zero: ``ratio_bp(n, d) = sign(n) * floor((2*|n|*10000 + d) / (2*d))``.
Averages of counts and durations are rounded the same way to an integer number of hundredths
(``average_bidders_x100``) or seconds (``average_seconds_to_award``).

Efficiency against HPS is ``(sum HPS - sum contract value) / sum HPS`` over the packages that have both
(a weighted average, as LPSE reports it), and likewise against pagu; a package's contract value is its
e-contract's current value when the log has one, else its awarded price.

Purchases recorded outside the platform (pencatatan non-tender, swakelola, darurat) count under the methods
``pencatatan_non_tender``, ``pencatatan_swakelola`` and ``pencatatan_darurat`` (``packages`` = records, ``pagu``,
``contract_value`` = realised value), and non-tender records also by how they were bought. Each record counts
once, at its latest revision. The share of procurement run in the platform is taken against everything the
platform knows (run or recorded), by count and by pagu: the plan (RUP) that ITKP measures against is not in
the log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


def ratio_bp(numerator: int, denominator: int) -> int | None:
    if denominator <= 0:
        return None
    return _round_div(numerator * 10_000, denominator)


def _round_div(numerator: int, denominator: int) -> int:
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


@dataclass(frozen=True)
class PackageFacts:
    package_id: str
    opd_id: str | None
    fiscal_year: int | None
    method: str | None
    pagu: int | None
    hps: int | None
    announced_at: datetime | None
    awarded_at: datetime | None
    awarded_price: int | None
    bidders: int | None
    ended: str | None
    contract_value: int | None = None
    e_contract_signed: bool = False
    e_contract_completed: bool = False


@dataclass(frozen=True)
class RecordFacts:
    """A purchase recorded outside the platform, at its latest revision."""

    record_id: str
    opd_id: str
    fiscal_year: int
    kind: str
    method: str
    pagu: int
    realised_value: int


@dataclass
class MethodTotals:
    packages: int = 0
    pagu: int = 0
    hps: int = 0
    awarded: int = 0
    contract_value: int = 0


@dataclass
class Indicators:
    packages: int = 0
    by_method: dict[str, MethodTotals] = field(default_factory=dict)
    run_in_platform: int = 0
    run_in_platform_pagu: int = 0
    recorded_in_platform: int = 0
    recorded_in_platform_pagu: int = 0
    recorded_value: int = 0
    recorded_non_tender_by_method: dict[str, MethodTotals] = field(default_factory=dict)
    run_share_bp: int | None = None
    run_share_pagu_bp: int | None = None
    awarded: int = 0
    failed_or_cancelled: int = 0
    e_contracts_signed: int = 0
    e_contracts_completed: int = 0
    e_contract_bp: int | None = None
    e_contract_completion_bp: int | None = None
    efficiency_packages: int = 0
    efficiency_hps_total: int = 0
    efficiency_pagu_total: int = 0
    efficiency_value_total: int = 0
    efficiency_vs_hps_bp: int | None = None
    efficiency_vs_pagu_bp: int | None = None
    opened_packages: int = 0
    bidders_total: int = 0
    average_bidders_x100: int | None = None
    award_times: int = 0
    average_seconds_to_award: int | None = None


def compute(facts: Iterable[PackageFacts], records: Iterable[RecordFacts] = ()) -> Indicators:
    out = Indicators()
    methods: dict[str, MethodTotals] = defaultdict(MethodTotals)
    seconds_total = 0
    eff_pagu_value = 0
    for f in facts:
        out.packages += 1
        m = methods[f.method or "unknown"]
        m.packages += 1
        m.pagu += f.pagu or 0
        m.hps += f.hps or 0
        # Every package the log knows was run in the platform.
        out.run_in_platform += 1
        out.run_in_platform_pagu += f.pagu or 0
        if f.ended in ("failed", "cancelled"):
            out.failed_or_cancelled += 1
        if f.awarded_price is not None:
            out.awarded += 1
            m.awarded += 1
        value = f.contract_value if f.contract_value is not None else f.awarded_price
        if value is not None:
            m.contract_value += value
            if f.hps:
                out.efficiency_packages += 1
                out.efficiency_hps_total += f.hps
                out.efficiency_value_total += value
                if f.pagu:
                    out.efficiency_pagu_total += f.pagu
                    eff_pagu_value += value
        if f.e_contract_signed:
            out.e_contracts_signed += 1
        if f.e_contract_completed:
            out.e_contracts_completed += 1
        if f.bidders is not None:
            out.opened_packages += 1
            out.bidders_total += f.bidders
        if f.announced_at and f.awarded_at:
            out.award_times += 1
            seconds_total += int((f.awarded_at - f.announced_at).total_seconds())
    bought: dict[str, MethodTotals] = defaultdict(MethodTotals)
    for r in records:
        out.recorded_in_platform += 1
        out.recorded_in_platform_pagu += r.pagu
        out.recorded_value += r.realised_value
        for totals in (methods[f"pencatatan_{r.kind}"], *((bought[r.method],) if r.kind == "non_tender" else ())):
            totals.packages += 1
            totals.pagu += r.pagu
            totals.contract_value += r.realised_value
    out.by_method = dict(sorted(methods.items()))
    out.recorded_non_tender_by_method = dict(sorted(bought.items()))
    out.run_share_bp = ratio_bp(out.run_in_platform, out.run_in_platform + out.recorded_in_platform)
    out.run_share_pagu_bp = ratio_bp(out.run_in_platform_pagu, out.run_in_platform_pagu + out.recorded_in_platform_pagu)
    out.e_contract_bp = ratio_bp(out.e_contracts_signed, out.awarded)
    out.e_contract_completion_bp = ratio_bp(out.e_contracts_completed, out.e_contracts_signed)
    out.efficiency_vs_hps_bp = ratio_bp(out.efficiency_hps_total - out.efficiency_value_total, out.efficiency_hps_total)
    out.efficiency_vs_pagu_bp = ratio_bp(out.efficiency_pagu_total - eff_pagu_value, out.efficiency_pagu_total)
    if out.opened_packages:
        out.average_bidders_x100 = _round_div(out.bidders_total * 100, out.opened_packages)
    if out.award_times:
        out.average_seconds_to_award = _round_div(seconds_total, out.award_times)
    return out
