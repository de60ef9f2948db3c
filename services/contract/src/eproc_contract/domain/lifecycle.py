"""Contract states and which action each state allows.

draft -> signing (one party signed) -> signed (both) -> active (SPMK) -> handed_over (final BAST)
-> completed. A signed or active contract may instead be terminated (pemutusan) or stopped
(penghentian). completed, terminated and stopped are final.
"""

from __future__ import annotations

from datetime import date, timedelta

from eproc_contract.domain import ContractRuleError, StateConflict

DRAFT, SIGNING, SIGNED, ACTIVE, HANDED_OVER = "draft", "signing", "signed", "active", "handed_over"
COMPLETED, TERMINATED, STOPPED = "completed", "terminated", "stopped"
STATUSES = (DRAFT, SIGNING, SIGNED, ACTIVE, HANDED_OVER, COMPLETED, TERMINATED, STOPPED)
ENDED = frozenset({COMPLETED, TERMINATED, STOPPED})

ALLOWED: dict[str, frozenset[str]] = {
    "edit_draft": frozenset({DRAFT}),
    "submit_guarantee": frozenset({DRAFT, SIGNING, SIGNED, ACTIVE}),
    "sign": frozenset({DRAFT, SIGNING}),
    "start": frozenset({SIGNED}),
    "report_progress": frozenset({ACTIVE}),
    "pay_advance": frozenset({SIGNED, ACTIVE}),
    "pay_termin": frozenset({ACTIVE, HANDED_OVER}),
    "release_retention": frozenset({HANDED_OVER, COMPLETED}),
    "assess_penalty": frozenset({ACTIVE, HANDED_OVER}),
    "amend": frozenset({SIGNED, ACTIVE}),
    "hand_over_partial": frozenset({ACTIVE}),
    "hand_over_final": frozenset({ACTIVE}),
    "complete": frozenset({HANDED_OVER}),
    "end_early": frozenset({SIGNED, ACTIVE}),
    "rate": ENDED,
    "replace": frozenset({TERMINATED}),
}


def require(action: str, status: str) -> None:
    allowed = ALLOWED[action]
    if status not in allowed:
        wanted = ", ".join(s for s in STATUSES if s in allowed)
        raise StateConflict(
            "wrong-state", f"This contract is {status}; {action.replace('_', ' ')} needs it to be {wanted}."
        )


def planned_end(start: date, duration_days: int) -> date:
    """The last day of the work period: a 90-day contract starting 1 March ends on 29 May (both days count)."""
    if duration_days < 1:
        raise ContractRuleError("invalid-duration", "The duration must be at least one day.", field="duration_days")
    return start + timedelta(days=duration_days - 1)


def days_late(end: date, on: date) -> int:
    """Calendar days after the planned end: handing over on the planned end is on time (0)."""
    return max(0, (on - end).days)


def not_before(day: date, earliest: date | None, *, field: str, what: str) -> None:
    if earliest is not None and day < earliest:
        raise ContractRuleError("date-too-early", f"{field} cannot be before {what} ({earliest}).", field=field)


def not_in_future(day: date, today: date, *, field: str) -> None:
    if day > today:
        raise ContractRuleError("date-in-future", f"{field} cannot be after today ({today}).", field=field)
