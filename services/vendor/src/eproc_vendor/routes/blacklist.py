"""The blacklist (daftar hitam): proposals (from terminations) that an admin confirms, entries, revocation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import insert, select, update

from eproc_shared.auth import CurrentPrincipal, Role, requires
from eproc_shared.events.types.vendor import VendorBlacklisted, VendorBlacklistLifted
from eproc_shared.problems import FieldProblem, ProblemError
from eproc_shared.service_app import DbSession, Runtime
from eproc_vendor.clock import jakarta_today
from eproc_vendor.deps import Now, ReadSession
from eproc_vendor.domain import blacklist as bl
from eproc_vendor.domain.facts import BlacklistPeriod
from eproc_vendor.models import blacklist_entries, vendors
from eproc_vendor.publishing import period_out, refresh
from eproc_vendor.schemas import BlacklistIn, BlacklistOut, ConfirmIn, NoteIn
from eproc_vendor.store import new_id, not_found, record, require_vendor

router = APIRouter(tags=["blacklist"], dependencies=[requires(Role.ADMIN)])


def entry_out(row: Any, today: Any, vendor_name: str | None = None) -> BlacklistOut:
    period = BlacklistPeriod(
        row["id"],
        row["opd_id"],
        row["legal_basis"] or "",
        row["reason"],
        row["starts_on"],
        row["ends_on"],
        row["lifted_on"],
    )
    return BlacklistOut(
        entry_id=row["id"],
        vendor_id=row["vendor_id"],
        vendor_name=vendor_name,
        opd_id=row["opd_id"],
        legal_basis=row["legal_basis"],
        reason=row["reason"],
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        status=row["status"],
        lifted_on=row["lifted_on"],
        contract_id=row["contract_id"],
        in_force=row["status"] in (bl.CONFIRMED, bl.LIFTED) and period.covers(today),
    )


async def _entry(session: DbSession, entry_id: str) -> Any:
    row = (
        (await session.execute(select(blacklist_entries).where(blacklist_entries.c.id == entry_id).with_for_update()))
        .mappings()
        .first()
    )
    if row is None:
        raise not_found("blacklist entry")
    return row


def _period_problem(exc: bl.BlacklistError) -> ProblemError:
    return ProblemError(
        422,
        "Invalid period",
        str(exc),
        slug="validation",
        errors=[FieldProblem(field="ends_on", location="body", message=str(exc), code="invalid_period")],
    )


def _state_problem(exc: bl.BlacklistError) -> ProblemError:
    return ProblemError(409, "Blacklist entry is not in that state", str(exc), slug="blacklist-state")


async def _confirmed(session: DbSession, runtime: Runtime, row: Any, admin: str, now: Any) -> BlacklistOut:
    entry = await _entry(session, row["id"])
    period = BlacklistPeriod(
        entry["id"], entry["opd_id"], entry["legal_basis"] or "", entry["reason"], entry["starts_on"], entry["ends_on"]
    )
    await record(
        session,
        entry["vendor_id"],
        now,
        admin,
        "blacklisted",
        after={"entry_id": entry["id"], "ends_on": str(entry["ends_on"])},
    )
    if await session.scalar(select(vendors.c.id).where(vendors.c.id == entry["vendor_id"])) is not None:
        await refresh(
            session,
            runtime.outbox,
            entry["vendor_id"],
            now,
            "blacklisted",
            make_events=lambda loaded, facts: [
                VendorBlacklisted(
                    vendor_id=entry["vendor_id"],
                    entry=period_out(period),
                    confirmed_by=admin,
                    contract_id=entry["contract_id"],
                    facts=facts,
                )
            ],
        )
    return entry_out(entry, jakarta_today(now))


@router.post("/blacklist", response_model=BlacklistOut, status_code=201, summary="Enter a confirmed blacklist entry")
async def create_entry(
    body: BlacklistIn, principal: CurrentPrincipal, session: DbSession, runtime: Runtime, now: Now
) -> BlacklistOut:
    try:
        bl.check_period(body.starts_on, body.ends_on)
    except bl.BlacklistError as exc:
        raise _period_problem(exc) from exc
    await require_vendor(session, body.vendor_id, lock=True)
    entry_id = new_id()
    await session.execute(
        insert(blacklist_entries).values(
            id=entry_id,
            vendor_id=body.vendor_id,
            opd_id=body.opd_id,
            legal_basis=body.legal_basis,
            reason=body.reason,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            status=bl.CONFIRMED,
            contract_id=body.contract_id,
            proposed_by=principal.subject,
            proposed_at=now,
            decided_by=principal.subject,
            decided_at=now,
        )
    )
    return await _confirmed(session, runtime, {"id": entry_id}, principal.subject, now)


@router.get("/blacklist/proposals", response_model=list[BlacklistOut], summary="Proposals waiting for an admin")
async def proposals(session: ReadSession, now: Now) -> list[BlacklistOut]:
    rows = (
        await session.execute(
            select(blacklist_entries, vendors.c.legal_name)
            .join(vendors, vendors.c.id == blacklist_entries.c.vendor_id, isouter=True)
            .where(blacklist_entries.c.status == bl.PROPOSED)
            .order_by(blacklist_entries.c.proposed_at, blacklist_entries.c.id)
        )
    ).mappings()
    return [entry_out(r, jakarta_today(now), r["legal_name"]) for r in rows]


@router.post("/blacklist/proposals/{entry_id}/confirm", response_model=BlacklistOut, summary="Confirm a proposal")
async def confirm(
    entry_id: str, body: ConfirmIn, principal: CurrentPrincipal, session: DbSession, runtime: Runtime, now: Now
) -> BlacklistOut:
    row = await _entry(session, entry_id)
    try:
        status = bl.confirm(row["status"])
    except bl.BlacklistError as exc:
        raise _state_problem(exc) from exc
    starts_on, ends_on = body.starts_on or row["starts_on"], body.ends_on or row["ends_on"]
    try:
        bl.check_period(starts_on, ends_on)
    except bl.BlacklistError as exc:
        raise _period_problem(exc) from exc
    await session.execute(
        update(blacklist_entries)
        .where(blacklist_entries.c.id == entry_id)
        .values(
            status=status,
            legal_basis=body.legal_basis,
            starts_on=starts_on,
            ends_on=ends_on,
            decided_by=principal.subject,
            decided_at=now,
            decision_note=body.note,
        )
    )
    return await _confirmed(session, runtime, row, principal.subject, now)


@router.post("/blacklist/proposals/{entry_id}/dismiss", response_model=BlacklistOut, summary="Dismiss a proposal")
async def dismiss(
    entry_id: str, body: NoteIn, principal: CurrentPrincipal, session: DbSession, now: Now
) -> BlacklistOut:
    row = await _entry(session, entry_id)
    try:
        status = bl.dismiss(row["status"])
    except bl.BlacklistError as exc:
        raise _state_problem(exc) from exc
    await session.execute(
        update(blacklist_entries)
        .where(blacklist_entries.c.id == entry_id)
        .values(status=status, decided_by=principal.subject, decided_at=now, decision_note=body.reason)
    )
    await record(session, row["vendor_id"], now, principal.subject, "blacklist_dismissed", detail=body.reason)
    return entry_out(await _entry(session, entry_id), jakarta_today(now))


@router.post("/blacklist/{entry_id}/revoke", response_model=BlacklistOut, summary="Revoke an entry in force")
async def revoke(
    entry_id: str, body: NoteIn, principal: CurrentPrincipal, session: DbSession, runtime: Runtime, now: Now
) -> BlacklistOut:
    row = await _entry(session, entry_id)
    try:
        status = bl.revoke(row["status"])
    except bl.BlacklistError as exc:
        raise _state_problem(exc) from exc
    day = jakarta_today(now)
    await session.execute(
        update(blacklist_entries)
        .where(blacklist_entries.c.id == entry_id)
        .values(status=status, lifted_on=day, decided_by=principal.subject, decided_at=now, decision_note=body.reason)
    )
    await record(session, row["vendor_id"], now, principal.subject, "blacklist_revoked", detail=body.reason)
    await refresh(
        session,
        runtime.outbox,
        row["vendor_id"],
        now,
        "blacklist_lifted",
        make_events=lambda loaded, facts: [
            VendorBlacklistLifted(
                vendor_id=row["vendor_id"],
                entry_id=entry_id,
                lifted_on=day,
                cause="revoked",
                lifted_by=principal.subject,
                facts=facts,
            )
        ],
    )
    return entry_out(await _entry(session, entry_id), day)
