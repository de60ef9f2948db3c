"""The verification state machine of a record's items, and the vendor status that follows from them.

An item is edited (draft), submitted, taken up by a verifier (under verification), then verified or
rejected with a reason. An item that was verified keeps its verified content until a new version is
verified, so a change never hides what was already proved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DRAFT, SUBMITTED, UNDER_VERIFICATION, VERIFIED, REJECTED = (
    "draft",
    "submitted",
    "under_verification",
    "verified",
    "rejected",
)
PENDING = frozenset({SUBMITTED, UNDER_VERIFICATION})
SUBMITTABLE = frozenset({DRAFT})
SINGLE_KINDS = ("company", "kbli", "tax_status")
MULTI_KINDS = ("licence", "experience", "personnel", "equipment")


class TransitionError(ValueError):
    pass


@dataclass(frozen=True)
class ItemState:
    kind: str
    status: str


def after_edit() -> str:
    return DRAFT


def submit(status: str) -> str:
    if status not in SUBMITTABLE:
        raise TransitionError(f"an item that is {status} cannot be submitted")
    return SUBMITTED


def start(status: str) -> str:
    if status != SUBMITTED:
        raise TransitionError(f"an item that is {status} cannot be taken up for verification")
    return UNDER_VERIFICATION


def decide(status: str, accept: bool) -> str:
    if status not in PENDING:
        raise TransitionError(f"an item that is {status} is not waiting for verification")
    return VERIFIED if accept else REJECTED


def vendor_status(items: Iterable[ItemState], ever_verified: bool) -> str:
    """Once verified, a vendor stays verified while changes wait (their old verified versions still count)."""
    items = list(items)
    if ever_verified:
        return VERIFIED
    statuses = {i.status for i in items}
    company = next((i.status for i in items if i.kind == "company"), None)
    if UNDER_VERIFICATION in statuses:
        return UNDER_VERIFICATION
    if SUBMITTED in statuses:
        return SUBMITTED
    if company == VERIFIED:
        return VERIFIED
    if company == REJECTED or REJECTED in statuses:
        return REJECTED
    return "registered"
