"""Loading packages for an action, settling what time did to them, and the state-machine facts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_shared.auth import Principal, Role, forbidden
from eproc_shared.outbox import Outbox
from eproc_shared.problems import ProblemError
from eproc_tender.domain import machine
from eproc_tender.domain.machine import Facts, Status
from eproc_tender.domain.rules import EnvelopeSystem, Method, ProcurementType, Qualification
from eproc_tender.domain.schedule import Stage, Window
from eproc_tender.models import appeals, objections, packages, stages
from eproc_tender.settings import TenderSettings

SCHEDULER_KEY = "eproc_tender_scheduler"


@dataclass
class Ctx:
    """One unit of work: the transaction, the outbox, the time of the request and the caller."""

    session: AsyncSession
    outbox: Outbox
    settings: TenderSettings
    now: datetime
    principal: Principal | None = None
    scheduler: Any = None

    @property
    def actor(self) -> str:
        return self.principal.subject if self.principal else "system"


def not_found(what: str = "package") -> ProblemError:
    return ProblemError(404, "Not found", f"No such {what}.", slug="not-found")


async def load_schedule(session: AsyncSession, package_id: str) -> dict[Stage, Window]:
    rows = (await session.execute(select(stages).where(stages.c.package_id == package_id))).mappings()
    return {Stage(r["stage"]): Window(r["starts_at"], r["ends_at"]) for r in rows}


async def open_objection_count(session: AsyncSession, package_id: str) -> int:
    stmt = select(func.count()).where(objections.c.package_id == package_id, objections.c.answered_at.is_(None))
    return int((await session.execute(stmt)).scalar_one())


async def open_appeal_count(session: AsyncSession, package_id: str) -> int:
    stmt = select(func.count()).where(appeals.c.package_id == package_id, appeals.c.answered_at.is_(None))
    return int((await session.execute(stmt)).scalar_one())


async def facts_of(session: AsyncSession, pkg: Mapping[str, Any]) -> Facts:
    status = Status(pkg["status"])
    needs_schedule = status is not Status.DRAFT
    return Facts(
        status=status,
        method=Method(pkg["method"]),
        envelope=EnvelopeSystem(pkg["envelope_system"]),
        schedule=(await load_schedule(session, pkg["id"]) or None) if needs_schedule else None,
        pokja_assigned=pkg["pokja_id"] is not None,
        objection_ends_at=pkg["objection_ends_at"],
        open_objections=await open_objection_count(session, pkg["id"]) if status is Status.WINNER_ANNOUNCED else 0,
        qualification=Qualification(pkg["qualification"]),
        procurement_type=ProcurementType(pkg["procurement_type"]),
        open_appeals=await open_appeal_count(session, pkg["id"]) if status is Status.WINNER_ANNOUNCED else 0,
        appeal_window_ends_at=pkg["appeal_window_ends_at"],
    )


async def lock_package(ctx: Ctx, package_id: str, *, shared: bool = False) -> RowMapping:
    """The package row, locked for this transaction (PostgreSQL; SQLite serialises writers anyway)."""
    stmt = select(packages).where(packages.c.id == package_id).with_for_update(read=shared)
    row = (await ctx.session.execute(stmt)).mappings().first()
    if row is None:
        raise not_found()
    return row


async def get_package(session: AsyncSession, package_id: str) -> RowMapping:
    """The package row for reading (no lock)."""
    row = (await session.execute(select(packages).where(packages.c.id == package_id))).mappings().first()
    if row is None:
        raise not_found()
    return row


async def set_status(ctx: Ctx, package_id: str, values: dict[str, Any]) -> RowMapping:
    """Write a change to a package and recompute when its next time-driven transition falls due."""
    values = {**values, "updated_at": ctx.now}
    await ctx.session.execute(update(packages).where(packages.c.id == package_id).values(**values))
    row = (await ctx.session.execute(select(packages).where(packages.c.id == package_id))).mappings().one()
    due_at = machine.next_due_at(await facts_of(ctx.session, row))
    if due_at != row["next_due_at"]:
        await ctx.session.execute(update(packages).where(packages.c.id == package_id).values(next_due_at=due_at))
        row = (await ctx.session.execute(select(packages).where(packages.c.id == package_id))).mappings().one()
        if ctx.scheduler is not None:
            # Woken after the commit (see scheduler.py), so it reads the new due time.
            ctx.session.sync_session.info[SCHEDULER_KEY] = ctx.scheduler
    return row


async def settle(ctx: Ctx, pkg: RowMapping) -> RowMapping:
    """Apply every time-driven transition that has fallen due (the scheduler does this too; so does any action
    on the package first, so a late scheduler never lets an action through that time has closed)."""
    for _ in range(len(Status)):
        facts = await facts_of(ctx.session, pkg)
        timed = machine.due(facts, ctx.now)
        if timed is None:
            if pkg["next_due_at"] is not None and pkg["next_due_at"] <= ctx.now:
                pkg = await set_status(ctx, pkg["id"], {})  # a stale due time: recompute it
            return pkg
        pkg = await set_status(ctx, pkg["id"], {"status": timed.target})
    return pkg


def effective(facts: Facts, now: datetime) -> Facts:
    """The facts once every due time-driven transition is applied, without writing anything."""
    for _ in range(len(Status)):
        timed = machine.due(facts, now)
        if timed is None:
            break
        facts = replace(facts, status=timed.target)
    return facts


async def act(ctx: Ctx, package_id: str, action: machine.Action, *, shared: bool = False) -> tuple[RowMapping, Status]:
    """Lock the package, apply what time did to it, and ask the machine where ``action`` leads (409 if nowhere).

    ``shared``: the action adds rows beside the package (bids, questions) and many run at once, so they take
    a shared lock and leave writing the package itself to the scheduler: two sharers upgrading to a write
    would deadlock, and the deadline rush must not queue on one row.
    """
    pkg = await lock_package(ctx, package_id, shared=shared)
    if shared:
        facts = effective(await facts_of(ctx.session, pkg), ctx.now)
    else:
        pkg = await settle(ctx, pkg)
        facts = await facts_of(ctx.session, pkg)
    return pkg, machine.move(facts, action, ctx.now)


def ensure_ppk(principal: Principal, pkg: Mapping[str, Any]) -> None:
    """A PPK manages only its OPD's packages; admins pass."""
    if principal.is_admin:
        return
    if not principal.has_role(Role.PPK):
        raise forbidden("Only the package's PPK may do this.")
    if principal.opd_id != pkg["opd_id"]:
        raise forbidden("This package belongs to another agency (OPD).")


def pokja_members(pkg: Mapping[str, Any]) -> list[str]:
    """Who acts for the package's Pokja: its named members, or the one Pokja account it was handed to."""
    if pkg["pokja_members"]:
        return list(pkg["pokja_members"])
    return [pkg["pokja_id"]] if pkg["pokja_id"] else []


def is_pokja_member(principal: Principal | None, pkg: Mapping[str, Any]) -> bool:
    return principal is not None and principal.has_role(Role.POKJA) and principal.subject in pokja_members(pkg)


def ensure_pokja(principal: Principal, pkg: Mapping[str, Any]) -> None:
    """Only the Pokja the package was handed to runs it; any one of its members acts for it."""
    if not is_pokja_member(principal, pkg):
        raise forbidden("Only the Pokja assigned to this package may do this.")
