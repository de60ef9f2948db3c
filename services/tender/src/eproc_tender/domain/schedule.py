"""A package's schedule: stage windows judged by the server clock, and addenda that move them forward.

Working days follow the Indonesian public-holiday calendar of the ``holidays`` library (national
holidays, including the Islamic ones it computes), Saturdays and Sundays excluded, counted on
calendar dates in Asia/Jakarta.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import holidays

from eproc_tender.clock import JAKARTA
from eproc_tender.domain import DomainError


class Stage(StrEnum):
    ANNOUNCEMENT = "announcement"  # pengumuman
    REGISTRATION = "registration"  # pendaftaran dan download dokumen
    QUALIFICATION = "qualification"  # prakualifikasi: kirim data kualifikasi
    QUALIFICATION_EVALUATION = "qualification_evaluation"  # evaluasi, penetapan dan pengumuman hasil kualifikasi
    CLARIFICATION = "clarification"  # pemberian penjelasan (aanwijzing): questions and answers
    SUBMISSION = "submission"  # upload dokumen penawaran
    OPENING = "opening"  # pembukaan dokumen penawaran
    SECOND_SUBMISSION = "second_submission"  # dua tahap: penawaran tahap kedua (teknis perbaikan dan harga)
    EVALUATION = "evaluation"  # evaluasi penawaran dan kualifikasi
    WINNER_ANNOUNCEMENT = "winner_announcement"  # penetapan dan pengumuman pemenang


#: The stages a tender or seleksi schedule must have, in order (pascakualifikasi, one submission).
TENDER_STAGES: tuple[Stage, ...] = (
    Stage.ANNOUNCEMENT,
    Stage.REGISTRATION,
    Stage.CLARIFICATION,
    Stage.SUBMISSION,
    Stage.OPENING,
    Stage.EVALUATION,
    Stage.WINNER_ANNOUNCEMENT,
)


def stages_for(*, prequalification: bool, two_stage: bool) -> tuple[Stage, ...]:
    """The stages a package's schedule must have: prakualifikasi adds the qualification stages before the
    invitation, two-stage adds the second submission after the first opening."""
    extra = set()
    if prequalification:
        extra |= {Stage.QUALIFICATION, Stage.QUALIFICATION_EVALUATION}
    if two_stage:
        extra.add(Stage.SECOND_SUBMISSION)
    return tuple(s for s in Stage if s in TENDER_STAGES or s in extra)


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime

    def contains(self, now: datetime) -> bool:
        # The end is exclusive: a bid at exactly the deadline is late.
        return self.starts_at <= now < self.ends_at


Schedule = Mapping[Stage, Window]


def validate_schedule(schedule: Schedule, stages: tuple[Stage, ...] = TENDER_STAGES, *, exact: bool = False) -> None:
    """``exact``: stages outside ``stages`` are refused too (a new schedule names exactly the package's stages)."""
    missing = [s for s in stages if s not in schedule]
    if missing:
        raise DomainError("stage-missing", f"The schedule lacks: {', '.join(missing)}.", field=f"stages.{missing[0]}")
    unused = [s for s in schedule if s not in stages]
    if exact and unused:
        raise DomainError("stage-not-used", f"This package has no {unused[0]} stage.", field=f"stages.{unused[0]}")
    previous: tuple[Stage, Window] | None = None
    for stage in stages:
        window = schedule[stage]
        for name, value in (("starts_at", window.starts_at), ("ends_at", window.ends_at)):
            if value.tzinfo is None:
                raise DomainError("naive-time", "Times need a timezone (e.g. +07:00).", field=f"stages.{stage}.{name}")
        if window.ends_at <= window.starts_at:
            raise DomainError("stage-empty", f"{stage} must end after it starts.", field=f"stages.{stage}.ends_at")
        if previous and window.starts_at < previous[1].starts_at:
            raise DomainError(
                "stage-order",
                f"{stage} cannot start before {previous[0]}.",
                field=f"stages.{stage}.starts_at",
            )
        previous = (stage, window)
    if schedule[Stage.OPENING].starts_at < schedule[Stage.SUBMISSION].ends_at:
        raise DomainError(
            "opening-before-deadline",
            "Opening cannot start before the bid deadline.",
            field=f"stages.{Stage.OPENING}.starts_at",
        )
    if schedule[Stage.CLARIFICATION].ends_at > schedule[Stage.SUBMISSION].ends_at:
        raise DomainError(
            "clarification-after-deadline",
            "Clarification must end by the bid deadline.",
            field=f"stages.{Stage.CLARIFICATION}.ends_at",
        )
    if Stage.QUALIFICATION in stages:
        if schedule[Stage.REGISTRATION].ends_at > schedule[Stage.QUALIFICATION].ends_at:
            raise DomainError(
                "registration-after-qualification",
                "Registration must end by the end of the qualification stage.",
                field=f"stages.{Stage.REGISTRATION}.ends_at",
            )
        # The invitation (the announced shortlist) comes before the invited vendors' clarification.
        if schedule[Stage.QUALIFICATION_EVALUATION].ends_at > schedule[Stage.CLARIFICATION].starts_at:
            raise DomainError(
                "invitation-after-clarification",
                "Qualification results must be due before clarification starts.",
                field=f"stages.{Stage.QUALIFICATION_EVALUATION}.ends_at",
            )
    if (
        Stage.SECOND_SUBMISSION in stages
        and schedule[Stage.SECOND_SUBMISSION].starts_at < schedule[Stage.OPENING].ends_at
    ):
        raise DomainError(
            "second-stage-before-first-opening",
            "The second stage starts after the first-stage opening and its technical evaluation.",
            field=f"stages.{Stage.SECOND_SUBMISSION}.starts_at",
        )


@lru_cache(maxsize=32)
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("ID", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def whole_working_days_between(start: datetime, end: datetime) -> int:
    """Working days strictly after ``start``'s date and strictly before ``end``'s date, in Jakarta."""
    first = start.astimezone(JAKARTA).date() + timedelta(days=1)
    last = end.astimezone(JAKARTA).date()
    count, day = 0, first
    while day < last:
        count += is_working_day(day)
        day += timedelta(days=1)
    return count


def apply_addendum(
    current: Schedule,
    changes: Schedule,
    *,
    now: datetime,
    documents_changed: bool,
    min_working_days: int,
    stages: tuple[Stage, ...] = TENDER_STAGES,
) -> dict[Stage, Window]:
    """The schedule after an addendum: stages move only forward, ended stages stay, and a moved deadline
    (or changed documents) leaves ``min_working_days`` whole working days after the addendum."""
    if not changes and not documents_changed:
        raise DomainError("addendum-empty", "An addendum changes the schedule or the documents.", field="stages")
    updated = dict(current)
    for stage, window in changes.items():
        if stage not in current:
            raise DomainError("stage-not-used", f"This package has no {stage} stage.", field=f"stages.{stage}")
        old = current[stage]
        for name, new_value, old_value in (
            ("starts_at", window.starts_at, old.starts_at),
            ("ends_at", window.ends_at, old.ends_at),
        ):
            if new_value.tzinfo is None:
                raise DomainError("naive-time", "Times need a timezone.", field=f"stages.{stage}.{name}")
            if new_value < old_value:
                raise DomainError(
                    "schedule-backwards", "An addendum moves stage times only forward.", field=f"stages.{stage}.{name}"
                )
        if old.ends_at <= now and window != old:
            raise DomainError("stage-ended", f"{stage} has ended and cannot change.", field=f"stages.{stage}")
        updated[stage] = window
    validate_schedule(updated, tuple(s for s in stages if s in updated))
    # The deadline that matters is the next one still ahead (two-stage: the second once the first has passed).
    deadlines = [s for s in (Stage.SUBMISSION, Stage.SECOND_SUBMISSION) if s in updated and updated[s].ends_at > now]
    for deadline_stage in deadlines[:1]:
        deadline_moved = (
            deadline_stage in changes and changes[deadline_stage].ends_at != current[deadline_stage].ends_at
        )
        too_close = whole_working_days_between(now, updated[deadline_stage].ends_at) < min_working_days
        if (documents_changed or deadline_moved) and too_close:
            raise DomainError(
                "deadline-too-close",
                f"After an addendum the bid deadline must leave {min_working_days} whole working days "
                "(Indonesian calendar); move it later.",
                field=f"stages.{deadline_stage}.ends_at",
            )
    return updated
