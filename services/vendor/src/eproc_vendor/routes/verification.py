"""The verifiers' work: a queue of records waiting, oldest first, and decisions per item."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import func, select, update

from eproc_shared.auth import CurrentPrincipal, Role, requires
from eproc_shared.events.types.vendor import VendorItemRef, VendorItemRejection, VendorRejected, VendorVerified
from eproc_shared.pagination import Page, PageParams, page_params, paginate
from eproc_shared.problems import FieldProblem, ProblemError
from eproc_shared.service_app import DbSession, Runtime
from eproc_vendor.deps import Now, ReadSession
from eproc_vendor.domain import verification as vf
from eproc_vendor.models import vendor_items, vendors
from eproc_vendor.publishing import contact_email, refresh
from eproc_vendor.schemas import DecisionsIn, QueueEntry, QueueItem
from eproc_vendor.store import items_of, record, require_vendor

router = APIRouter(tags=["verification"], dependencies=[requires(Role.VERIFIER, Role.ADMIN)])


@router.get("/verification/queue", response_model=Page[QueueEntry], summary="Records waiting, oldest first")
async def queue(session: ReadSession, params: Annotated[PageParams, Depends(page_params)]) -> Page[QueueEntry]:
    waiting = (
        select(vendor_items.c.vendor_id.label("vendor_id"), func.min(vendor_items.c.submitted_at).label("oldest"))
        .where(vendor_items.c.status.in_(vf.PENDING), vendor_items.c.deleted.is_(False))
        .group_by(vendor_items.c.vendor_id)
        .subquery()
    )
    rows, cursor = await paginate(session, select(waiting), [waiting.c.oldest, waiting.c.vendor_id], params)
    entries = []
    for row in rows:
        vendor = await require_vendor(session, row.vendor_id)
        pending = [i for i in await items_of(session, row.vendor_id) if i["status"] in vf.PENDING]
        entries.append(
            QueueEntry(
                vendor_id=row.vendor_id,
                legal_name=vendor["legal_name"],
                oldest_submitted_at=row.oldest,
                resubmission=vendor["ever_verified"],
                items=[
                    QueueItem(
                        item_id=i["id"],
                        kind=i["kind"],
                        status=i["status"],
                        submitted_at=i["submitted_at"],
                        data=i["data"],
                        verified_data=i["verified_data"],
                    )
                    for i in sorted(pending, key=lambda i: (i["submitted_at"], i["id"]))
                ],
            )
        )
    return Page[QueueEntry](items=entries, next_cursor=cursor)


async def _set_vendor_status(session: DbSession, vendor_id: str, now: Any) -> str:
    vendor = await require_vendor(session, vendor_id)
    items = await items_of(session, vendor_id)
    status = vf.vendor_status([vf.ItemState(i["kind"], i["status"]) for i in items], vendor["ever_verified"])
    await session.execute(update(vendors).where(vendors.c.id == vendor_id).values(status=status, updated_at=now))
    return status


@router.post("/verification/vendors/{vendor_id}/start", summary="Take up a vendor's submitted items")
async def start(vendor_id: str, principal: CurrentPrincipal, session: DbSession, now: Now) -> dict[str, Any]:
    await require_vendor(session, vendor_id, lock=True)
    submitted = [i for i in await items_of(session, vendor_id) if i["status"] == vf.SUBMITTED]
    if not submitted:
        raise ProblemError(
            409, "Nothing to verify", "This vendor has no submitted items waiting.", slug="nothing-to-verify"
        )
    for item in submitted:
        await session.execute(
            update(vendor_items).where(vendor_items.c.id == item["id"]).values(status=vf.start(item["status"]))
        )
        await record(
            session,
            vendor_id,
            now,
            principal.subject,
            "verification_started",
            item_kind=item["kind"],
            item_id=item["id"],
        )
    status = await _set_vendor_status(session, vendor_id, now)
    return {"vendor_id": vendor_id, "status": status, "items": [i["id"] for i in submitted]}


@router.post(
    "/verification/vendors/{vendor_id}/decisions", summary="Verify or reject items, with a reason per rejection"
)
async def decide(
    vendor_id: str, body: DecisionsIn, principal: CurrentPrincipal, session: DbSession, runtime: Runtime, now: Now
) -> dict[str, Any]:
    vendor = await require_vendor(session, vendor_id, lock=True)
    items = {i["id"]: i for i in await items_of(session, vendor_id)}
    problems = []
    seen: set[str] = set()
    for n, d in enumerate(body.decisions):
        item = items.get(d.item_id)
        if item is None:
            problems.append(
                FieldProblem(
                    field=f"decisions.{n}.item_id",
                    location="body",
                    message="no such item of this vendor",
                    code="not_found",
                )
            )
        elif item["status"] not in vf.PENDING:
            problems.append(
                FieldProblem(
                    field=f"decisions.{n}.item_id",
                    location="body",
                    message=f"the item is {item['status']}, not waiting for verification",
                    code="not_pending",
                )
            )
        elif d.item_id in seen:
            problems.append(
                FieldProblem(field=f"decisions.{n}.item_id", location="body", message="decided twice", code="duplicate")
            )
        seen.add(d.item_id)
    if problems:
        raise ProblemError(
            409,
            "Cannot decide these items",
            "; ".join(p.message for p in problems),
            slug="verification-conflict",
            errors=problems,
        )
    accepted: list[VendorItemRef] = []
    rejected: list[VendorItemRejection] = []
    for d in body.decisions:
        item = items[d.item_id]
        accept = d.verdict == "verified"
        values: dict[str, Any] = {
            "status": vf.decide(item["status"], accept),
            "decided_at": now,
            "decided_by": principal.subject,
            "rejection_reason": None if accept else d.reason,
        }
        if accept:
            values["verified_data"] = item["data"]
            values["expiry_notified_for"] = None
            accepted.append(VendorItemRef(kind=item["kind"], item_id=item["id"]))
        else:
            rejected.append(VendorItemRejection(kind=item["kind"], item_id=item["id"], reason=d.reason or ""))
        await session.execute(update(vendor_items).where(vendor_items.c.id == item["id"]).values(**values))
        await record(
            session,
            vendor_id,
            now,
            principal.subject,
            "item_verified" if accept else "item_rejected",
            item_kind=item["kind"],
            item_id=item["id"],
            before=item["verified_data"],
            after=item["data"] if accept else None,
            detail=d.reason,
        )
    if any(a.kind == "company" for a in accepted) and not vendor["ever_verified"]:
        await session.execute(update(vendors).where(vendors.c.id == vendor_id).values(ever_verified=True))
    status = await _set_vendor_status(session, vendor_id, now)

    def events(loaded: Any, facts: Any) -> list[Any]:
        out: list[Any] = []
        email = contact_email(loaded)
        if accepted:
            out.append(
                VendorVerified(
                    vendor_id=vendor_id,
                    items=accepted,
                    verified_by=principal.subject,
                    verified_at=now,
                    facts=facts,
                    contact_email=email,
                )
            )
        if rejected:
            out.append(
                VendorRejected(
                    vendor_id=vendor_id,
                    rejections=rejected,
                    rejected_by=principal.subject,
                    rejected_at=now,
                    facts=facts,
                    contact_email=email,
                )
            )
        return out

    _, facts = await refresh(
        session, runtime.outbox, vendor_id, now, "verified" if accepted else "rejected", make_events=events
    )
    return {
        "vendor_id": vendor_id,
        "status": status,
        "verified": [a.item_id for a in accepted],
        "rejected": [r.model_dump() for r in rejected],
        "eligible": facts.eligible,
        "revision": facts.revision,
    }
