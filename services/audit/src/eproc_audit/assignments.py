"""Assignment letters (surat tugas): what an auditor may read, and when. Plain rules, no HTTP.

An assignment names either packages, or an OPD and a fiscal year (then it covers every package the
log knows for that OPD and year, their contracts, and OPD-level events of that year). It is valid
from ``valid_from`` to ``valid_until`` inclusive, as calendar dates in Asia/Jakarta, unless revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from eproc_shared.problems import FieldProblem


@dataclass(frozen=True)
class Assignment:
    id: str
    auditor_id: str
    letter_number: str
    package_ids: frozenset[str]
    opd_id: str | None
    fiscal_year: int | None
    valid_from: date
    valid_until: date
    revoked_at: datetime | None = None

    def active_on(self, today: date) -> bool:
        return self.revoked_at is None and self.valid_from <= today <= self.valid_until


@dataclass(frozen=True)
class Scope:
    """The union of an auditor's active assignments."""

    assignment_ids: tuple[str, ...]
    package_ids: frozenset[str]
    opd_years: frozenset[tuple[str, int]]

    @property
    def empty(self) -> bool:
        return not self.assignment_ids

    @classmethod
    def of(cls, assignments: list[Assignment], today: date) -> Scope:
        active = [a for a in assignments if a.active_on(today)]
        return cls(
            assignment_ids=tuple(sorted(a.id for a in active)),
            package_ids=frozenset(p for a in active for p in a.package_ids),
            opd_years=frozenset(
                (a.opd_id, a.fiscal_year) for a in active if a.opd_id is not None and a.fiscal_year is not None
            ),
        )


def check_new(
    *, package_ids: list[str], opd_id: str | None, fiscal_year: int | None, valid_from: date, valid_until: date
) -> list[FieldProblem]:
    problems = []
    if package_ids and (opd_id or fiscal_year is not None):
        problems.append(
            FieldProblem(
                field="package_ids",
                location="body",
                message="Name either packages or an OPD and a fiscal year, not both.",
                code="exclusive",
            )
        )
    elif not package_ids and not (opd_id and fiscal_year is not None):
        missing = "opd_id" if not opd_id else "fiscal_year"
        problems.append(
            FieldProblem(
                field=missing if (opd_id or fiscal_year is not None) else "package_ids",
                location="body",
                message="An assignment names packages, or an OPD together with a fiscal year.",
                code="required",
            )
        )
    if valid_until < valid_from:
        problems.append(
            FieldProblem(
                field="valid_until",
                location="body",
                message="The assignment cannot end before it starts.",
                code="before_start",
            )
        )
    return problems
