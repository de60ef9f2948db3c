"""e-Audit reads: timelines per package, vendor, contract and OPD, and (admins) the whole log.

An auditor reads only within its active assignments, and each of its reads is recorded as an
``audit.auditor_read.v1`` event (committed with the read's transaction, so no read goes unrecorded),
which the log then takes in like every other event.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime
from sqlalchemy import ColumnElement, and_, true

from eproc_audit.assignments import Scope
from eproc_audit.clock import jakarta_today
from eproc_audit.routes.deps import ClockDep
from eproc_audit.timelines import (
    Kind,
    L,
    TimelineEntry,
    entries_query,
    entry_from_row,
    load_assignments,
    may_open,
    resource,
    visible,
)
from eproc_shared.auth import Principal, Role, forbidden, require_roles
from eproc_shared.events.types.audit import AuditorRead
from eproc_shared.pagination import Page, PageParams, page_params, paginate
from eproc_shared.service_app import DbSession, Runtime

router = APIRouter(tags=["e-audit"])

Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.AUDITOR))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Since = Annotated[AwareDatetime | None, Query(description="Events at or after this time (the event's own time).")]
Until = Annotated[AwareDatetime | None, Query(description="Events before this time.")]
Actor = Annotated[str | None, Query(description="Only what this user id did.")]
Types = Annotated[list[str], Query(alias="type", description="Only these event types (repeatable).")]
Format = Annotated[Literal["json", "csv"], Query(description="json (a page) or csv (the page as CSV).")]

CSV_COLUMNS = [
    "seq", "hash", "received_at", "time", "type", "source", "event_id", "subject", "key", "actor",
    "package_id", "opd_id", "vendor_id", "contract_id", "data",
]  # fmt: skip


def _respond(page: Page[TimelineEntry], export: str, request: Request) -> Page[TimelineEntry] | Response:
    if export == "json":
        return page
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in page.items:
        row = item.model_dump(mode="json")
        row["data"] = json.dumps(row["data"], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    headers = {"Content-Disposition": 'attachment; filename="audit-timeline.csv"'}
    if page.next_cursor:
        headers["X-Next-Cursor"] = page.next_cursor
        headers["Link"] = f'<{request.url.include_query_params(cursor=page.next_cursor)}>; rel="next"'
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get(
    "/timelines/{kind}/{ident}",
    response_model=Page[TimelineEntry],
    responses={200: {"content": {"text/csv": {}}}},
    summary="Every logged event of a package, vendor, contract or OPD, oldest first",
)
async def timeline(
    kind: Kind,
    ident: str,
    request: Request,
    session: DbSession,
    runtime: Runtime,
    principal: Reader,
    clock: ClockDep,
    page: Annotated[PageParams, Depends(page_params)],
    since: Since = None,
    until: Until = None,
    actor: Actor = None,
    types: Types = [],  # noqa: B006  (FastAPI copies defaults)
    format: Format = "json",
) -> Page[TimelineEntry] | Response:
    """A package's timeline includes its contracts' events. Auditors: within their active assignments only
    (a package or contract outside them answers 403; vendor and OPD timelines show only what is inside)."""
    condition: ColumnElement[bool] = resource(kind, ident)
    scope: Scope | None = None
    if not principal.is_admin:
        now = clock()
        scope = Scope.of(await load_assignments(session, principal.subject), jakarta_today(now))
        if scope.empty:
            raise forbidden("You have no active assignment (surat tugas).")
        if not await may_open(session, scope, kind, ident):
            raise forbidden(f"This {kind} is outside your active assignments.")
        condition = and_(condition, visible(scope))
    stmt = entries_query(condition, since=since, until=until, actor=actor, types=types)
    rows, cursor = await paginate(session, stmt, [L.seq], page)
    result = Page(items=[entry_from_row(r) for r in rows], next_cursor=cursor)
    if scope is not None:
        filters = {k: v for k, v in request.query_params.multi_items()}
        if types:
            filters["type"] = ",".join(types)
        await runtime.outbox.add(
            session,
            AuditorRead(
                read_by=principal.subject,
                assignment_ids=list(scope.assignment_ids),
                resource=f"{kind}/{ident}",
                filters=filters,
                export_format=format,
                entries=len(result.items),
                first_seq=result.items[0].seq if result.items else None,
                last_seq=result.items[-1].seq if result.items else None,
                read_at=clock(),
            ),
            key=principal.subject,
            subject=f"auditor/{principal.subject}",
        )
    return _respond(result, format, request)


@router.get(
    "/entries",
    response_model=Page[TimelineEntry],
    responses={200: {"content": {"text/csv": {}}}},
    summary="The whole log, oldest first (administrators), e.g. every auditor read: type=audit.auditor_read.v1",
)
async def entries(
    request: Request,
    session: DbSession,
    principal: Admin,
    page: Annotated[PageParams, Depends(page_params)],
    since: Since = None,
    until: Until = None,
    actor: Actor = None,
    types: Types = [],  # noqa: B006
    format: Format = "json",
) -> Page[TimelineEntry] | Response:
    stmt = entries_query(true(), since=since, until=until, actor=actor, types=types)
    rows, cursor = await paginate(session, stmt, [L.seq], page)
    return _respond(Page(items=[entry_from_row(r) for r in rows], next_cursor=cursor), format, request)
