"""The package state machine: every state, what may happen in it, and what time does to it.

One class per state lists the actions it accepts (and the state each leads to), the stage window an
action needs, and the time-driven transitions it yields. Nothing here knows HTTP, SQL or Kafka: the
service loads a :class:`Facts` snapshot, asks :func:`move` (or :func:`settle` for what time did), and
persists the result with its events.

Tender and seleksi share one flow. Pengadaan and penunjukan langsung share the direct flow::

    draft -assign (Pejabat Pengadaan)-> assigned -invite_vendors-> negotiation
    negotiation (offer, negotiate, qualify) -conclude-> awardable -award (SPK / purchase order)-> awarded

Tender cepat: the Pokja sets the rounds of the reverse auction and announces; the vendors already qualified
for the package are invited; no clarification, no sealed envelopes, no objection period (``auction.py``)::

    draft -assign-> assigned -schedule_rounds-> assigned -announce-> auction
    auction --(end of each round but the last: its ranking is published)--> auction
    auction --(end of the last round)--> awardable (2 or more bidders; the system names the winner) -award-> awarded
                                     \\-> failed (fewer than 2 bidders)

Recorded purchases (pencatatan) are not run by the platform and have no states (see ``recording.py``).

Flow of a tender or seleksi::

    draft -assign-> assigned -announce-> announced --(bid deadline)--> closed -open-> evaluation
                                                                              \\-open (two-file)-> technical_evaluation
    technical_evaluation -open_prices-> evaluation -announce_winner-> winner_announced
    winner_announced --(objection period over, none open)--> awardable -award-> awarded
    winner_announced -reopen_evaluation (objection upheld)-> evaluation
    failed / cancelled from any open state, with a reason; a failed package can be re-tendered.

Prakualifikasi puts the qualification before the bids, and only the vendors who pass are invited::

    assigned -announce-> prequalification --(qualification stage over)--> prequalification_evaluation
    prequalification_evaluation -announce_shortlist-> invited --(bid deadline)--> closed -> ... as above

Two-stage (dua tahap): the first envelope holds the administrative and technical offer only; those who
pass it send a second offer (revised technical and price)::

    closed -open-> technical_evaluation -invite_second_stage-> second_stage
    second_stage --(second deadline)--> second_stage_closed -open_prices-> evaluation -> ... as above

Appeal (sanggah banding, construction works only) keeps a package in winner_announced: the award waits
until every objection and appeal is answered and the appeal period after each rejected objection is over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from eproc_tender.domain import Conflict, auction
from eproc_tender.domain.rules import EnvelopeSystem, Method, ProcurementType, Qualification
from eproc_tender.domain.schedule import Schedule, Stage, Window


class Status(StrEnum):
    DRAFT = "draft"
    ASSIGNED = "assigned"
    PREQUALIFICATION = "prequalification"
    PREQUALIFICATION_EVALUATION = "prequalification_evaluation"
    ANNOUNCED = "announced"
    INVITED = "invited"
    CLOSED = "closed"
    TECHNICAL_EVALUATION = "technical_evaluation"
    SECOND_STAGE = "second_stage"
    SECOND_STAGE_CLOSED = "second_stage_closed"
    EVALUATION = "evaluation"
    NEGOTIATION = "negotiation"
    AUCTION = "auction"
    WINNER_ANNOUNCED = "winner_announced"
    AWARDABLE = "awardable"
    AWARDED = "awarded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    EDIT = "edit"
    ASSIGN = "assign"
    SCHEDULE = "schedule"
    ANNOUNCE = "announce"
    AMEND = "amend"
    REGISTER = "register"
    SUBMIT_QUALIFICATION = "submit_qualification"
    JUDGE_QUALIFICATION = "judge_qualification"
    ANNOUNCE_SHORTLIST = "announce_shortlist"
    ASK = "ask"
    ANSWER = "answer"
    SUBMIT_BID = "submit_bid"
    WITHDRAW_BID = "withdraw_bid"
    OPEN_BIDS = "open_bids"
    EVALUATE = "evaluate"
    OPEN_PRICES = "open_prices"
    INVITE_SECOND_STAGE = "invite_second_stage"
    QUALIFY = "qualify"
    ANNOUNCE_WINNER = "announce_winner"
    OBJECT = "object"
    ANSWER_OBJECTION = "answer_objection"
    APPEAL = "appeal"
    ANSWER_APPEAL = "answer_appeal"
    REOPEN_EVALUATION = "reopen_evaluation"
    AWARD = "award"
    FAIL = "fail"
    CANCEL = "cancel"
    RETENDER = "retender"
    # Direct methods (pengadaan/penunjukan langsung).
    INVITE_VENDORS = "invite_vendors"
    OFFER = "offer"
    NEGOTIATE = "negotiate"
    CONCLUDE = "conclude"
    # Tender cepat.
    SCHEDULE_ROUNDS = "schedule_rounds"
    AUCTION_BID = "auction_bid"
    # Time-driven: applied by the scheduler (or on the next access) when they fall due.
    CLOSE_SUBMISSION = "close_submission"
    END_QUALIFICATION = "end_qualification"
    CLOSE_SECOND_STAGE = "close_second_stage"
    END_OBJECTION_PERIOD = "end_objection_period"
    CLOSE_ROUND = "close_round"


@dataclass(frozen=True)
class Facts:
    """What the machine needs to know about a package."""

    status: Status
    method: Method
    envelope: EnvelopeSystem
    schedule: Schedule | None = None
    pokja_assigned: bool = False
    objection_ends_at: datetime | None = None
    open_objections: int = 0
    qualification: Qualification = Qualification.PASCA
    procurement_type: ProcurementType | None = None
    open_appeals: int = 0
    #: The end of the appeal period of the last rejected objection (construction works only).
    appeal_window_ends_at: datetime | None = None
    #: Tender cepat: the auction's rounds in order, how many have closed, and how many vendors priced.
    rounds: tuple[Window, ...] = ()
    rounds_closed: int = 0
    auction_bidders: int = 0


@dataclass(frozen=True)
class Timed:
    """A transition that happens by itself at ``at``."""

    at: datetime
    action: Action
    target: Status
    #: Tender cepat: the round this transition closes (its ranking is published then).
    closes_round: int | None = None


Target = Status | Callable[[Facts], Status]


def _after_assignment(facts: Facts) -> Status:
    return Status.PREQUALIFICATION if facts.qualification is Qualification.PRA else Status.ANNOUNCED


def _after_opening(facts: Facts) -> Status:
    # Two-file and two-stage: the administrative/technical envelope is evaluated before prices are opened.
    if facts.envelope is EnvelopeSystem.ONE_FILE:
        return Status.EVALUATION
    return Status.TECHNICAL_EVALUATION


class State:
    status: ClassVar[Status]
    moves: ClassVar[dict[Action, Target]] = {}
    #: Actions accepted only inside a stage window of the schedule.
    windows: ClassVar[dict[Action, Stage]] = {}
    #: The stage whose end moves the package on by itself: the stage, that time-driven action, and where it leads.
    ends_with: ClassVar[tuple[Stage, Action, Status] | None] = None

    def guard(self, facts: Facts, action: Action, now: datetime) -> None:
        stage = self.windows.get(action)
        if stage is None:
            return
        assert facts.schedule is not None  # a package gets past draft only with a schedule
        window = facts.schedule[stage]
        if not window.contains(now):
            when = "has not started" if now < window.starts_at else "has ended"
            raise Conflict("outside-stage", f"The {stage} stage {when}: {action} is not possible now.")

    def timed(self, facts: Facts) -> Iterator[Timed]:
        if self.ends_with is None:
            return iter(())
        stage, action, target = self.ends_with
        assert facts.schedule is not None
        return iter((Timed(facts.schedule[stage].ends_at, action, target),))


_CLOSE = {Action.CANCEL: Status.CANCELLED}
_FAIL = {Action.FAIL: Status.FAILED, Action.CANCEL: Status.CANCELLED}
#: Handed over but not announced: the PPK still edits the package and may hand it to someone else.
_UNANNOUNCED = {Action.EDIT: Status.ASSIGNED, Action.ASSIGN: Status.ASSIGNED}


class Draft(State):
    status = Status.DRAFT
    moves = {Action.EDIT: Status.DRAFT, Action.ASSIGN: Status.ASSIGNED, **_CLOSE}


class Assigned(State):
    status = Status.ASSIGNED
    moves = {
        **_UNANNOUNCED,
        Action.SCHEDULE: Status.ASSIGNED,
        Action.ANNOUNCE: _after_assignment,
        **_CLOSE,
    }

    def guard(self, facts: Facts, action: Action, now: datetime) -> None:
        if action is Action.ANNOUNCE:
            if facts.schedule is None:
                raise Conflict("no-schedule", "Set the schedule before announcing.")
            first = Stage.QUALIFICATION if facts.qualification is Qualification.PRA else Stage.SUBMISSION
            if first not in facts.schedule:
                raise Conflict("schedule-incomplete", f"The schedule lacks the {first} stage; set it again.")
            if facts.schedule[first].ends_at <= now:
                raise Conflict("schedule-past", f"The {first} stage is already over; set a new schedule.")


class Prequalification(State):
    """Prakualifikasi announced: vendors register and send their qualification data; nobody bids yet."""

    status = Status.PREQUALIFICATION
    moves = {
        Action.AMEND: Status.PREQUALIFICATION,
        Action.REGISTER: Status.PREQUALIFICATION,
        Action.SUBMIT_QUALIFICATION: Status.PREQUALIFICATION,
        **_CLOSE,
    }
    windows = {Action.REGISTER: Stage.REGISTRATION, Action.SUBMIT_QUALIFICATION: Stage.QUALIFICATION}
    ends_with = (Stage.QUALIFICATION, Action.END_QUALIFICATION, Status.PREQUALIFICATION_EVALUATION)


class PrequalificationEvaluation(State):
    """The Pokja judges each applicant's qualification and announces who passes (and is invited to bid)."""

    status = Status.PREQUALIFICATION_EVALUATION
    moves = {
        Action.AMEND: Status.PREQUALIFICATION_EVALUATION,
        Action.JUDGE_QUALIFICATION: Status.PREQUALIFICATION_EVALUATION,
        Action.ANNOUNCE_SHORTLIST: Status.INVITED,
        **_FAIL,
    }

    def guard(self, facts: Facts, action: Action, now: datetime) -> None:
        assert facts.schedule is not None
        if action is Action.ANNOUNCE_SHORTLIST and facts.schedule[Stage.SUBMISSION].ends_at <= now:
            raise Conflict("schedule-past", "The bid deadline is already past; move it by addendum first.")


class Announced(State):
    status = Status.ANNOUNCED
    moves = {
        Action.AMEND: Status.ANNOUNCED,
        Action.REGISTER: Status.ANNOUNCED,
        Action.ASK: Status.ANNOUNCED,
        Action.ANSWER: Status.ANNOUNCED,
        Action.SUBMIT_BID: Status.ANNOUNCED,
        Action.WITHDRAW_BID: Status.ANNOUNCED,
        **_CLOSE,
    }
    windows = {
        Action.REGISTER: Stage.REGISTRATION,
        Action.ASK: Stage.CLARIFICATION,
        Action.SUBMIT_BID: Stage.SUBMISSION,
        Action.WITHDRAW_BID: Stage.SUBMISSION,
    }
    ends_with = (Stage.SUBMISSION, Action.CLOSE_SUBMISSION, Status.CLOSED)


class Invited(Announced):
    """Prakualifikasi: the shortlisted vendors are invited to bid; nobody else registers any more."""

    status = Status.INVITED
    moves = {
        Action.AMEND: Status.INVITED,
        Action.ASK: Status.INVITED,
        Action.ANSWER: Status.INVITED,
        Action.SUBMIT_BID: Status.INVITED,
        Action.WITHDRAW_BID: Status.INVITED,
        **_CLOSE,
    }
    windows = {
        Action.ASK: Stage.CLARIFICATION,
        Action.SUBMIT_BID: Stage.SUBMISSION,
        Action.WITHDRAW_BID: Stage.SUBMISSION,
    }


class Closed(State):
    status = Status.CLOSED
    # Opening with no bid fails the package; the service moves it with FAIL then.
    moves = {Action.OPEN_BIDS: _after_opening, **_FAIL}


class TechnicalEvaluation(State):
    status = Status.TECHNICAL_EVALUATION
    moves = {
        Action.EVALUATE: Status.TECHNICAL_EVALUATION,
        Action.OPEN_PRICES: Status.EVALUATION,
        Action.INVITE_SECOND_STAGE: Status.SECOND_STAGE,
        **_FAIL,
    }

    def guard(self, facts: Facts, action: Action, now: datetime) -> None:
        two_stage = facts.envelope is EnvelopeSystem.TWO_STAGE
        if action is Action.OPEN_PRICES and two_stage:
            raise Conflict("two-stage", "Two-stage: invite the second stage; prices come with the second offers.")
        if action is Action.INVITE_SECOND_STAGE:
            if not two_stage:
                raise Conflict("not-two-stage", "Only a two-stage package has a second stage.")
            assert facts.schedule is not None
            if facts.schedule[Stage.SECOND_SUBMISSION].ends_at <= now:
                raise Conflict("schedule-past", "The second-stage deadline is already past.")


class SecondStage(State):
    """Two-stage: those who passed the first stage send their revised technical offer and their price."""

    status = Status.SECOND_STAGE
    moves = {
        Action.SUBMIT_BID: Status.SECOND_STAGE,
        Action.WITHDRAW_BID: Status.SECOND_STAGE,
        **_FAIL,
    }
    windows = {Action.SUBMIT_BID: Stage.SECOND_SUBMISSION, Action.WITHDRAW_BID: Stage.SECOND_SUBMISSION}
    ends_with = (Stage.SECOND_SUBMISSION, Action.CLOSE_SECOND_STAGE, Status.SECOND_STAGE_CLOSED)


class SecondStageClosed(State):
    status = Status.SECOND_STAGE_CLOSED
    moves = {Action.OPEN_PRICES: Status.EVALUATION, **_FAIL}


class Evaluation(State):
    status = Status.EVALUATION
    moves = {
        Action.EVALUATE: Status.EVALUATION,
        Action.QUALIFY: Status.EVALUATION,
        Action.ANNOUNCE_WINNER: Status.WINNER_ANNOUNCED,
        **_FAIL,
    }


class WinnerAnnounced(State):
    status = Status.WINNER_ANNOUNCED
    moves = {
        Action.OBJECT: Status.WINNER_ANNOUNCED,
        Action.ANSWER_OBJECTION: Status.WINNER_ANNOUNCED,
        Action.APPEAL: Status.WINNER_ANNOUNCED,
        Action.ANSWER_APPEAL: Status.WINNER_ANNOUNCED,
        Action.REOPEN_EVALUATION: Status.EVALUATION,
        **_FAIL,
    }

    def guard(self, facts: Facts, action: Action, now: datetime) -> None:
        if action is Action.OBJECT and (facts.objection_ends_at is None or now >= facts.objection_ends_at):
            raise Conflict("objection-period-over", "The objection period has ended.")
        if action is Action.APPEAL and facts.procurement_type is not ProcurementType.PEKERJAAN_KONSTRUKSI:
            raise Conflict("appeal-not-applicable", "Appeal (sanggah banding) applies to construction works only.")

    def timed(self, facts: Facts) -> Iterator[Timed]:
        # The award waits for every objection and appeal to be answered, however long after the period that is,
        # and for the appeal period after the last rejected objection.
        if facts.objection_ends_at is not None and facts.open_objections == 0 and facts.open_appeals == 0:
            at = max(facts.objection_ends_at, facts.appeal_window_ends_at or facts.objection_ends_at)
            yield Timed(at, Action.END_OBJECTION_PERIOD, Status.AWARDABLE)


class Awardable(State):
    status = Status.AWARDABLE
    moves = {Action.AWARD: Status.AWARDED, **_FAIL}


class Awarded(State):
    status = Status.AWARDED


class Failed(State):
    status = Status.FAILED
    moves = {Action.RETENDER: Status.FAILED}


class Cancelled(State):
    status = Status.CANCELLED


_TENDER_FLOW: dict[Status, State] = {
    cls.status: cls()
    for cls in (
        Draft,
        Assigned,
        Prequalification,
        PrequalificationEvaluation,
        Announced,
        Invited,
        Closed,
        TechnicalEvaluation,
        SecondStage,
        SecondStageClosed,
        Evaluation,
        WinnerAnnounced,
        Awardable,
        Awarded,
        Failed,
        Cancelled,
    )
}


class DirectAssigned(State):
    """A direct method handed to its Pejabat Pengadaan: no schedule, no announcement; it starts by inviting."""

    status = Status.ASSIGNED
    moves = {
        **_UNANNOUNCED,
        Action.INVITE_VENDORS: Status.NEGOTIATION,
        **_CLOSE,
    }


class Negotiation(State):
    """Invited vendors offer; the Pejabat Pengadaan judges their qualification and negotiates the price down,
    then concludes with one vendor, whom the PPK awards (SPK or purchase order)."""

    status = Status.NEGOTIATION
    moves = {
        Action.INVITE_VENDORS: Status.NEGOTIATION,
        Action.OFFER: Status.NEGOTIATION,
        Action.NEGOTIATE: Status.NEGOTIATION,
        Action.QUALIFY: Status.NEGOTIATION,
        Action.CONCLUDE: Status.AWARDABLE,
        **_FAIL,
    }

    def guard(self, facts: Facts, action: Action, now: datetime) -> None:
        if action is Action.INVITE_VENDORS and facts.method is Method.PENUNJUKAN_LANGSUNG:
            raise Conflict("one-vendor", "Penunjukan langsung invites one vendor, already invited.")


_DIRECT_FLOW: dict[Status, State] = {
    cls.status: cls() for cls in (Draft, DirectAssigned, Negotiation, Awardable, Awarded, Failed, Cancelled)
}


class AuctionAssigned(State):
    """Tender cepat handed to its Pokja: it sets the rounds, then announces (which invites the qualified)."""

    status = Status.ASSIGNED
    moves = {
        **_UNANNOUNCED,
        Action.SCHEDULE_ROUNDS: Status.ASSIGNED,
        Action.ANNOUNCE: Status.AUCTION,
        **_CLOSE,
    }

    def guard(self, facts: Facts, action: Action, now: datetime) -> None:
        if action is Action.ANNOUNCE:
            if not facts.rounds:
                raise Conflict("no-rounds", "Set the auction rounds before announcing.")
            if facts.rounds[0].ends_at <= now:
                raise Conflict("schedule-past", "The first round is already over; set the rounds again.")


class Auction(State):
    """Invited vendors lower their prices inside the round windows; each round's end publishes its ranking."""

    status = Status.AUCTION
    moves = {Action.AUCTION_BID: Status.AUCTION, **_FAIL}

    def guard(self, facts: Facts, action: Action, now: datetime) -> None:
        if action is Action.AUCTION_BID and auction.round_at(facts.rounds, now) is None:
            raise auction.outside_rounds(facts.rounds, now)

    def timed(self, facts: Facts) -> Iterator[Timed]:
        if facts.rounds_closed >= len(facts.rounds):
            return
        number = facts.rounds_closed + 1
        if number < len(facts.rounds):
            target = Status.AUCTION
        else:
            target = Status.AWARDABLE if facts.auction_bidders >= auction.MIN_BIDDERS else Status.FAILED
        yield Timed(facts.rounds[number - 1].ends_at, Action.CLOSE_ROUND, target, closes_round=number)


_AUCTION_FLOW: dict[Status, State] = {
    cls.status: cls() for cls in (Draft, AuctionAssigned, Auction, Awardable, Awarded, Failed, Cancelled)
}

FLOWS: dict[Method, dict[Status, State]] = {
    Method.TENDER: _TENDER_FLOW,
    Method.SELEKSI: _TENDER_FLOW,
    Method.PENGADAAN_LANGSUNG: _DIRECT_FLOW,
    Method.PENUNJUKAN_LANGSUNG: _DIRECT_FLOW,
    Method.TENDER_CEPAT: _AUCTION_FLOW,
}
TERMINAL = frozenset({Status.AWARDED, Status.FAILED, Status.CANCELLED})


def state_of(facts: Facts) -> State:
    return FLOWS[facts.method][facts.status]


def allowed(facts: Facts) -> list[Action]:
    return list(state_of(facts).moves)


def move(facts: Facts, action: Action, now: datetime) -> Status:
    """The status ``action`` leads to, or :class:`Conflict` if the state or its stage window refuses it."""
    state = state_of(facts)
    target = state.moves.get(action)
    if target is None:
        raise Conflict("wrong-state", f"A package in status {facts.status} does not accept {action}.")
    state.guard(facts, action, now)
    return target(facts) if callable(target) else target


def due(facts: Facts, now: datetime) -> Timed | None:
    """The time-driven transition that has fallen due, if any."""
    for timed in state_of(facts).timed(facts):
        if timed.at <= now:
            return timed
    return None


def next_due_at(facts: Facts) -> datetime | None:
    """When the next time-driven transition falls due (what the scheduler waits for)."""
    times = [t.at for t in state_of(facts).timed(facts)]
    return min(times) if times else None
