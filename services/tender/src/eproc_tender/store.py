"""Loading packages for an action, settling what time did to them, and the state-machine facts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from eproc_shared.auth import Principal, Role, forbidden
from eproc_shared.events import Event
from eproc_shared.outbox import Outbox
from eproc_shared.problems import ProblemError
from eproc_tender.domain import DomainError, machine
from eproc_tender.domain.machine import Facts, Status
from eproc_tender.domain.rules import EnvelopeSystem, Method, ProcurementType, Qualification
from eproc_tender.domain.schedule import Stage, Window
from eproc_tender.models import appeals, auction_prices, auction_rounds, objections, packages, stages
from eproc_tender.settings import TenderSettings

#: Where a transaction keeps the background workers (scheduler, importer) to wake once it commits.
_WAKE_KEY = "eproc_tender_wake"


@dataclass
class Ctx:
    """One unit of work: the transaction, the outbox, the time of the request and the caller."""

    session: AsyncSession
    outbox: Outbox
    settings: TenderSettings
    now: datetime
    principal: Principal | None = None
    scheduler: Any = None
    #: The network address the request came from (see routes/deps.py), for the audit trail of bids.
    client_address: str | None = None

    @property
    def actor(self) -> str:
        return self.principal.subject if self.principal else "system"


async def emit(ctx: Ctx, package_id: str, event: Event) -> None:
    """Write a package's event through the outbox, in the transaction of the change; keyed by the package, so
    its events keep their order."""
    await ctx.outbox.add(ctx.session, event, key=package_id, subject=package_id)


class Wakeable(Protocol):
    def wake(self) -> None: ...


def wake_after_commit(session: AsyncSession, worker: Wakeable | None) -> None:
    """Wake a background worker once this transaction commits (not before: it would read the old state)."""
    if worker is not None:
        session.sync_session.info.setdefault(_WAKE_KEY, {})[id(worker)] = worker


@sa_event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    for worker in session.info.pop(_WAKE_KEY, {}).values():
        worker.wake()


@sa_event.listens_for(Session, "after_rollback")
def _forget_workers(session: Session) -> None:
    session.info.pop(_WAKE_KEY, None)


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


async def load_rounds(session: AsyncSession, package_id: str) -> list[RowMapping]:
    """Tender cepat: the auction's rounds in order."""
    stmt = select(auction_rounds).where(auction_rounds.c.package_id == package_id).order_by(auction_rounds.c.number)
    return list((await session.execute(stmt)).mappings())


def round_windows(rounds: list[RowMapping]) -> tuple[Window, ...]:
    return tuple(Window(r["starts_at"], r["ends_at"]) for r in rounds)


async def auction_facts(session: AsyncSession, package_id: str, status: Status) -> dict[str, Any]:
    """Tender cepat: the rounds, how many have closed, and (while bidding runs) how many vendors priced."""
    rows = await load_rounds(session, package_id)
    bidders = 0
    if status is Status.AUCTION:
        count = select(func.count(func.distinct(auction_prices.c.vendor_id))).where(
            auction_prices.c.package_id == package_id
        )
        bidders = int((await session.execute(count)).scalar_one())
    return {
        "rounds": round_windows(rows),
        "rounds_closed": sum(1 for r in rows if r["closed_at"] is not None),
        "auction_bidders": bidders,
    }


async def facts_of(session: AsyncSession, pkg: Mapping[str, Any]) -> Facts:
    status = Status(pkg["status"])
    needs_schedule = status is not Status.DRAFT
    if pkg["method"] == Method.TENDER_CEPAT:
        return Facts(
            status=status,
            method=Method.TENDER_CEPAT,
            envelope=EnvelopeSystem(pkg["envelope_system"]),
            pokja_assigned=pkg["pokja_id"] is not None,
            qualification=Qualification(pkg["qualification"]),
            procurement_type=ProcurementType(pkg["procurement_type"]),
            **await auction_facts(session, pkg["id"], status),
        )
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
    values = {**values, "updated_at": ctx.now, "revision": packages.c.revision + 1}
    await ctx.session.execute(update(packages).where(packages.c.id == package_id).values(**values))
    row = await get_package(ctx.session, package_id)
    due_at = machine.next_due_at(await facts_of(ctx.session, row))
    if due_at != row["next_due_at"]:
        await ctx.session.execute(update(packages).where(packages.c.id == package_id).values(next_due_at=due_at))
        row = await get_package(ctx.session, package_id)
        wake_after_commit(ctx.session, ctx.scheduler)  # after the commit, so it reads the new due time
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
        if timed.closes_round is not None:
            # Closing an auction round publishes its ranking (and after the last, the winner or the failure).
            from eproc_tender.flows import auction

            pkg = await auction.close_round(ctx, pkg, timed)
        else:
            pkg = await set_status(ctx, pkg["id"], {"status": timed.target})
    return pkg


def effective(facts: Facts, now: datetime) -> Facts:
    """The facts once every due time-driven transition is applied, without writing anything."""
    for _ in range(len(Status)):
        timed = machine.due(facts, now)
        if timed is None:
            break
        facts = replace(facts, status=timed.target, rounds_closed=timed.closes_round or facts.rounds_closed)
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


class PackageSnapshots:
    """Package rows and their facts kept between requests, for the bid path only (:func:`peek`).

    A snapshot may be stale (another request or replica changed the package): whatever is prepared from it
    is written only if the package's ``revision`` is still the snapshot's, and a refusal judged from it is
    judged again from the database. Packages whose facts depend on more than their row and schedule (open
    objections after the winner is announced, tender cepat's prices) are not kept.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._items: dict[str, tuple[RowMapping, Facts]] = {}
        # Vendors seen taking part: the write checks them again (bid_writer), so the read may trust this.
        self._entrants: dict[tuple[str, str], None] = {}

    def get(self, package_id: str) -> tuple[RowMapping, Facts] | None:
        return self._items.get(package_id)

    def put(self, pkg: RowMapping, facts: Facts) -> None:
        if pkg["method"] == Method.TENDER_CEPAT or facts.status is Status.WINNER_ANNOUNCED:
            return
        if len(self._items) >= self.size:
            del self._items[next(iter(self._items))]  # the oldest
        self._items[pkg["id"]] = (pkg, facts)

    def drop(self, package_id: str) -> None:
        self._items.pop(package_id, None)

    def is_entrant(self, package_id: str, vendor_id: str) -> bool:
        return (package_id, vendor_id) in self._entrants

    def add_entrant(self, package_id: str, vendor_id: str) -> None:
        if len(self._entrants) >= self.size * 64:
            del self._entrants[next(iter(self._entrants))]  # the oldest
        self._entrants[(package_id, vendor_id)] = None


async def peek(
    ctx: Ctx, package_id: str, action: machine.Action, snapshots: PackageSnapshots | None = None
) -> tuple[RowMapping, Status]:
    """What :func:`act` with ``shared=True`` would say, without a lock and, given ``snapshots``, possibly from a
    kept snapshot: for work whose write then checks that the package's ``revision`` is still the one it had."""
    kept = snapshots.get(package_id) if snapshots is not None else None
    if kept is not None:
        pkg, facts = kept
        try:
            return pkg, machine.move(effective(facts, ctx.now), action, ctx.now)
        except DomainError:
            snapshots.drop(package_id)  # type: ignore[union-attr]  # perhaps stale: ask the database
    pkg = await get_package(ctx.session, package_id)
    facts = await facts_of(ctx.session, pkg)
    if snapshots is not None:
        snapshots.put(pkg, facts)
    return pkg, machine.move(effective(facts, ctx.now), action, ctx.now)


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


async def act_as_pokja(ctx: Ctx, package_id: str, action: machine.Action) -> tuple[RowMapping, Status]:
    """:func:`act` for an action only the package's Pokja takes."""
    pkg, target = await act(ctx, package_id, action)
    assert ctx.principal is not None
    ensure_pokja(ctx.principal, pkg)
    return pkg, target


async def act_as_ppk(ctx: Ctx, package_id: str, action: machine.Action) -> tuple[RowMapping, Status]:
    """:func:`act` for an action only the package's PPK takes."""
    pkg, target = await act(ctx, package_id, action)
    assert ctx.principal is not None
    ensure_ppk(ctx.principal, pkg)
    return pkg, target
