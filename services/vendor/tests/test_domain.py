"""The plain rules, without HTTP or a database: identifiers, periods, scores, status."""

from __future__ import annotations

from datetime import date

import pytest

from eproc_vendor.domain import blacklist as bl
from eproc_vendor.domain.facts import BlacklistPeriod, Licence, TaxStatus, VendorFacts, standing, usable_kbli
from eproc_vendor.domain.ratings import average, overall_score
from eproc_vendor.domain.validation import normalize_kbli, normalize_nib, normalize_npwp, normalize_sbu
from eproc_vendor.domain.verification import ItemState, TransitionError, decide, submit, vendor_status


def test_identifiers() -> None:
    assert normalize_npwp("01.312.166.0-091.000") == "013121660091000"
    assert normalize_npwp("0013121660091000") == "0013121660091000"  # the 16-digit form since 2024
    for bad in ("01.312.166.1-091.000", "1234", "01312166009100a"):
        with pytest.raises(ValueError, match="NPWP"):
            normalize_npwp(bad)
    assert normalize_nib(" 9120001234567 ") == "9120001234567"
    with pytest.raises(ValueError, match="13 digits"):
        normalize_nib("912000123456")
    assert normalize_kbli("41011") == "41011"
    with pytest.raises(ValueError, match="5-digit"):
        normalize_kbli("4101")
    assert normalize_sbu("bg004") == "BG004"
    with pytest.raises(ValueError, match="two letters"):
        normalize_sbu("B004")


def test_blacklist_periods_are_inclusive_and_end_the_day_after() -> None:
    assert bl.default_period(date(2026, 3, 1), 12) == (date(2026, 3, 1), date(2027, 2, 28))
    assert bl.default_period(date(2026, 1, 31), 1) == (date(2026, 1, 31), date(2026, 2, 27))
    assert bl.lifted_on(date(2026, 12, 31)) == date(2027, 1, 1)
    period = BlacklistPeriod("e", "opd", "basis", "reason", date(2026, 1, 1), date(2026, 1, 10))
    assert [period.covers(date(2026, 1, d)) for d in (1, 10, 11)] == [True, True, False]
    revoked = BlacklistPeriod("e", "opd", "basis", "reason", date(2026, 1, 1), date(2026, 1, 10), date(2026, 1, 5))
    assert revoked.covers(date(2026, 1, 4))
    assert not revoked.covers(date(2026, 1, 5))
    with pytest.raises(bl.BlacklistError):
        bl.check_period(date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(bl.BlacklistError):
        bl.confirm(bl.CONFIRMED)


def test_scores_round_half_up() -> None:
    assert overall_score([(3, 4), (4, 4), (3, 4), (4, 4)]) == 88  # 14/16 = 87.5
    assert overall_score([(1, 3)]) == 33
    assert average([88, 75]) == 82  # 81.5
    assert average([]) is None
    with pytest.raises(ValueError, match="outside"):
        overall_score([(5, 4)])


def test_status_and_transitions() -> None:
    assert submit("draft") == "submitted"
    with pytest.raises(TransitionError):
        submit("verified")
    with pytest.raises(TransitionError):
        decide("draft", True)
    assert vendor_status([ItemState("company", "submitted")], ever_verified=False) == "submitted"
    assert vendor_status([ItemState("company", "rejected"), ItemState("kbli", "verified")], False) == "rejected"
    assert vendor_status([ItemState("company", "verified"), ItemState("kbli", "rejected")], False) == "verified"
    assert vendor_status([ItemState("licence", "submitted")], ever_verified=True) == "verified"


def test_lapsed_licence_takes_only_its_fields_and_tax_lapse_takes_everything() -> None:
    facts = VendorFacts(
        vendor_id="v",
        verified=True,
        kbli_codes=("41011", "42101"),
        licences=(Licence("l", "sbu", "1", "LPJK", None, date(2026, 3, 31), ("41011",), "BG004"),),
        tax_status=TaxStatus("t", True, date(2025, 12, 1), date(2026, 6, 30)),
    )
    assert usable_kbli(facts, date(2026, 3, 31)) == {"41011", "42101"}
    assert usable_kbli(facts, date(2026, 4, 1)) == {"42101"}
    assert standing(facts, date(2026, 6, 30)).eligible
    late = standing(facts, date(2026, 7, 1))
    assert not late.eligible
    assert late.reasons == ["The tax-compliance status expired after 2026-06-30."]
