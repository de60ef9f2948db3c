"""A vendor's own record: company data, business fields, licences, tax status, experience, personnel, equipment."""

# No `from __future__ import annotations`: the item routes are made in a loop and FastAPI must see
# each one's body model as a real class, not as a string it would resolve in this module.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select, update

from eproc_shared.auth import CurrentPrincipal, Role
from eproc_shared.events.types.vendor import VendorItemRef, VendorRegistered, VendorSubmittedForVerification
from eproc_shared.pagination import Page, PageParams, page_params, paginate
from eproc_shared.problems import FieldProblem, ProblemError
from eproc_shared.service_app import DbSession, Runtime
from eproc_vendor.deps import Now, ReadSession, ensure_can_edit, ensure_can_read
from eproc_vendor.domain import verification as vf
from eproc_vendor.models import vendor_documents, vendor_history, vendor_items, vendors
from eproc_vendor.publishing import refresh
from eproc_vendor.schemas import (
    CompanyIn,
    DocumentOut,
    EquipmentIn,
    ExperienceIn,
    HistoryOut,
    ItemOut,
    KbliIn,
    LicenceIn,
    PersonnelIn,
    TaxStatusIn,
    VendorOut,
)
from eproc_vendor.store import (
    create_vendor,
    get_vendor,
    items_of,
    not_found,
    npwp_taken,
    record,
    require_vendor,
    single_item_id,
    upsert_item,
)

router = APIRouter(tags=["vendor record"])


def item_out(row: Any) -> ItemOut:
    return ItemOut(
        item_id=row["id"],
        kind=row["kind"],
        status=row["status"],
        data=row["data"],
        verified_data=row["verified_data"],
        rejection_reason=row["rejection_reason"],
        submitted_at=row["submitted_at"],
        decided_at=row["decided_at"],
        updated_at=row["updated_at"],
    )


def document_out(row: Any) -> DocumentOut:
    return DocumentOut(
        document_id=row["id"],
        item_id=row["item_id"],
        filename=row["filename"],
        content_type=row["content_type"],
        size_bytes=row["size_bytes"],
        sha256=row["sha256"],
        uploaded_by=row["uploaded_by"],
        uploaded_at=row["uploaded_at"],
    )


async def read_item(session: DbSession, item_id: str) -> ItemOut:
    row = (await session.execute(select(vendor_items).where(vendor_items.c.id == item_id))).mappings().one()
    return item_out(row)


@router.put("/vendors/{vendor_id}/company", response_model=ItemOut, summary="Enter or change the company data")
async def put_company(
    vendor_id: str, body: CompanyIn, principal: CurrentPrincipal, session: DbSession, runtime: Runtime, now: Now
) -> ItemOut:
    ensure_can_edit(principal, vendor_id)
    if await npwp_taken(session, body.npwp, vendor_id):
        raise ProblemError(
            409,
            "NPWP already registered",
            "Another vendor is registered with this NPWP.",
            slug="npwp-taken",
            errors=[FieldProblem(field="npwp", location="body", message="already registered", code="duplicate")],
        )
    vendor = await get_vendor(session, vendor_id, lock=True)
    if vendor is None:
        await create_vendor(
            session,
            vendor_id,
            legal_name=body.legal_name,
            npwp=body.npwp,
            user_id=principal.subject if principal.has_role(Role.VENDOR) else None,
            now=now,
        )
        await record(session, vendor_id, now, principal.subject, "registered", detail="created through the API")
    else:
        await session.execute(
            update(vendors)
            .where(vendors.c.id == vendor_id)
            .values(legal_name=body.legal_name, npwp=body.npwp, updated_at=now)
        )
    data = body.model_dump(mode="json")
    first_entry = (
        await session.scalar(select(vendor_items.c.id).where(vendor_items.c.id == single_item_id(vendor_id, "company")))
    ) is None
    item_id, _ = await upsert_item(session, vendor_id, "company", None, data, actor=principal.subject, now=now)
    if first_entry:
        await runtime.outbox.add(
            session,
            VendorRegistered(
                vendor_id=vendor_id,
                legal_name=body.legal_name,
                business_form=body.business_form,
                npwp=body.npwp,
                city=body.city,
                province=body.province,
                registered_by=principal.subject,
                contact_email=body.contacts[0].email,
                contact_name=body.contacts[0].name,
            ),
            key=vendor_id,
            subject=vendor_id,
        )
    return await read_item(session, item_id)


async def _edit(
    session: DbSession, principal: CurrentPrincipal, vendor_id: str, kind: str, item_id: str | None, data: Any, now: Any
) -> str:
    ensure_can_edit(principal, vendor_id)
    await require_vendor(session, vendor_id, lock=True)
    new_id, _ = await upsert_item(session, vendor_id, kind, item_id, data, actor=principal.subject, now=now)
    return new_id


async def _delete(
    session: DbSession, runtime: Runtime, principal: CurrentPrincipal, vendor_id: str, kind: str, item_id: str, now: Any
) -> None:
    ensure_can_edit(principal, vendor_id)
    await require_vendor(session, vendor_id, lock=True)
    row = (
        (
            await session.execute(
                select(vendor_items).where(
                    vendor_items.c.id == item_id,
                    vendor_items.c.vendor_id == vendor_id,
                    vendor_items.c.kind == kind,
                    vendor_items.c.deleted.is_(False),
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise not_found(kind)
    await session.execute(
        update(vendor_items)
        .where(vendor_items.c.id == item_id)
        .values(deleted=True, updated_at=now, updated_by=principal.subject)
    )
    await record(
        session, vendor_id, now, principal.subject, "item_deleted", item_kind=kind, item_id=item_id, before=row["data"]
    )
    if row["verified_data"] is not None:
        await refresh(session, runtime.outbox, vendor_id, now, "changed")


def _single_routes(path: str, kind: str, model: type) -> None:
    async def put_single(
        vendor_id: str,
        body: model,
        principal: CurrentPrincipal,
        session: DbSession,
        now: Now,  # type: ignore[valid-type]
    ) -> ItemOut:
        item_id = await _edit(session, principal, vendor_id, kind, None, body.model_dump(mode="json"), now)
        return await read_item(session, item_id)

    router.put(f"/vendors/{{vendor_id}}/{path}", response_model=ItemOut, summary=f"Enter or change the {kind}")(
        put_single
    )


def _multi_routes(path: str, kind: str, model: type) -> None:
    async def add(
        vendor_id: str,
        body: model,
        principal: CurrentPrincipal,
        session: DbSession,
        now: Now,  # type: ignore[valid-type]
    ) -> ItemOut:
        item_id = await _edit(session, principal, vendor_id, kind, None, body.model_dump(mode="json"), now)
        return await read_item(session, item_id)

    async def change(
        vendor_id: str,
        item_id: str,
        body: model,  # type: ignore[valid-type]
        principal: CurrentPrincipal,
        session: DbSession,
        now: Now,
    ) -> ItemOut:
        ensure_can_edit(principal, vendor_id)
        exists = await session.scalar(
            select(vendor_items.c.id).where(
                vendor_items.c.id == item_id, vendor_items.c.vendor_id == vendor_id, vendor_items.c.kind == kind
            )
        )
        if exists is None:
            raise not_found(kind)
        await _edit(session, principal, vendor_id, kind, item_id, body.model_dump(mode="json"), now)
        return await read_item(session, item_id)

    async def remove(
        vendor_id: str, item_id: str, principal: CurrentPrincipal, session: DbSession, runtime: Runtime, now: Now
    ) -> Response:
        await _delete(session, runtime, principal, vendor_id, kind, item_id, now)
        return Response(status_code=204)

    base = f"/vendors/{{vendor_id}}/{path}"
    router.post(base, response_model=ItemOut, status_code=201, summary=f"Add a {kind}")(add)
    router.put(f"{base}/{{item_id}}", response_model=ItemOut, summary=f"Change a {kind}")(change)
    router.delete(f"{base}/{{item_id}}", status_code=204, summary=f"Remove a {kind}")(remove)


_single_routes("kbli", "kbli", KbliIn)
_single_routes("tax-status", "tax_status", TaxStatusIn)
_multi_routes("licences", "licence", LicenceIn)
_multi_routes("experience", "experience", ExperienceIn)
_multi_routes("personnel", "personnel", PersonnelIn)
_multi_routes("equipment", "equipment", EquipmentIn)


@router.post("/vendors/{vendor_id}/submit", summary="Submit the changed parts of the record for verification")
async def submit(
    vendor_id: str, principal: CurrentPrincipal, session: DbSession, runtime: Runtime, now: Now
) -> dict[str, Any]:
    ensure_can_edit(principal, vendor_id)
    vendor = await require_vendor(session, vendor_id, lock=True)
    items = await items_of(session, vendor_id)
    kinds = {i["kind"] for i in items}
    if not vendor["ever_verified"] and "company" not in kinds:
        raise ProblemError(
            422,
            "Company data missing",
            "Enter the company data before submitting the record.",
            slug="validation",
            errors=[FieldProblem(field="company", location="body", message="missing", code="missing")],
        )
    drafts = [i for i in items if i["status"] in vf.SUBMITTABLE]
    if not drafts:
        raise ProblemError(
            409,
            "Nothing to submit",
            "No part of the record has changed since it was submitted.",
            slug="nothing-to-submit",
        )
    for item in drafts:
        await session.execute(
            update(vendor_items)
            .where(vendor_items.c.id == item["id"])
            .values(status=vf.submit(item["status"]), submitted_at=now)
        )
        await record(
            session, vendor_id, now, principal.subject, "item_submitted", item_kind=item["kind"], item_id=item["id"]
        )
    states = [vf.ItemState(i["kind"], vf.SUBMITTED if i in drafts else i["status"]) for i in items]
    status = vf.vendor_status(states, vendor["ever_verified"])
    await session.execute(update(vendors).where(vendors.c.id == vendor_id).values(status=status, updated_at=now))
    refs = [VendorItemRef(kind=i["kind"], item_id=i["id"]) for i in drafts]
    await runtime.outbox.add(
        session,
        VendorSubmittedForVerification(
            vendor_id=vendor_id,
            items=refs,
            submitted_by=principal.subject,
            submitted_at=now,
            resubmission=bool(vendor["ever_verified"]),
        ),
        key=vendor_id,
        subject=vendor_id,
    )
    return {"vendor_id": vendor_id, "status": status, "submitted": [r.model_dump() for r in refs]}


@router.get("/vendors/{vendor_id}", response_model=VendorOut, summary="The whole record, pending changes included")
async def get_record(vendor_id: str, principal: CurrentPrincipal, session: ReadSession) -> VendorOut:
    ensure_can_read(principal, vendor_id)
    vendor = await require_vendor(session, vendor_id)
    items = await items_of(session, vendor_id)
    docs = (
        await session.execute(
            select(vendor_documents)
            .where(vendor_documents.c.vendor_id == vendor_id)
            .order_by(vendor_documents.c.uploaded_at)
        )
    ).mappings()
    return VendorOut(
        vendor_id=vendor_id,
        user_id=vendor["user_id"],
        legal_name=vendor["legal_name"],
        npwp=vendor["npwp"],
        status=vendor["status"],
        ever_verified=vendor["ever_verified"],
        revision=vendor["revision"],
        items=[item_out(i) for i in items],
        documents=[document_out(d) for d in docs],
        created_at=vendor["created_at"],
        updated_at=vendor["updated_at"],
    )


@router.get("/vendors/{vendor_id}/history", response_model=Page[HistoryOut], summary="Every change: who, when, what")
async def history(
    vendor_id: str,
    principal: CurrentPrincipal,
    session: ReadSession,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[HistoryOut]:
    ensure_can_read(principal, vendor_id)
    await require_vendor(session, vendor_id)
    rows, cursor = await paginate(
        session,
        select(vendor_history).where(vendor_history.c.vendor_id == vendor_id),
        [vendor_history.c.id],
        params,
    )
    return Page[HistoryOut](
        items=[
            HistoryOut(
                at=r.at,
                actor=r.actor,
                action=r.action,
                item_kind=r.item_kind,
                item_id=r.item_id,
                before=r.before,
                after=r.after,
                detail=r.detail,
            )
            for r in rows
        ],
        next_cursor=cursor,
    )


__all__ = ["document_out", "item_out", "router", "single_item_id"]
