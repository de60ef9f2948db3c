"""Reading the log: timelines per package, vendor, contract and OPD, limited to an auditor's scope.

What is shown of an entry comes from its hashed bytes (``canonical``), never from the query
columns, so a timeline shows exactly what verification checks.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_audit.assignments import Assignment, Scope
from eproc_audit.models import assignment_packages, assignments, contract_packages, log_entries, package_facts

Kind = Literal["package", "vendor", "contract", "opd"]
L = log_entries.c


class TimelineEntry(BaseModel):
    seq: int
    hash: str = Field(description="The entry's chain hash (hex SHA-256).")
    received_at: datetime = Field(description="When the audit service received the event.")
    type: str
    source: str
    event_id: str
    time: str | None = Field(description="The event's own time, as the producer sent it.")
    subject: str | None = None
    key: str | None = None
    actor: str | None = None
    package_id: str | None = None
    opd_id: str | None = None
    vendor_id: str | None = None
    contract_id: str | None = None
    data: Any = Field(description="The event's payload as received (or data_base64 if not plain JSON).")


def entry_from_row(row: Any) -> TimelineEntry:
    document = json.loads(row.canonical)
    event = document["event"]
    return TimelineEntry(
        seq=row.seq,
        hash=row.hash,
        received_at=document["received_at"],
        type=event["type"],
        source=event["source"],
        event_id=event["id"],
        time=event.get("time"),
        subject=event.get("subject"),
        key=document.get("key"),
        actor=row.actor,
        package_id=row.package_id,
        opd_id=row.opd_id,
        vendor_id=row.vendor_id,
        contract_id=row.contract_id,
        data=event["data"] if "data" in event else {"data_base64": event.get("data_base64")},
    )


async def load_assignments(session: AsyncSession, auditor_id: str) -> list[Assignment]:
    rows = (await session.execute(select(assignments).where(assignments.c.auditor_id == auditor_id))).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    packages: dict[str, set[str]] = {i: set() for i in ids}
    for link in (
        await session.execute(select(assignment_packages).where(assignment_packages.c.assignment_id.in_(ids)))
    ).all():
        packages[link.assignment_id].add(link.package_id)
    return [
        Assignment(
            id=r.id,
            auditor_id=r.auditor_id,
            letter_number=r.letter_number,
            package_ids=frozenset(packages[r.id]),
            opd_id=r.opd_id,
            fiscal_year=r.fiscal_year,
            valid_from=r.valid_from,
            valid_until=r.valid_until,
            revoked_at=r.revoked_at,
        )
        for r in rows
    ]


def _scoped_packages(scope: Scope) -> ColumnElement[bool]:
    """Condition on a package id column's values: the packages the scope covers."""
    by_opd = [and_(package_facts.c.opd_id == o, package_facts.c.fiscal_year == y) for o, y in sorted(scope.opd_years)]
    return or_(
        package_facts.c.package_id.in_(sorted(scope.package_ids)) if scope.package_ids else false(),
        or_(*by_opd) if by_opd else false(),
    )


def _package_ids(scope: Scope) -> Select[Any]:
    return select(package_facts.c.package_id).where(_scoped_packages(scope))


def visible(scope: Scope) -> ColumnElement[bool]:
    """The entries an auditor may read: its packages (named, or of its OPD and year), their contracts,
    and events of its OPD and fiscal year."""
    packages = or_(
        L.package_id.in_(sorted(scope.package_ids)) if scope.package_ids else false(),
        L.package_id.in_(_package_ids(scope)),
    )
    named_contracts = select(contract_packages.c.contract_id).where(
        or_(
            contract_packages.c.package_id.in_(sorted(scope.package_ids)) if scope.package_ids else false(),
            contract_packages.c.package_id.in_(_package_ids(scope)),
        )
    )
    opd_level = [and_(L.opd_id == o, L.fiscal_year == y) for o, y in sorted(scope.opd_years)]
    # The audit service's own events (assignments, other auditors' reads) are not procurement history.
    return and_(or_(packages, L.contract_id.in_(named_contracts), *opd_level), ~L.type.startswith("audit."))


def resource(kind: Kind, ident: str) -> ColumnElement[bool]:
    if kind == "package":
        contracts = select(contract_packages.c.contract_id).where(contract_packages.c.package_id == ident)
        return or_(L.package_id == ident, L.contract_id.in_(contracts))
    if kind == "contract":
        return L.contract_id == ident
    if kind == "vendor":
        return L.vendor_id == ident
    packages = select(package_facts.c.package_id).where(package_facts.c.opd_id == ident)
    contracts = select(contract_packages.c.contract_id).where(contract_packages.c.package_id.in_(packages))
    return or_(L.opd_id == ident, L.package_id.in_(packages), L.contract_id.in_(contracts))


async def may_open(session: AsyncSession, scope: Scope, kind: Kind, ident: str) -> bool:
    """Whether an auditor may open this resource at all (vendor and OPD timelines are filtered instead)."""
    if scope.empty:
        return False
    if kind == "package":
        package: str | None = ident
    elif kind == "contract":
        package = await session.scalar(
            select(contract_packages.c.package_id).where(contract_packages.c.contract_id == ident)
        )
    else:
        return True
    if package is None:
        return False
    if package in scope.package_ids:
        return True
    facts = (await session.execute(select(package_facts).where(package_facts.c.package_id == package))).first()
    return facts is not None and (facts.opd_id, facts.fiscal_year) in scope.opd_years


def entries_query(
    condition: ColumnElement[bool],
    *,
    since: datetime | None,
    until: datetime | None,
    actor: str | None,
    types: list[str],
) -> Select[Any]:
    stmt = select(L.seq, L.hash, L.canonical, L.actor, L.package_id, L.opd_id, L.vendor_id, L.contract_id).where(
        condition
    )
    if since is not None:
        stmt = stmt.where(L.event_time >= since)
    if until is not None:
        stmt = stmt.where(L.event_time < until)
    if actor:
        stmt = stmt.where(L.actor == actor)
    if types:
        stmt = stmt.where(L.type.in_(types))
    return stmt
