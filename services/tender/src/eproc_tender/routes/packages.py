"""Packages: creation by the PPK, hand-over to the Pokja, schedule, announcement, addenda, documents, end states."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from sqlalchemy import func, insert, select

from eproc_shared.auth import CurrentPrincipal, forbidden
from eproc_shared.service_app import Runtime
from eproc_tender.domain.machine import Action, Status
from eproc_tender.flows import packages as flow
from eproc_tender.flows.files import store_plain
from eproc_tender.models import package_documents
from eproc_tender.routes.deps import ReaderCtx, UserCtx, clock_of
from eproc_tender.schemas import AddendumIn, AssignIn, FailureIn, PackageIn, PackagePatch, ReasonIn, ScheduleIn
from eproc_tender.settings import TenderSettings
from eproc_tender.store import Ctx, act, get_package, lock_package, not_found
from eproc_tender.views import detail, is_official

router = APIRouter(prefix="/packages", tags=["packages"])
DocName = Annotated[str, PathParam(min_length=1, max_length=200, pattern=r"^[\w.\- ]+$")]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a draft package (PPK of the OPD)")
async def create_package(body: PackageIn, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await flow.create(ctx, body))


@router.patch("/{package_id}", summary="Edit the PPK's own draft before announcement (PPK who created it)")
async def edit_package(package_id: str, body: PackagePatch, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await flow.edit(ctx, package_id, body))


@router.post(
    "/{package_id}/assignment",
    summary="Hand the package to a Pokja (PPK): one Pokja account (pokja_id) or a committee (members)",
)
async def assign(package_id: str, body: AssignIn, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await flow.assign(ctx, package_id, body))


@router.put("/{package_id}/schedule", summary="Set the schedule before announcement (Pokja)")
async def set_schedule(package_id: str, body: ScheduleIn, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await flow.set_schedule(ctx, package_id, body))


@router.post("/{package_id}/announcement", summary="Announce the package (Pokja)")
async def announce(package_id: str, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await flow.announce(ctx, package_id))


@router.post("/{package_id}/addenda", status_code=status.HTTP_201_CREATED, summary="Addendum: schedule or documents")
async def amend(package_id: str, body: AddendumIn, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await flow.amend(ctx, package_id, body))


@router.post("/{package_id}/failure", summary="Declare the tender failed, e.g. collusion found (Pokja)")
async def declare_failed(package_id: str, body: FailureIn, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await flow.declare_failed(ctx, package_id, body))


@router.post("/{package_id}/cancellation", summary="Cancel the package, with a reason (PPK)")
async def cancel(package_id: str, body: ReasonIn, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await flow.cancel(ctx, package_id, body))


@router.post("/{package_id}/retender", status_code=status.HTTP_201_CREATED, summary="Re-tender a failed package (PPK)")
async def retender(package_id: str, ctx: UserCtx) -> dict[str, Any]:
    return await detail(ctx, await flow.retender(ctx, package_id))


@router.put(
    "/{package_id}/documents/{name}",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a new version of a procurement document (streamed; raw body)",
    description="Documents become public with the announcement, or later with the addendum that publishes them.",
)
async def upload_document(
    package_id: str,
    name: DocName,
    request: Request,
    principal: CurrentPrincipal,
    runtime: Runtime,
    content_type: Annotated[str, Header(max_length=100)] = "application/octet-stream",
) -> dict[str, Any]:
    settings = runtime.settings
    assert isinstance(settings, TenderSettings)
    # Checked in one short transaction, streamed outside any, recorded in another.
    async with runtime.sessions() as session, session.begin():
        ctx = Ctx(
            session=session, outbox=runtime.outbox, settings=settings, now=clock_of(request).now(), principal=principal
        )
        pkg = await lock_package(ctx, package_id, shared=True)
        action = Action.EDIT if Status(pkg["status"]) in (Status.DRAFT, Status.ASSIGNED) else Action.AMEND
        await act(ctx, package_id, action, shared=True)
        if not is_official(principal, pkg):
            raise forbidden("Only the package's PPK or Pokja upload its documents.")
    document_id = str(uuid.uuid4())
    path = Path(settings.storage_dir) / "documents" / package_id / document_id
    sha256, size = await store_plain(request.stream(), path, settings.max_document_bytes)
    async with runtime.sessions() as session, session.begin():
        version = (
            await session.execute(
                select(func.count()).where(
                    package_documents.c.package_id == package_id, package_documents.c.name == name
                )
            )
        ).scalar_one() + 1
        row = {
            "id": document_id,
            "package_id": package_id,
            "name": name,
            "version": version,
            "sha256": sha256,
            "size": size,
            "content_type": content_type,
            "path": str(path),
            "published": False,
            "uploaded_at": clock_of(request).now(),
        }
        await session.execute(insert(package_documents).values(**row))
    return {k: row[k] for k in ("id", "name", "version", "sha256", "size", "content_type", "published")}


@router.get(
    "/{package_id}/documents/{document_id}",
    summary="Download a procurement document version",
    description="Published versions: anyone once the package is announced. Unpublished (staged) versions: the "
    "package's officials. `Repr-Digest` (RFC 9530) and `X-Content-SHA256` carry the SHA-256 recorded at upload.",
    response_class=FileResponse,
)
async def download_document(package_id: str, document_id: str, ctx: ReaderCtx) -> FileResponse:
    pkg = await get_package(ctx.session, package_id)
    stmt = select(package_documents).where(
        package_documents.c.id == document_id, package_documents.c.package_id == package_id
    )
    row = (await ctx.session.execute(stmt)).mappings().first()
    announced = Status(pkg["status"]) not in (Status.DRAFT, Status.ASSIGNED)
    if row is None or not (is_official(ctx.principal, pkg) or (row["published"] and announced)):
        raise not_found("document")
    digest = base64.b64encode(bytes.fromhex(row["sha256"])).decode()
    return FileResponse(
        row["path"],
        media_type=row["content_type"],
        filename=f"{row['name']}",
        headers={
            "Repr-Digest": f"sha-256=:{digest}:",
            "X-Content-SHA256": row["sha256"],
            "ETag": f'"{row["sha256"]}"',
            "X-Document-Version": str(row["version"]),
        },
    )


public_documents = APIRouter(prefix="/public/packages", tags=["public"])
public_documents.add_api_route(
    "/{package_id}/documents/{document_id}",
    download_document,
    methods=["GET"],
    response_class=FileResponse,
    summary="Download a published procurement document (public path)",
)
