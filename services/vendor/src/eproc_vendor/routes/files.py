"""Documents kept with a vendor's record (deeds, licences, tax statements, certificates)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import insert, select

from eproc_shared.auth import CurrentPrincipal
from eproc_shared.db import session_factory
from eproc_shared.problems import FieldProblem, ProblemError
from eproc_shared.service_app import Runtime
from eproc_vendor.deps import Documents, Now, ReadSession, ensure_can_edit, ensure_can_read
from eproc_vendor.documents import too_large
from eproc_vendor.models import vendor_documents, vendor_items
from eproc_vendor.routes.records import document_out
from eproc_vendor.schemas import DocumentOut
from eproc_vendor.store import new_id, not_found, record, require_vendor, single_item_id, upsert_item

router = APIRouter(tags=["documents"])


@router.post(
    "/vendors/{vendor_id}/documents",
    response_model=DocumentOut,
    status_code=201,
    summary="Upload a document (the raw file as the request body)",
    description="Send the file itself as the body with its Content-Type (PDF, JPEG or PNG by default). "
    "The type is judged from the file's first bytes; the size limit is VENDOR_MAX_UPLOAD_BYTES. "
    "The document is attached to `item_id` (default: the company data), which goes back to verification.",
)
async def upload(
    vendor_id: str,
    request: Request,
    principal: CurrentPrincipal,
    runtime: Runtime,
    store: Documents,
    now: Now,
    filename: Annotated[str, Query(min_length=1, max_length=255, pattern=r"^[^/\\]+$")],
    item_id: Annotated[str | None, Query(max_length=64)] = None,
) -> DocumentOut:
    ensure_can_edit(principal, vendor_id)
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > store.max_bytes:
        raise too_large(store.max_bytes)
    target = item_id or single_item_id(vendor_id, "company")
    # The body streams to disk before any write transaction opens: a slow upload never holds the
    # database's write lock.
    async with session_factory(runtime.engine, readonly=True)() as check:
        await require_vendor(check, vendor_id)
        item = (
            (
                await check.execute(
                    select(vendor_items).where(
                        vendor_items.c.id == target,
                        vendor_items.c.vendor_id == vendor_id,
                        vendor_items.c.deleted.is_(False),
                    )
                )
            )
            .mappings()
            .first()
        )
    if item is None:
        raise ProblemError(
            422,
            "Unknown item",
            "Attach the document to an existing part of the record (enter the company data first).",
            slug="validation",
            errors=[FieldProblem(field="item_id", location="query", message="no such item", code="not_found")],
        )
    stored = await store.save(vendor_id, request.stream(), declared)
    document_id = new_id()
    try:
        async with runtime.sessions() as session, session.begin():
            await session.execute(
                insert(vendor_documents).values(
                    id=document_id,
                    vendor_id=vendor_id,
                    item_id=target,
                    filename=filename,
                    content_type=stored.content_type,
                    size_bytes=stored.size_bytes,
                    sha256=stored.sha256,
                    storage_key=stored.storage_key,
                    uploaded_by=principal.subject,
                    uploaded_at=now,
                )
            )
            current = (
                (await session.execute(select(vendor_items.c.data).where(vendor_items.c.id == target))).scalars().one()
            )
            data = dict(current or {})
            data["document_ids"] = [*data.get("document_ids", []), document_id]
            await upsert_item(session, vendor_id, item["kind"], target, data, actor=principal.subject, now=now)
            await record(
                session,
                vendor_id,
                now,
                principal.subject,
                "document_uploaded",
                item_kind=item["kind"],
                item_id=target,
                after={"document_id": document_id, "filename": filename, "sha256": stored.sha256},
            )
            row = (
                (await session.execute(select(vendor_documents).where(vendor_documents.c.id == document_id)))
                .mappings()
                .one()
            )
    except BaseException:
        await store.discard(stored.storage_key)
        raise
    return document_out(row)


@router.get("/vendors/{vendor_id}/documents/{document_id}", summary="Download a document")
async def download(
    vendor_id: str, document_id: str, principal: CurrentPrincipal, session: ReadSession, store: Documents
) -> FileResponse:
    ensure_can_read(principal, vendor_id)
    row = (
        (
            await session.execute(
                select(vendor_documents).where(
                    vendor_documents.c.id == document_id, vendor_documents.c.vendor_id == vendor_id
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise not_found("document")
    return FileResponse(
        store.path_of(row["storage_key"]),
        media_type=row["content_type"],
        filename=row["filename"],
        headers={"X-Content-SHA256": row["sha256"]},
    )
