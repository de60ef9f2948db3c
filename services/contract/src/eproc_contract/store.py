"""Reading and writing contract rows; the one place that knows the tables' shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_contract.models import amendments, contracts, payments, progress_reports
from eproc_shared.problems import ProblemError


def new_id() -> str:
    return uuid.uuid4().hex


def not_found() -> ProblemError:
    return ProblemError(404, "Not found", "No such contract.", slug="not-found")


async def get_contract(session: AsyncSession, contract_id: str, *, lock: bool = False) -> RowMapping:
    """The contract row; with ``lock`` it is held until the transaction ends, so two writes to one contract
    (two payments racing for the ceiling) run one after the other on PostgreSQL as they do on SQLite."""
    stmt = select(contracts).where(contracts.c.id == contract_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    if row is None:
        raise not_found()
    return row


async def find_by_source(session: AsyncSession, source_ref: str) -> RowMapping | None:
    return (await session.execute(select(contracts).where(contracts.c.source_ref == source_ref))).mappings().first()


async def set_contract(session: AsyncSession, contract_id: str, now: datetime, **values: Any) -> None:
    await session.execute(update(contracts).where(contracts.c.id == contract_id).values(updated_at=now, **values))


async def applied_amendments(session: AsyncSession, contract_id: str) -> list[RowMapping]:
    stmt = (
        select(amendments)
        .where(amendments.c.contract_id == contract_id, amendments.c.status == "signed")
        .order_by(amendments.c.number)
    )
    return list((await session.execute(stmt)).mappings().all())


async def milestone_percent(session: AsyncSession, contract_id: str, milestone: str) -> int | None:
    stmt = select(func.max(progress_reports.c.percent)).where(
        progress_reports.c.contract_id == contract_id, progress_reports.c.milestone == milestone
    )
    return await session.scalar(stmt)


async def paid_termins(session: AsyncSession, contract_id: str) -> set[int]:
    stmt = select(payments.c.termin).where(payments.c.contract_id == contract_id, payments.c.kind == "termin")
    return {t for t in (await session.scalars(stmt)).all() if t is not None}


async def has_payment(session: AsyncSession, contract_id: str, kind: str) -> bool:
    stmt = select(func.count()).where(payments.c.contract_id == contract_id, payments.c.kind == kind)
    return bool(await session.scalar(stmt))
