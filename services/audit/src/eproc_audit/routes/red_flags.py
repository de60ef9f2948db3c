"""Public: integrity red flags, as a cursor-paged list and as a live server-sent events stream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from eproc_audit.models import red_flags
from eproc_audit.projection import as_utc
from eproc_audit.red_flags import KINDS
from eproc_audit.routes.deps import ReadSession, SettingsDep
from eproc_shared.db import session_factory
from eproc_shared.pagination import Page, PageParams, page_params, paginate
from eproc_shared.problems import FieldProblem, ProblemError

router = APIRouter(prefix="/public", tags=["public", "red flags"])
F = red_flags.c


class RedFlagOut(BaseModel):
    id: int = Field(description="Increasing: the SSE event id, and a resume point.")
    kind: str = Field(description=", ".join(KINDS))
    package_id: str | None
    vendor_id: str | None
    opd_id: str | None
    contract_id: str | None
    record_id: str | None = Field(description="The recorded purchase (pencatatan) the flag is about, if any.")
    explanation: str
    evidence: list[int] = Field(description="Sequence numbers of the log entries the flag rests on.")
    raised_by_seq: int = Field(description="The log entry whose arrival raised the flag.")
    raised_at: datetime


def flag_out(row: Any) -> RedFlagOut:
    return RedFlagOut(
        id=row.id,
        kind=row.kind,
        package_id=row.package_id,
        vendor_id=row.vendor_id,
        opd_id=row.opd_id,
        contract_id=row.contract_id,
        record_id=row.record_id,
        explanation=row.explanation,
        evidence=list(row.evidence),
        raised_by_seq=row.raised_by_seq,
        raised_at=as_utc(row.raised_at),
    )


def _filtered(
    package_id: str | None, vendor_id: str | None, opd_id: str | None, kind: str | None, record_id: str | None = None
) -> Any:
    if kind is not None and kind not in KINDS:
        raise ProblemError(
            400,
            "Unknown red flag kind",
            f"kind must be one of {', '.join(KINDS)}.",
            slug="invalid-parameter",
            errors=[FieldProblem(field="kind", location="query", message="unknown kind", code="invalid")],
        )
    stmt = select(red_flags)
    filters = ((F.package_id, package_id), (F.vendor_id, vendor_id), (F.opd_id, opd_id), (F.kind, kind))
    for column, value in (*filters, (F.record_id, record_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


PackageQ = Annotated[str | None, Query(description="Flags of this package.")]
VendorQ = Annotated[str | None, Query(description="Flags naming this vendor.")]
OpdQ = Annotated[str | None, Query(description="Flags of this OPD.")]
KindQ = Annotated[str | None, Query(description="One kind of flag.")]
RecordQ = Annotated[str | None, Query(description="Flags of this recorded purchase (pencatatan).")]


@router.get("/red-flags", response_model=Page[RedFlagOut], summary="Red flags raised so far, oldest first")
async def list_flags(
    session: ReadSession,
    page: Annotated[PageParams, Depends(page_params)],
    package_id: PackageQ = None,
    vendor_id: VendorQ = None,
    opd_id: OpdQ = None,
    kind: KindQ = None,
    record_id: RecordQ = None,
) -> Page[RedFlagOut]:
    rows, cursor = await paginate(session, _filtered(package_id, vendor_id, opd_id, kind, record_id), [F.id], page)
    return Page(items=[flag_out(r) for r in rows], next_cursor=cursor)


@router.get(
    "/red-flags/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
    summary="New red flags as server-sent events (event: red_flag, id: the flag id)",
)
async def stream_flags(
    request: Request,
    settings: SettingsDep,
    after: Annotated[int | None, Query(ge=0, description="Start after this flag id (0: from the first).")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    package_id: PackageQ = None,
    vendor_id: VendorQ = None,
    opd_id: OpdQ = None,
    kind: KindQ = None,
    record_id: RecordQ = None,
) -> StreamingResponse:
    """Without `after` or `Last-Event-ID` the stream starts with flags raised from now on; a reconnecting
    EventSource sends `Last-Event-ID` and misses nothing. Idle streams get a comment line every
    `AUDIT_FLAG_STREAM_HEARTBEAT_S`."""
    stmt = _filtered(package_id, vendor_id, opd_id, kind, record_id)
    sessions = session_factory(request.app.state.runtime.engine, readonly=True)
    start = after
    if last_event_id is not None and last_event_id.strip().isdigit():
        start = int(last_event_id.strip())
    if start is None:
        async with sessions() as session, session.begin():
            start = int(await session.scalar(select(F.id).order_by(F.id.desc()).limit(1)) or 0)

    async def events(position: int) -> AsyncIterator[bytes]:
        yield b"retry: 3000\n\n"
        quiet_since = time.monotonic()
        while not await request.is_disconnected():
            async with sessions() as session, session.begin():
                rows = (await session.execute(stmt.where(F.id > position).order_by(F.id).limit(100))).all()
            for row in rows:
                body = json.dumps(flag_out(row).model_dump(mode="json"), ensure_ascii=False)
                yield f"id: {row.id}\nevent: red_flag\ndata: {body}\n\n".encode()
                position = row.id
                quiet_since = time.monotonic()
            if not rows:
                if time.monotonic() - quiet_since >= settings.flag_stream_heartbeat_s:
                    yield b": keep-alive\n\n"
                    quiet_since = time.monotonic()
                await asyncio.sleep(settings.flag_stream_poll_s)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(start), media_type="text/event-stream", headers=headers)
