"""What each reader may see of a package: the public, officials of the package, and vendors.

Results become public only when their stage makes them so: bid prices at opening (price envelope),
evaluation results and the winner at the winner announcement. Nothing sealed is ever read here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping

from eproc_shared.auth import Principal, Role
from eproc_tender.clock import JAKARTA
from eproc_tender.domain.machine import Facts, Status
from eproc_tender.models import (
    addenda,
    appeals,
    auction_invitations,
    bids,
    committee_approvals,
    objections,
    opened_bids,
    package_documents,
    participants,
    questions,
)
from eproc_tender.store import Ctx, effective, facts_of, is_pokja_member, load_schedule, not_found, pokja_members

PUBLIC_STATUSES = [s for s in Status if s not in (Status.DRAFT, Status.ASSIGNED)]
RESULTS_PUBLIC = {Status.WINNER_ANNOUNCED, Status.AWARDABLE, Status.AWARDED}
#: Before the first opening: nothing of any bid is shown.
SEALED_STATUSES = {
    Status.DRAFT,
    Status.ASSIGNED,
    Status.PREQUALIFICATION,
    Status.PREQUALIFICATION_EVALUATION,
    Status.ANNOUNCED,
    Status.INVITED,
    Status.CLOSED,
}
_BIDDING = {Status.ANNOUNCED, Status.INVITED, Status.CLOSED, Status.SECOND_STAGE, Status.SECOND_STAGE_CLOSED}
_SHORTLISTED = set(Status) - {
    Status.DRAFT,
    Status.ASSIGNED,
    Status.PREQUALIFICATION,
    Status.PREQUALIFICATION_EVALUATION,
}


def effective_status(facts: Facts, now: datetime) -> Status:
    """The status once every due time-driven transition is applied (the scheduler may not have run yet)."""
    return effective(facts, now).status


def local(value: datetime | None) -> str | None:
    return value.astimezone(JAKARTA).isoformat() if value else None


def summary(pkg: RowMapping, status: Status | None = None) -> dict[str, Any]:
    return {
        "id": pkg["id"],
        "code": pkg["code"],
        "name": pkg["name"],
        "opd_id": pkg["opd_id"],
        "satker": pkg["satker"],
        "fiscal_year": pkg["fiscal_year"],
        "procurement_type": pkg["procurement_type"],
        "method": pkg["method"],
        "status": status or pkg["status"],
        "pagu": pkg["pagu"],
        "hps": pkg["hps"],
        "location": pkg["location"],
        "announced_at": pkg["announced_at"],
        "bid_deadline": pkg["submission_ends_at"],
        "bid_deadline_jakarta": local(pkg["submission_ends_at"]),
    }


def _participant(
    row: RowMapping, pkg: RowMapping, status: Status, official: bool, principal: Principal | None
) -> dict[str, Any]:
    out: dict[str, Any] = {k: row[k] for k in ("vendor_id", "vendor_name", "registered_at")}
    if pkg["qualification"] != "pra":
        return out
    own = principal is not None and principal.vendor_id == row["vendor_id"]
    if official or own:
        out["qualification_submitted_at"] = row["qualification_submitted_at"]
    if official or status in _SHORTLISTED:
        # Who passed prakualifikasi is public once announced; the reasons only to the Pokja and the vendor.
        out["prequalified"] = row["prequalified"]
    if official or (own and status in _SHORTLISTED):
        out["prequalification_reason"] = row["prequalification_reason"]
    return out


def is_official(principal: Principal | None, pkg: RowMapping) -> bool:
    if principal is None:
        return False
    if principal.is_admin:
        return True
    if principal.has_role(Role.PPK) and principal.opd_id == pkg["opd_id"]:
        return True
    return is_pokja_member(principal, pkg)


async def detail(ctx: Ctx, pkg: RowMapping) -> dict[str, Any]:
    facts = await facts_of(ctx.session, pkg)
    status = effective_status(facts, ctx.now)
    official = is_official(ctx.principal, pkg)
    if status in (Status.DRAFT, Status.ASSIGNED) and not official:
        raise not_found()
    package_id = pkg["id"]
    schedule = await load_schedule(ctx.session, package_id)
    out = summary(pkg, status) | {
        "qualification": pkg["qualification"],
        "envelope_system": pkg["envelope_system"],
        "evaluation_system": pkg["evaluation_system"],
        "technical_weight": pkg["technical_weight"],
        "price_weight": pkg["price_weight"],
        "contract_type": pkg["contract_type"],
        "hps_items": pkg["hps_items"],
        "kbli_codes": pkg["kbli_codes"],
        "size_classes": pkg["size_classes"],
        "small_business_exemption": pkg["small_business_exemption"],
        "retender_of": pkg["retender_of"],
        "complexity_reason": pkg["complexity_reason"],
        "ppk_id": pkg["ppk_id"],
        "pokja_id": pkg["pokja_id"],
        "pokja_members": pokja_members(pkg),
        "current_stage": next((s for s, w in schedule.items() if w.contains(ctx.now)), None),
        "schedule": [
            {
                "stage": s,
                "starts_at": w.starts_at,
                "ends_at": w.ends_at,
                "starts_at_jakarta": local(w.starts_at),
                "ends_at_jakarta": local(w.ends_at),
            }
            for s, w in sorted(schedule.items(), key=lambda kv: kv[1].starts_at)
        ],
        "failure": {"code": pkg["failure_code"], "reason": pkg["failure_reason"]} if pkg["failure_code"] else None,
        "cancel_reason": pkg["cancel_reason"],
    }
    s = ctx.session
    out["addenda"] = [
        {k: r[k] for k in ("number", "reason", "changes", "documents_changed", "created_at")}
        for r in (
            await s.execute(select(addenda).where(addenda.c.package_id == package_id).order_by(addenda.c.number))
        ).mappings()
    ]
    docs = select(package_documents).where(package_documents.c.package_id == package_id)
    if not official:
        docs = docs.where(package_documents.c.published.is_(True))
    out["documents"] = [
        {k: r[k] for k in ("id", "name", "version", "sha256", "size", "content_type", "published", "uploaded_at")}
        for r in (await s.execute(docs.order_by(package_documents.c.name, package_documents.c.version))).mappings()
    ]
    rows = (await s.execute(select(participants).where(participants.c.package_id == package_id))).mappings()
    out["participants"] = [_participant(r, pkg, status, official, ctx.principal) for r in rows]
    qs = (
        await s.execute(select(questions).where(questions.c.package_id == package_id).order_by(questions.c.asked_at))
    ).mappings()
    out["questions"] = [
        {"id": q["id"], "question": q["question"], "answer": q["answer"], "answered_at": q["answered_at"]}
        for q in qs
        if q["answered_at"] is not None or official or (ctx.principal and ctx.principal.vendor_id == q["vendor_id"])
    ]
    if official and status in _BIDDING:
        # Officials see how many vendors hold a bid, never what is in it.
        round_ = 2 if status in (Status.SECOND_STAGE, Status.SECOND_STAGE_CLOSED) else 1
        latest = (
            select(bids.c.vendor_id, func.max(bids.c.seq).label("seq"))
            .where(bids.c.package_id == package_id, bids.c.round == round_)
            .group_by(bids.c.vendor_id)
            .subquery()
        )
        count = (
            select(func.count())
            .select_from(latest.join(bids, bids.c.seq == latest.c.seq))
            .where(bids.c.withdrawn.is_(False))
        )
        out["bids_received"] = (await s.execute(count)).scalar_one()
    opened = list(
        (
            await s.execute(
                select(opened_bids).where(opened_bids.c.package_id == package_id).order_by(opened_bids.c.received_at)
            )
        ).mappings()
    )
    names = {p["vendor_id"]: p["vendor_name"] for p in out["participants"]}
    if pkg["method"] == "tender_cepat" and pkg["winner_vendor_id"]:
        # Tender cepat has no registration: its winner is among the invited.
        stmt = select(auction_invitations.c.vendor_id, auction_invitations.c.vendor_name).where(
            auction_invitations.c.package_id == package_id
        )
        names |= {r[0]: r[1] for r in (await s.execute(stmt)).all()}
    out["opened_prices"] = [
        {
            "vendor_id": o["vendor_id"],
            "vendor_name": names.get(o["vendor_id"]),
            "price": o["offered_price"],
            "receipt_verified": o["receipt_verified"],
        }
        for o in opened
        if o["offered_price"] is not None
    ]
    if status in RESULTS_PUBLIC:
        out["results"] = [o["result"] for o in opened if o["result"]]
        out["winner"] = {
            "vendor_id": pkg["winner_vendor_id"],
            "vendor_name": names.get(pkg["winner_vendor_id"]),
            "reserves": pkg["reserve_vendor_ids"],
            "announced_at": pkg["winner_announced_at"],
            "objection_ends_at": pkg["objection_ends_at"],
            "objection_ends_at_jakarta": local(pkg["objection_ends_at"]),
        }
        objs = (await s.execute(select(objections).where(objections.c.package_id == package_id))).mappings()
        out["objections"] = [
            {
                "id": o["id"],
                "filed_at": o["filed_at"],
                "answered_at": o["answered_at"],
                "upheld": o["upheld"],
                "consequence": o["consequence"],
            }
            for o in objs
        ]
    if official:
        approvals = (
            await s.execute(
                select(committee_approvals)
                .where(committee_approvals.c.package_id == package_id)
                .order_by(committee_approvals.c.approved_at)
            )
        ).mappings()
        out["committee_approvals"] = [
            {k: a[k] for k in ("decision", "user_id", "outcome_digest", "approved_at")} for a in approvals
        ]
    if status in RESULTS_PUBLIC:
        found = (await s.execute(select(appeals).where(appeals.c.package_id == package_id))).mappings()
        out["appeals"] = [
            {k: a[k] for k in ("id", "objection_id", "filed_at", "answered_at", "upheld", "consequence")} for a in found
        ]
        out["appeal_window_ends_at"] = pkg["appeal_window_ends_at"]
    if status is Status.AWARDED:
        out["award"] = {"sppbj_number": pkg["sppbj_number"], "awarded_at": pkg["awarded_at"]}
    return out
