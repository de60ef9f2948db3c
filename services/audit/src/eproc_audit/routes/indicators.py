"""Public: governance indicators per fiscal year, for the city and each OPD."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import select

from eproc_audit.indicators import PackageFacts, RecordFacts, compute
from eproc_audit.models import contracts, packages, recorded_purchases
from eproc_audit.projection import as_utc
from eproc_audit.routes.deps import ReadSession
from eproc_shared.problems import ProblemError

router = APIRouter(prefix="/public/indicators", tags=["public", "indicators"])
P = packages.c


FiscalYear = Annotated[int, Path(ge=2000, le=2100, description="Fiscal year (tahun anggaran).")]


async def _facts(session: ReadSession, fiscal_year: int, opd_id: str | None) -> list[PackageFacts]:
    stmt = select(packages).where(P.fiscal_year == fiscal_year)
    if opd_id is not None:
        stmt = stmt.where(P.opd_id == opd_id)
    rows = (await session.execute(stmt.order_by(P.package_id))).all()
    ids = [r.package_id for r in rows]
    by_package: dict[str, Any] = {}
    if ids:
        for c in (await session.execute(select(contracts).where(contracts.c.package_id.in_(ids)))).all():
            # A package whose first contract was terminated and replaced counts its latest signed contract.
            if c.package_id not in by_package or c.signed:
                by_package[c.package_id] = c
    facts = []
    for r in rows:
        c = by_package.get(r.package_id)
        facts.append(
            PackageFacts(
                package_id=r.package_id,
                opd_id=r.opd_id,
                fiscal_year=r.fiscal_year,
                method=r.method,
                pagu=r.pagu,
                hps=r.hps,
                announced_at=as_utc(r.announced_at),
                awarded_at=as_utc(r.awarded_at),
                awarded_price=r.awarded_price,
                bidders=r.bidders,
                ended=r.ended,
                contract_value=c.current_value if c is not None else None,
                e_contract_signed=bool(c is not None and c.signed),
                e_contract_completed=bool(c is not None and c.completed),
            )
        )
    return facts


async def _records(session: ReadSession, fiscal_year: int, opd_id: str | None) -> list[RecordFacts]:
    R = recorded_purchases.c
    stmt = select(R.record_id, R.opd_id, R.fiscal_year, R.kind, R.method, R.pagu, R.realised_value)
    stmt = stmt.where(R.fiscal_year == fiscal_year)
    if opd_id is not None:
        stmt = stmt.where(R.opd_id == opd_id)
    return [RecordFacts(*row) for row in (await session.execute(stmt.order_by(R.record_id))).all()]


@router.get("/{fiscal_year}", summary="Indicators of a fiscal year: the whole city and each OPD")
async def year(fiscal_year: FiscalYear, session: ReadSession) -> dict[str, Any]:
    facts = await _facts(session, fiscal_year, None)
    records = await _records(session, fiscal_year, None)
    opds = sorted({f.opd_id for f in facts if f.opd_id} | {r.opd_id for r in records})
    return {
        "fiscal_year": fiscal_year,
        "city": asdict(compute(facts, records)),
        "opds": {
            opd: asdict(compute((f for f in facts if f.opd_id == opd), (r for r in records if r.opd_id == opd)))
            for opd in opds
        },
    }


@router.get("/{fiscal_year}/opd/{opd_id}", summary="Indicators of one OPD in a fiscal year")
async def opd(fiscal_year: FiscalYear, opd_id: str, session: ReadSession) -> dict[str, Any]:
    facts = await _facts(session, fiscal_year, opd_id)
    records = await _records(session, fiscal_year, opd_id)
    if not facts and not records:
        detail = f"The log knows no package or recorded purchase of OPD {opd_id} in {fiscal_year}."
        raise ProblemError(404, "Not found", detail, slug="not-found")
    return {"fiscal_year": fiscal_year, "opd_id": opd_id, **asdict(compute(facts, records))}
