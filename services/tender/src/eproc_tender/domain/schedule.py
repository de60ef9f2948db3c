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
    CLARIFICATION = "clarification"  # pemberian penjelasan (aanwijzing): questions and answers
    SUBMISSION = "submission"  # upload dokumen penawaran
    OPENING = "opening"  # pembukaan dokumen penawaran
    EVALUATION = "evaluation"  # evaluasi penawaran dan kualifikasi
    WINNER_ANNOUNCEMENT = "winner_announcement"  # penetapan dan pengumuman pemenang


#: The stages a tender or seleksi schedule must have, in order.
TENDER_STAGES: tuple[Stage, ...] = tuple(Stage)


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime

    def contains(self, now: datetime) -> bool:
        # The end is exclusive: a bid at exactly the deadline is late.
        return self.starts_at <= now < self.ends_at


Schedule = Mapping[Stage, Window]


def validate_schedule(schedule: Schedule, stages: tuple[Stage, ...] = TENDER_STAGES) -> None:
    missing = [s for s in stages if s not in schedule]
    if missing:
        raise DomainError("stage-missing", f"The schedule lacks: {', '.join(missing)}.", field=f"stages.{missing[0]}")
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
) -> dict[Stage, Window]:
    """The schedule after an addendum: stages move only forward, ended stages stay, and a moved deadline
    (or changed documents) leaves ``min_working_days`` whole working days after the addendum."""
    if not changes and not documents_changed:
        raise DomainError("addendum-empty", "An addendum changes the schedule or the documents.", field="stages")
    updated = dict(current)
    for stage, window in changes.items():
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
    validate_schedule(updated, tuple(s for s in TENDER_STAGES if s in updated))
    deadline_moved = (
        Stage.SUBMISSION in changes and changes[Stage.SUBMISSION].ends_at != current[Stage.SUBMISSION].ends_at
    )
    if (documents_changed or deadline_moved) and min_working_days:
        deadline = updated[Stage.SUBMISSION].ends_at
        if whole_working_days_between(now, deadline) < min_working_days:
            raise DomainError(
                "deadline-too-close",
                f"After an addendum the bid deadline must leave {min_working_days} whole working days "
                "(Indonesian calendar); move it later.",
                field=f"stages.{Stage.SUBMISSION}.ends_at",
            )
    return updated
