"""Assignment letters (surat tugas): administrators register and revoke them; auditors see their own."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import insert, select, update

from eproc_audit.assignments import Assignment, check_new
from eproc_audit.clock import jakarta_today
from eproc_audit.models import assignment_packages, assignments
from eproc_audit.routes.deps import ClockDep
from eproc_audit.timelines import load_assignments
from eproc_shared.auth import CurrentPrincipal, Principal, Role, require_roles, requires
from eproc_shared.events.types.audit import AuditAssignmentRegistered, AuditAssignmentRevoked
from eproc_shared.problems import ProblemError
from eproc_shared.service_app import DbSession, Runtime

router = APIRouter(prefix="/assignments", tags=["e-audit"])

Text = Annotated[str, Field(min_length=1, max_length=200)]


class AssignmentIn(BaseModel):
    auditor_id: Text = Field(description="The auditor's user id (`sub` of its tokens).")
    letter_number: Text = Field(description="Number of the assignment letter (surat tugas).")
    package_ids: list[Text] = Field(default_factory=list, max_length=1000)
    opd_id: Text | None = None
    fiscal_year: int | None = Field(default=None, ge=2000, le=2100)
    valid_from: date = Field(description="First day, Asia/Jakarta, inclusive.")
    valid_until: date = Field(description="Last day, Asia/Jakarta, inclusive.")
    note: str | None = Field(default=None, max_length=2000)


class AssignmentOut(BaseModel):
    id: str
    auditor_id: str
    letter_number: str
    package_ids: list[str]
    opd_id: str | None
    fiscal_year: int | None
    valid_from: date
    valid_until: date
    revoked_at: datetime | None
    active: bool = Field(description="Valid today (Asia/Jakarta) and not revoked.")


def _out(a: Assignment, today: date) -> AssignmentOut:
    return AssignmentOut(
        id=a.id,
        auditor_id=a.auditor_id,
        letter_number=a.letter_number,
        package_ids=sorted(a.package_ids),
        opd_id=a.opd_id,
        fiscal_year=a.fiscal_year,
        valid_from=a.valid_from,
        valid_until=a.valid_until,
        revoked_at=a.revoked_at,
        active=a.active_on(today),
    )


@router.post("", response_model=AssignmentOut, status_code=201, dependencies=[requires(Role.ADMIN)])
async def register(
    body: AssignmentIn, session: DbSession, runtime: Runtime, principal: CurrentPrincipal, clock: ClockDep
) -> AssignmentOut:
    """Register an assignment: packages, or an OPD and a fiscal year, for a period."""
    packages = sorted(set(body.package_ids))
    problems = check_new(
        package_ids=packages,
        opd_id=body.opd_id,
        fiscal_year=body.fiscal_year,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
    )
    if problems:
        raise ProblemError(422, "Invalid assignment", problems[0].message, slug="validation", errors=problems)
    now = clock()
    ident = str(uuid.uuid4())
    await session.execute(
        insert(assignments).values(
            id=ident,
            auditor_id=body.auditor_id,
            letter_number=body.letter_number,
            opd_id=body.opd_id,
            fiscal_year=body.fiscal_year,
            valid_from=body.valid_from,
            valid_until=body.valid_until,
            note=body.note,
            created_by=principal.subject,
            created_at=now,
        )
    )
    if packages:
        await session.execute(
            insert(assignment_packages), [{"assignment_id": ident, "package_id": p} for p in packages]
        )
    await runtime.outbox.add(
        session,
        AuditAssignmentRegistered(
            assignment_id=ident,
            auditor_id=body.auditor_id,
            letter_number=body.letter_number,
            package_ids=packages,
            opd_id=body.opd_id,
            fiscal_year=body.fiscal_year,
            valid_from=body.valid_from,
            valid_until=body.valid_until,
            registered_by=principal.subject,
        ),
        key=ident,
        subject=f"assignment/{ident}",
    )
    assignment = Assignment(
        id=ident,
        auditor_id=body.auditor_id,
        letter_number=body.letter_number,
        package_ids=frozenset(packages),
        opd_id=body.opd_id,
        fiscal_year=body.fiscal_year,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
    )
    return _out(assignment, jakarta_today(now))


@router.get("", response_model=list[AssignmentOut])
async def list_assignments(
    session: DbSession,
    clock: ClockDep,
    principal: Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.AUDITOR))],
    auditor_id: Annotated[str | None, Query(description="Admins: one auditor's assignments.")] = None,
) -> list[AssignmentOut]:
    """Admins see every assignment (or one auditor's); an auditor sees its own."""
    today = jakarta_today(clock())
    if not principal.is_admin:
        auditor_id = principal.subject
    if auditor_id is None:
        ids = (await session.execute(select(assignments.c.auditor_id).distinct())).scalars().all()
    else:
        ids = [auditor_id]
    found: list[Assignment] = []
    for auditor in sorted(ids):
        found.extend(await load_assignments(session, auditor))
    return [_out(a, today) for a in sorted(found, key=lambda a: (a.valid_from, a.id))]


@router.post("/{assignment_id}/revoke", response_model=AssignmentOut, dependencies=[requires(Role.ADMIN)])
async def revoke(
    assignment_id: str, session: DbSession, runtime: Runtime, principal: CurrentPrincipal, clock: ClockDep
) -> AssignmentOut:
    """End an assignment at once (the auditor loses access immediately)."""
    row = (
        await session.execute(select(assignments).where(assignments.c.id == assignment_id).with_for_update())
    ).first()
    if row is None:
        raise ProblemError(404, "Not found", f"No assignment {assignment_id}.", slug="not-found")
    if row.revoked_at is not None:
        raise ProblemError(409, "Already revoked", "This assignment was revoked before.", slug="already-revoked")
    now = clock()
    await session.execute(
        update(assignments)
        .where(assignments.c.id == assignment_id)
        .values(revoked_at=now, revoked_by=principal.subject)
    )
    await runtime.outbox.add(
        session,
        AuditAssignmentRevoked(assignment_id=assignment_id, auditor_id=row.auditor_id, revoked_by=principal.subject),
        key=assignment_id,
        subject=f"assignment/{assignment_id}",
    )
    revoked = [a for a in await load_assignments(session, row.auditor_id) if a.id == assignment_id]
    return _out(revoked[0], jakarta_today(now))
