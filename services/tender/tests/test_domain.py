"""The plain-Python domain: working days, addenda, the state machine, sealing and evaluation arithmetic."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from eproc_tender.clock import JAKARTA
from eproc_tender.domain import Conflict, DomainError
from eproc_tender.domain import evaluation as ev
from eproc_tender.domain.machine import Action, Facts, Status, due, move, next_due_at
from eproc_tender.domain.rules import EnvelopeSystem, EvaluationSystem, Method
from eproc_tender.domain.schedule import Stage, Window, apply_addendum, whole_working_days_between
from eproc_tender.domain.sealing import (
    SealError,
    document_digest,
    new_package_keys,
    seal,
    sha256_hex,
    unseal,
    unwrap_private_key,
)

KEK = bytes(range(32))


def jkt(y: int, m: int, d: int, h: int = 9) -> datetime:
    return datetime(y, m, d, h, tzinfo=JAKARTA)


def test_working_days_skip_weekends_and_indonesian_holidays() -> None:
    # Mon 4 May 2026 -> Mon 11 May: Tue..Fri are 4 working days.
    assert whole_working_days_between(jkt(2026, 5, 4), jkt(2026, 5, 11)) == 4
    # Ascension Day (Thu 14 May 2026) is a national holiday: Tue 12 -> Tue 19 counts Wed, Fri, Mon.
    assert whole_working_days_between(jkt(2026, 5, 12), jkt(2026, 5, 19)) == 3
    # Independence Day, Monday 17 August 2026.
    assert whole_working_days_between(jkt(2026, 8, 14), jkt(2026, 8, 19)) == 1


def _schedule() -> dict[Stage, Window]:
    order = list(Stage)
    base = jkt(2026, 5, 4)
    out = {}
    for i, stage in enumerate(order):
        out[stage] = Window(base + timedelta(days=i), base + timedelta(days=i + 1))
    out[Stage.REGISTRATION] = Window(base + timedelta(days=1), base + timedelta(days=3))
    out[Stage.CLARIFICATION] = Window(base + timedelta(days=2), base + timedelta(days=3))
    out[Stage.SUBMISSION] = Window(base + timedelta(days=3), base + timedelta(days=7))
    out[Stage.OPENING] = Window(base + timedelta(days=7), base + timedelta(days=8))
    out[Stage.EVALUATION] = Window(base + timedelta(days=8), base + timedelta(days=9))
    out[Stage.WINNER_ANNOUNCEMENT] = Window(base + timedelta(days=9), base + timedelta(days=10))
    return out


def test_addendum_moves_forward_only_and_keeps_working_days_before_the_deadline() -> None:
    current = _schedule()
    now = jkt(2026, 5, 6)
    deadline = current[Stage.SUBMISSION].ends_at
    with pytest.raises(DomainError) as backwards:
        apply_addendum(
            current,
            {Stage.SUBMISSION: Window(current[Stage.SUBMISSION].starts_at, deadline - timedelta(hours=1))},
            now=now,
            documents_changed=False,
            min_working_days=3,
        )
    assert backwards.value.field == "stages.submission.ends_at"
    # Documents change on Wednesday 6 May; the deadline of Monday 11 May leaves Thu, Fri: too close.
    with pytest.raises(DomainError) as close:
        apply_addendum(current, {}, now=now, documents_changed=True, min_working_days=3)
    assert close.value.code == "deadline-too-close"
    later = deadline + timedelta(days=2)
    moved = apply_addendum(
        current,
        {
            Stage.SUBMISSION: Window(current[Stage.SUBMISSION].starts_at, later),
            Stage.OPENING: Window(later, later + timedelta(days=1)),
            Stage.EVALUATION: Window(later + timedelta(days=1), later + timedelta(days=2)),
            Stage.WINNER_ANNOUNCEMENT: Window(later + timedelta(days=2), later + timedelta(days=3)),
        },
        now=now,
        documents_changed=True,
        min_working_days=3,
    )
    assert moved[Stage.SUBMISSION].ends_at == later


def _facts(status: Status, **kw: object) -> Facts:
    return Facts(status=status, method=Method.TENDER, envelope=EnvelopeSystem.ONE_FILE, schedule=_schedule(), **kw)  # type: ignore[arg-type]


def test_the_machine_refuses_what_a_state_does_not_accept_and_yields_time_driven_moves() -> None:
    schedule = _schedule()
    deadline = schedule[Stage.SUBMISSION].ends_at
    announced = _facts(Status.ANNOUNCED)
    assert move(announced, Action.SUBMIT_BID, deadline - timedelta(milliseconds=1)) is Status.ANNOUNCED
    with pytest.raises(Conflict):
        move(announced, Action.SUBMIT_BID, deadline)
    with pytest.raises(Conflict):
        move(announced, Action.OPEN_BIDS, deadline + timedelta(days=1))
    assert next_due_at(announced) == deadline
    assert due(announced, deadline - timedelta(microseconds=1)) is None
    assert due(announced, deadline).target is Status.CLOSED  # type: ignore[union-attr]
    assert move(_facts(Status.CLOSED), Action.OPEN_BIDS, deadline) is Status.EVALUATION
    two_file = Facts(Status.CLOSED, Method.SELEKSI, EnvelopeSystem.TWO_FILE, schedule)
    assert move(two_file, Action.OPEN_BIDS, deadline) is Status.TECHNICAL_EVALUATION
    ends = deadline + timedelta(days=10)
    waiting = _facts(Status.WINNER_ANNOUNCED, objection_ends_at=ends, open_objections=1)
    assert next_due_at(waiting) is None  # an open objection holds the award
    assert due(_facts(Status.WINNER_ANNOUNCED, objection_ends_at=ends), ends).target is Status.AWARDABLE  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        move(_facts(Status.WINNER_ANNOUNCED, objection_ends_at=ends), Action.OBJECT, ends)
    with pytest.raises(Conflict):
        move(_facts(Status.AWARDED), Action.CANCEL, ends)


def test_sealed_envelopes_open_only_with_their_package_key_and_context() -> None:
    keys = new_package_keys(KEK, "pkg-1")
    sealed = seal(keys.public_key, b'{"price": 1}', b"pkg-1|v1|price")
    private = unwrap_private_key(KEK, "pkg-1", keys.wrapped_private_key)
    assert unseal(private, sealed, b"pkg-1|v1|price") == b'{"price": 1}'
    with pytest.raises(SealError):
        unseal(private, sealed, b"pkg-1|v2|price")  # replayed onto another vendor
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SealError):
        unseal(private, tampered, b"pkg-1|v1|price")
    with pytest.raises(SealError):
        unwrap_private_key(bytes(32), "pkg-1", keys.wrapped_private_key)  # another KEK
    with pytest.raises(SealError):
        unwrap_private_key(KEK, "pkg-2", keys.wrapped_private_key)  # another package


def test_document_digests_match_within_a_package_only_and_need_the_key() -> None:
    plain = hashlib.sha256(b"%PDF daftar harga 900000000").digest()
    same = document_digest(KEK, "pkg-1", plain)
    assert same == document_digest(KEK, "pkg-1", hashlib.sha256(b"%PDF daftar harga 900000000").digest())
    assert same != document_digest(KEK, "pkg-1", hashlib.sha256(b"%PDF daftar harga 900000001").digest())
    assert same != document_digest(KEK, "pkg-2", plain)  # another package
    assert same != document_digest(bytes(32), "pkg-1", plain)  # another key-encryption key
    assert same not in (plain.hex(), sha256_hex(plain))
    assert len(bytes.fromhex(same)) == 32


def _bid(vendor: str, price: int, minute: int, **judged: object) -> ev.BidForEvaluation:
    judgement = ev.Judgement(**{"administrative_passed": True, "technical_passed": True, **judged})  # type: ignore[arg-type]
    return ev.BidForEvaluation(vendor, datetime(2026, 5, 11, 2, minute, tzinfo=UTC), price, [], judgement)


def test_ties_go_to_the_earlier_bid_and_failed_qualification_passes_the_lead_on() -> None:
    how = ev.Method(EvaluationSystem.LOWEST_PRICE, hps=1000, low_price_ratio_percent=80)
    outcome = ev.evaluate([_bid("late", 900, 5), _bid("early", 900, 1), _bid("dear", 950, 0)], how)
    assert [r.vendor_id for r in sorted(outcome.results, key=lambda r: r.rank or 0)] == ["early", "late", "dear"]
    assert outcome.pending == ["early: qualification proof (leading bidder)"]
    outcome = ev.evaluate(
        [
            _bid("early", 900, 1, qualification_passed=False, qualification_reason="SBU expired"),
            _bid("late", 900, 5, qualification_passed=True),
            _bid("dear", 950, 0),
            _bid("cheap", 700, 2, price_reasonable=False, price_reason="no breakdown"),
        ],
        how,
    )
    assert outcome.winner == "late"
    assert outcome.reserves == ["dear"]
    cheap = next(r for r in outcome.results if r.vendor_id == "cheap")
    assert cheap.low_price
    assert not cheap.passed
