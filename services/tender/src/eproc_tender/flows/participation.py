"""Vendors joining a package (judged from the service's copy of vendor facts) and clarification questions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping

from eproc_shared.auth import Role, forbidden
from eproc_shared.events.types import tender as ev
from eproc_shared.problems import FieldProblem, ProblemError
from eproc_tender.clock import JAKARTA
from eproc_tender.domain import Conflict
from eproc_tender.domain.eligibility import Requirements, ineligibility_reasons
from eproc_tender.domain.machine import Action
from eproc_tender.domain.rules import Qualification
from eproc_tender.models import packages, participants, questions, vendor_facts
from eproc_tender.schemas import AnswerIn, QuestionIn
from eproc_tender.store import Ctx, act, act_as_pokja, emit, not_found


def vendor_of(ctx: Ctx) -> str:
    assert ctx.principal is not None
    if not ctx.principal.has_role(Role.VENDOR) or not ctx.principal.vendor_id:
        raise forbidden("Only a vendor account linked to a vendor may do this.")
    return ctx.principal.vendor_id


async def facts_for(ctx: Ctx, vendor_id: str) -> dict[str, Any] | None:
    row = (await ctx.session.execute(select(vendor_facts.c.facts).where(vendor_facts.c.vendor_id == vendor_id))).first()
    return row[0] if row else None


def ineligibility(ctx: Ctx, pkg: Mapping[str, Any], facts: dict[str, Any] | None) -> list[str]:
    """Why a vendor with these register facts may not take part in the package today (empty: it may)."""
    needs = Requirements(kbli_codes=pkg["kbli_codes"], size_classes=pkg["size_classes"])
    return ineligibility_reasons(facts, needs, ctx.now.astimezone(JAKARTA).date())


def vendor_ineligible(
    reasons: list[str],
    lead: str,
    *,
    status: int = 422,
    title: str = "Not eligible",
    field: str = "vendor_id",
    location: str = "token",
) -> ProblemError:
    """The refusal of an ineligible vendor, naming every reason on the field that names the vendor."""
    return ProblemError(
        status,
        title,
        f"{lead}: " + "; ".join(reasons) + ".",
        slug="vendor-ineligible",
        errors=[FieldProblem(field=field, location=location, message=r, code="ineligible") for r in reasons],
    )


async def participant(ctx: Ctx, package_id: str, vendor_id: str) -> RowMapping | None:
    stmt = select(participants).where(participants.c.package_id == package_id, participants.c.vendor_id == vendor_id)
    return (await ctx.session.execute(stmt)).mappings().first()


async def require_participant(
    ctx: Ctx, package_id: str, vendor_id: str, pkg: Mapping[str, Any] | None = None
) -> RowMapping:
    """A registered vendor; with prakualifikasi, one invited after passing it. ``pkg``: the package row if the
    caller has it (saves reading it again)."""
    row = await participant(ctx, package_id, vendor_id)
    if pkg is not None:
        qualification = pkg["qualification"]
    else:
        stmt = select(packages.c.qualification).where(packages.c.id == package_id)
        qualification = (await ctx.session.execute(stmt)).scalar_one()
    problem = participation_problem(row, Qualification(qualification) is Qualification.PRA)
    if problem is not None:
        raise problem
    assert row is not None
    return row


def participation_problem(row: Mapping[str, Any] | None, needs_invitation: bool) -> ProblemError | None:
    """Why a vendor with this participant ``row`` (None: not registered) may not take part, if it may not;
    ``needs_invitation``: the package qualifies first (prakualifikasi), so only those who passed are invited."""
    if row is None:
        return ProblemError(403, "Forbidden", "Register for this package first.", slug="not-a-participant")
    if needs_invitation and row["prequalified"] is not True:
        return ProblemError(403, "Forbidden", "Only vendors who passed prakualifikasi are invited.", slug="not-invited")
    return None


async def register(ctx: Ctx, package_id: str) -> RowMapping:
    vendor_id = vendor_of(ctx)
    pkg, _ = await act(ctx, package_id, Action.REGISTER, shared=True)
    if await participant(ctx, package_id, vendor_id):
        raise Conflict("already-registered", "This vendor is already registered for the package.")
    facts = await facts_for(ctx, vendor_id)
    reasons = ineligibility(ctx, pkg, facts)
    if reasons:
        raise vendor_ineligible(reasons, "This vendor may not join the package")
    assert facts is not None
    row = {
        "package_id": package_id,
        "vendor_id": vendor_id,
        "vendor_name": facts["legal_name"],
        "npwp": facts["npwp"],
        "registered_at": ctx.now,
    }
    await ctx.session.execute(insert(participants).values(**row))
    await emit(
        ctx,
        package_id,
        ev.TenderParticipantRegistered(
            package_id=package_id, vendor_id=vendor_id, vendor_name=facts["legal_name"], registered_at=ctx.now
        ),
    )
    return (await participant(ctx, package_id, vendor_id)) or not_found()  # type: ignore[return-value]


async def ask(ctx: Ctx, package_id: str, body: QuestionIn) -> dict[str, Any]:
    vendor_id = vendor_of(ctx)
    await act(ctx, package_id, Action.ASK, shared=True)
    await require_participant(ctx, package_id, vendor_id)
    row = {
        "id": str(uuid.uuid4()),
        "package_id": package_id,
        "vendor_id": vendor_id,
        "question": body.question,
        "asked_at": ctx.now,
    }
    await ctx.session.execute(insert(questions).values(**row))
    return row


async def answer(ctx: Ctx, package_id: str, question_id: str, body: AnswerIn) -> dict[str, Any]:
    await act_as_pokja(ctx, package_id, Action.ANSWER)
    stmt = select(questions).where(questions.c.id == question_id, questions.c.package_id == package_id)
    question = (await ctx.session.execute(stmt)).mappings().first()
    if question is None:
        raise not_found("question")
    if question["answered_at"] is not None:
        raise Conflict("already-answered", "This question is already answered.")
    await ctx.session.execute(
        update(questions)
        .where(questions.c.id == question_id)
        .values(answer=body.answer, answered_by=ctx.actor, answered_at=ctx.now)
    )
    await emit(
        ctx,
        package_id,
        ev.TenderQuestionAnswered(
            package_id=package_id,
            question_id=question_id,
            question=question["question"],
            answer=body.answer,
            answered_at=ctx.now,
        ),
    )
    return {"id": question_id, "question": question["question"], "answer": body.answer, "answered_at": ctx.now}
