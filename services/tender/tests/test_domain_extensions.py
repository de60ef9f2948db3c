"""The plain-Python rules of prakualifikasi, two-stage bids, appeals and Pokja committees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eproc_tender.domain import Conflict, DomainError
from eproc_tender.domain.machine import Action, Facts, Status, due, move, next_due_at
from eproc_tender.domain.rules import (
    EnvelopeSystem,
    Method,
    ProcurementType,
    Qualification,
    check_committee,
    check_qualification,
)
from eproc_tender.domain.schedule import Stage, Window, apply_addendum, stages_for, validate_schedule
from eproc_tender.flows.evaluating import appeal_guarantee_required

BASE = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)


def _day(n: float) -> datetime:
    return BASE + timedelta(days=n)


def _schedule(*, pra: bool = False, two_stage: bool = False) -> dict[Stage, Window]:
    out = {
        Stage.ANNOUNCEMENT: Window(_day(0), _day(1)),
        Stage.REGISTRATION: Window(_day(0), _day(2)),
        Stage.CLARIFICATION: Window(_day(5), _day(6)),
        Stage.SUBMISSION: Window(_day(5), _day(9)),
        Stage.OPENING: Window(_day(9), _day(10)),
        Stage.EVALUATION: Window(_day(14), _day(15)),
        Stage.WINNER_ANNOUNCEMENT: Window(_day(15), _day(16)),
    }
    if pra:
        out[Stage.QUALIFICATION] = Window(_day(0), _day(3))
        out[Stage.QUALIFICATION_EVALUATION] = Window(_day(3), _day(4))
    if two_stage:
        out[Stage.SECOND_SUBMISSION] = Window(_day(11), _day(13))
    return out


def test_schedules_name_exactly_the_stages_of_the_package() -> None:
    pra = stages_for(prequalification=True, two_stage=False)
    validate_schedule(_schedule(pra=True), pra, exact=True)
    with pytest.raises(DomainError) as missing:
        validate_schedule(_schedule(), pra, exact=True)
    assert missing.value.field == "stages.qualification"
    with pytest.raises(DomainError) as extra:
        validate_schedule(_schedule(pra=True), stages_for(prequalification=False, two_stage=False), exact=True)
    assert extra.value.field == "stages.qualification"
    early = _schedule(two_stage=True)
    early[Stage.SECOND_SUBMISSION] = Window(_day(9.5), _day(13))  # during the first opening
    with pytest.raises(DomainError) as second:
        validate_schedule(early, stages_for(prequalification=False, two_stage=True))
    assert second.value.field == "stages.second_submission.starts_at"
    # An addendum naming a stage the package does not have is refused, not a crash.
    with pytest.raises(DomainError) as unknown:
        apply_addendum(
            _schedule(),
            {Stage.QUALIFICATION: Window(_day(1), _day(2))},
            now=_day(1),
            documents_changed=False,
            min_working_days=3,
        )
    assert unknown.value.field == "stages.qualification"


def test_prequalification_moves_by_time_to_its_evaluation_then_invites() -> None:
    schedule = _schedule(pra=True)
    facts = Facts(Status.ASSIGNED, Method.SELEKSI, EnvelopeSystem.ONE_FILE, schedule, qualification=Qualification.PRA)
    assert move(facts, Action.ANNOUNCE, _day(0.5)) is Status.PREQUALIFICATION
    pre = Facts(
        Status.PREQUALIFICATION, Method.SELEKSI, EnvelopeSystem.ONE_FILE, schedule, qualification=Qualification.PRA
    )
    assert move(pre, Action.SUBMIT_QUALIFICATION, _day(3) - timedelta(microseconds=1)) is Status.PREQUALIFICATION
    with pytest.raises(Conflict):
        move(pre, Action.SUBMIT_QUALIFICATION, _day(3))
    with pytest.raises(Conflict):
        move(pre, Action.SUBMIT_BID, _day(1))
    assert next_due_at(pre) == _day(3)
    assert due(pre, _day(3)).target is Status.PREQUALIFICATION_EVALUATION  # type: ignore[union-attr]
    evaluating = Facts(Status.PREQUALIFICATION_EVALUATION, Method.SELEKSI, EnvelopeSystem.ONE_FILE, schedule)
    assert move(evaluating, Action.ANNOUNCE_SHORTLIST, _day(4)) is Status.INVITED
    with pytest.raises(Conflict):
        move(evaluating, Action.ANNOUNCE_SHORTLIST, _day(9))  # the bid deadline is past
    invited = Facts(Status.INVITED, Method.SELEKSI, EnvelopeSystem.ONE_FILE, schedule)
    with pytest.raises(Conflict):
        move(invited, Action.REGISTER, _day(1))
    assert due(invited, _day(9)).target is Status.CLOSED  # type: ignore[union-attr]


def test_two_stage_goes_through_a_second_submission_before_prices() -> None:
    schedule = _schedule(two_stage=True)
    technical = Facts(Status.TECHNICAL_EVALUATION, Method.TENDER, EnvelopeSystem.TWO_STAGE, schedule)
    with pytest.raises(Conflict):
        move(technical, Action.OPEN_PRICES, _day(10))
    assert move(technical, Action.INVITE_SECOND_STAGE, _day(10)) is Status.SECOND_STAGE
    two_file = Facts(Status.TECHNICAL_EVALUATION, Method.TENDER, EnvelopeSystem.TWO_FILE, schedule)
    with pytest.raises(Conflict):
        move(two_file, Action.INVITE_SECOND_STAGE, _day(10))
    second = Facts(Status.SECOND_STAGE, Method.TENDER, EnvelopeSystem.TWO_STAGE, schedule)
    with pytest.raises(Conflict):
        move(second, Action.SUBMIT_BID, _day(10.5))  # the second window has not started
    assert move(second, Action.SUBMIT_BID, _day(12)) is Status.SECOND_STAGE
    assert due(second, _day(13)).target is Status.SECOND_STAGE_CLOSED  # type: ignore[union-attr]
    closed = Facts(Status.SECOND_STAGE_CLOSED, Method.TENDER, EnvelopeSystem.TWO_STAGE, schedule)
    assert move(closed, Action.OPEN_PRICES, _day(13)) is Status.EVALUATION


def test_appeals_are_for_construction_and_the_award_waits_for_their_period() -> None:
    ends, window_end = _day(20), _day(23)
    works = Facts(
        Status.WINNER_ANNOUNCED,
        Method.TENDER,
        EnvelopeSystem.ONE_FILE,
        _schedule(),
        objection_ends_at=ends,
        procurement_type=ProcurementType.PEKERJAAN_KONSTRUKSI,
        appeal_window_ends_at=window_end,
    )
    assert move(works, Action.APPEAL, _day(21)) is Status.WINNER_ANNOUNCED
    assert next_due_at(works) == window_end
    assert due(works, ends) is None
    goods = Facts(
        Status.WINNER_ANNOUNCED,
        Method.TENDER,
        EnvelopeSystem.ONE_FILE,
        _schedule(),
        objection_ends_at=ends,
        procurement_type=ProcurementType.BARANG,
    )
    with pytest.raises(Conflict):
        move(goods, Action.APPEAL, _day(19))
    open_appeal = Facts(**{**works.__dict__, "open_appeals": 1})
    assert next_due_at(open_appeal) is None
    assert appeal_guarantee_required(1_000_000_000, 100) == 10_000_000
    assert appeal_guarantee_required(1_000_000_001, 100) == 10_000_001  # rounded up to the Rupiah


def test_committees_and_prequalification_rules() -> None:
    assert check_committee("pokja-1", None, [3, 5]) is None
    assert check_committee(None, ["a", "b", "c"], [3, 5]) == ["a", "b", "c"]
    for members, code in ((["a", "b"], "committee-size"), (["a", "a", "b"], "member-twice")):
        with pytest.raises(DomainError) as refused:
            check_committee(None, members, [3, 5])
        assert refused.value.code == code
        assert refused.value.field == "members"
    with pytest.raises(DomainError):
        check_committee(None, None, [3, 5])
    check_qualification(Method.SELEKSI, Qualification.PRA, None)
    with pytest.raises(DomainError):
        check_qualification(Method.TENDER, Qualification.PRA, None)
    check_qualification(Method.TENDER, Qualification.PRA, "Struktur bentang lebar.")
