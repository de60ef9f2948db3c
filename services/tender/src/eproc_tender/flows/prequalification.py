"""Prakualifikasi: registered vendors send their qualification data, the Pokja judges each, and the
announced shortlist decides who is invited to bid (only they may ask, bid and object afterwards)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping

from eproc_shared.events.types import tender as ev
from eproc_tender.domain import Conflict, DomainError
from eproc_tender.domain.machine import Action
from eproc_tender.flows.packages import fail
from eproc_tender.flows.participation import participant, vendor_of
from eproc_tender.models import participants
from eproc_tender.schemas import PrequalificationJudgementIn, QualificationIn
from eproc_tender.store import Ctx, act, act_as_pokja, emit, not_found, set_status


async def submit(ctx: Ctx, package_id: str, body: QualificationIn) -> RowMapping:
    vendor_id = vendor_of(ctx)
    await act(ctx, package_id, Action.SUBMIT_QUALIFICATION, shared=True)
    if await participant(ctx, package_id, vendor_id) is None:
        raise Conflict("not-registered", "Register for this package before sending qualification data.")
    # A later submission inside the stage replaces the earlier one, as bids do.
    await ctx.session.execute(
        update(participants)
        .where(participants.c.package_id == package_id, participants.c.vendor_id == vendor_id)
        .values(qualification_statement=body.statement, qualification_submitted_at=ctx.now)
    )
    row = await participant(ctx, package_id, vendor_id)
    assert row is not None
    return row


async def judge(ctx: Ctx, package_id: str, vendor_id: str, body: PrequalificationJudgementIn) -> RowMapping:
    await act_as_pokja(ctx, package_id, Action.JUDGE_QUALIFICATION)
    if not body.passed and not body.reason:
        raise DomainError("reason-required", "A failing result needs a reason.", field="reason")
    row = await participant(ctx, package_id, vendor_id)
    if row is None:
        raise not_found("participant")
    if row["qualification_submitted_at"] is None and body.passed:
        raise Conflict("no-qualification-data", "This vendor sent no qualification data: it cannot pass.")
    await ctx.session.execute(
        update(participants)
        .where(participants.c.package_id == package_id, participants.c.vendor_id == vendor_id)
        .values(prequalified=body.passed, prequalification_reason=body.reason)
    )
    return await set_status(ctx, package_id, {})


async def announce_shortlist(ctx: Ctx, package_id: str) -> RowMapping:
    pkg, target = await act_as_pokja(ctx, package_id, Action.ANNOUNCE_SHORTLIST)
    rows = list(
        (
            await ctx.session.execute(
                select(participants)
                .where(participants.c.package_id == package_id)
                .order_by(participants.c.registered_at, participants.c.vendor_id)
            )
        ).mappings()
    )
    unjudged = [
        r["vendor_id"] for r in rows if r["qualification_submitted_at"] is not None and r["prequalified"] is None
    ]
    if unjudged:
        raise Conflict("qualification-pending", f"Judge these applicants first: {', '.join(unjudged)}.")
    # Registered without sending qualification data: not qualified.
    await ctx.session.execute(
        update(participants)
        .where(participants.c.package_id == package_id, participants.c.qualification_submitted_at.is_(None))
        .values(prequalified=False, prequalification_reason="no qualification data sent")
    )
    passed = [r for r in rows if r["prequalified"] is True]
    not_passed = [r for r in rows if r["prequalified"] is not True]
    minimum = ctx.settings.prequalification_min_passed
    if len(passed) < minimum:
        return await fail(
            ctx,
            pkg,
            "no_bid_passed",
            f"Prakualifikasi: {len(passed)} vendor(s) passed, fewer than the {minimum} required.",
        )
    pkg = await set_status(ctx, package_id, {"status": target})
    await emit(
        ctx,
        package_id,
        ev.TenderPrequalificationAnnounced(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            passed=[_ref(r) for r in passed],
            not_passed=[_ref(r) for r in not_passed],
            bid_deadline=pkg["submission_ends_at"],
            announced_at=ctx.now,
        ),
    )
    return pkg


def _ref(row: RowMapping | dict[str, Any]) -> ev.TenderVendorRef:
    return ev.TenderVendorRef(vendor_id=row["vendor_id"], vendor_name=row["vendor_name"])
