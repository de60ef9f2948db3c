"""The contract rules in plain Python: integer arithmetic, caps, guarantees and types."""

from __future__ import annotations

from datetime import date

import pytest

from eproc_contract.domain import ContractRuleError, contract_types, guarantees, lifecycle
from eproc_contract.domain.amendments import check_amendment
from eproc_contract.domain.money import share_bps, within_bps
from eproc_contract.domain.payments import check_ceiling, termin_split
from eproc_contract.domain.penalties import late_penalty


def penalty(value: int, days: int, *, late_part: int | None = None, per_mille: int = 1, cap_bps: int = 500) -> int:
    return late_penalty(
        value=value, days_late=days, per_mille_per_day=per_mille, cap_bps=cap_bps, late_part=late_part
    ).amount


def test_penalty_is_one_per_mille_a_day_of_the_value_rounded_down() -> None:
    assert penalty(1_890_000_000, 3) == 5_670_000
    assert penalty(1_000, 1) == 1
    assert penalty(999, 1) == 0  # Rp0,999 rounds down to nothing
    assert penalty(1_999, 1) == 1  # Rp1,999 rounds down to Rp1, never up
    assert penalty(123_456_789, 7) == 864_197  # 864.197,523 -> 864.197
    assert penalty(123_456_789, 0) == 0
    assert penalty(123_456_789, -4) == 0


def test_penalty_on_the_late_part_and_the_cap() -> None:
    # Only the late part (Rp300 juta of Rp1 miliar) counts, for 10 days: Rp3 juta.
    assert penalty(1_000_000_000, 10, late_part=300_000_000) == 3_000_000
    # The cap is 5% of the whole value: day 50 reaches it exactly, day 51 stays there.
    assert penalty(1_000_000_000, 50) == 50_000_000
    assert penalty(1_000_000_000, 51) == 50_000_000
    p = late_penalty(value=1_000_000_000, days_late=80, per_mille_per_day=1, cap_bps=500, late_part=None)
    assert (p.uncapped, p.cap, p.amount, p.capped) == (80_000_000, 50_000_000, 50_000_000, True)
    # A cap that is not a whole Rupiah rounds down too: 5% of 1.000.000.019 is 50.000.000,95.
    assert penalty(1_000_000_019, 1000) == 50_000_000
    with pytest.raises(ContractRuleError) as err:
        penalty(1_000, 3, late_part=1_001)
    assert err.value.field == "late_part_value"


def test_shares_are_exact_integers() -> None:
    assert share_bps(1_800_000_000, 500) == 90_000_000
    assert share_bps(1_800_000_019, 500) == 90_000_000
    assert within_bps(70_000_000, 700_000_001, 1_000)
    assert not within_bps(70_000_001, 700_000_001, 1_000)
    assert within_bps(100, 1_000, 1_000)
    assert not within_bps(101, 1_000, 1_000)
    assert termin_split(1_170_000_000, 500).retention == 58_500_000
    assert termin_split(19, 500).retention == 0
    assert termin_split(19, 500).net == 19


def test_amendment_cap_counts_additions_only() -> None:
    common = {"extension_days": 0, "scope_change": None, "original_value": 1_000, "paid": 0, "cap_bps": 1_000}
    assert check_amendment(value_delta=100, current_value=1_000, added_so_far=0, **common) == 100
    with pytest.raises(ContractRuleError) as err:
        check_amendment(value_delta=1, current_value=900, added_so_far=100, **common)
    assert err.value.code == "amendment-cap"
    # A reduction changes the value but adds nothing to the additions total.
    assert check_amendment(value_delta=-50, current_value=1_100, added_so_far=100, **common) == 100
    with pytest.raises(ContractRuleError):
        check_amendment(value_delta=0, current_value=1_000, added_so_far=0, **common)
    with pytest.raises(ContractRuleError) as err:
        check_amendment(value_delta=-600, current_value=1_000, added_so_far=0, **common | {"paid": 500})
    assert err.value.code == "value-below-paid"


def test_payment_ceiling() -> None:
    check_ceiling(amount=100, paid_so_far=900, current_value=1_000)
    with pytest.raises(ContractRuleError) as err:
        check_ceiling(amount=101, paid_so_far=900, current_value=1_000)
    assert err.value.code == "payment-ceiling"
    with pytest.raises(ContractRuleError):
        check_ceiling(amount=0, paid_so_far=0, current_value=1_000)


def test_performance_guarantee() -> None:
    args = {"bps": 500, "exempt_up_to": 200_000_000}
    # Under 80% of HPS the award gives HPS as the base.
    assert guarantees.performance_guarantee(
        value=700_000_000, base=1_000_000_000, procurement_type="barang", **args
    ) == (50_000_000)
    assert guarantees.performance_guarantee(value=900_000_000, base=900_000_000, procurement_type="barang", **args) == (
        45_000_000
    )
    assert guarantees.performance_guarantee(value=200_000_000, base=200_000_000, procurement_type="barang", **args) == 0
    works = guarantees.performance_guarantee(
        value=150_000_000, base=150_000_000, procurement_type="pekerjaan_konstruksi", **args
    )
    assert works == 7_500_000


def test_contract_types_and_dates() -> None:
    assert contract_types.normalise("Lumsum") == "lumsum"
    assert contract_types.normalise("Gabungan Lumsum dan Harga Satuan") == "gabungan"
    assert contract_types.normalise("turnkey") == "terima_jadi"
    assert contract_types.normalise("Kontrak Payung") == "kontrak_payung"
    assert contract_types.normalise("borongan") is None
    assert contract_types.fits("waktu_penugasan", "jasa_konsultansi")
    assert not contract_types.fits("waktu_penugasan", "barang")
    assert not contract_types.fits("harga_satuan", "jasa_konsultansi")
    assert lifecycle.days_late(date(2026, 6, 10), date(2026, 6, 10)) == 0
    assert lifecycle.days_late(date(2026, 6, 10), date(2026, 6, 13)) == 3
    with pytest.raises(ContractRuleError):
        lifecycle.require("sign", "active")
