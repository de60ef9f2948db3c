"""Recording (pencatatan) use cases: a record or a correction is one transaction writing the version and its event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping

from eproc_shared.auth import Role, ensure_opd
from eproc_shared.events.types import recording as ev
from eproc_tender.domain import DomainError
from eproc_tender.domain.recording import RecordFacts, resolve_method
from eproc_tender.flows.packages import thresholds
from eproc_tender.flows.participation import facts_for
from eproc_tender.models import recording_revisions, recordings
from eproc_tender.recording_schemas import CorrectionIn, RecordIn
from eproc_tender.store import Ctx, not_found


async def _checked(ctx: Ctx, body: RecordIn) -> dict[str, Any]:
    """The version to store: the body as given, its resolved method, and the vendor's name from the register."""
    vendor_name = body.vendor_name
    if body.vendor_id is not None:
        facts = await facts_for(ctx, body.vendor_id)
        if facts is None:
            raise DomainError("unknown-vendor", f"No vendor {body.vendor_id} in the register.", field="vendor_id")
        vendor_name = vendor_name or facts["legal_name"]
    method = resolve_method(
        RecordFacts(
            kind=body.kind,
            method=body.method,
            procurement_type=body.procurement_type,
            pagu=body.pagu,
            realised_value=body.realised_value,
            vendor_named=bool(vendor_name),
            swakelola_type=body.swakelola_type,
            organiser=body.organiser,
            start_date=body.start_date,
            end_date=body.end_date,
            legal_basis=body.legal_basis,
        ),
        thresholds(ctx),
    )
    data = body.model_dump(mode="json", exclude={"correction_reason"})
    data.update(method=method.value, vendor_name=vendor_name)
    return data


def _event(
    row_id: str, code: str, revision: int, data: dict[str, Any], ppk_id: str, at: datetime, **extra: Any
) -> ev.TenderPurchaseRecorded:
    fields = {k: v for k, v in data.items() if k not in {"proofs"}}
    return ev.TenderPurchaseRecorded(
        record_id=row_id,
        code=code,
        revision=revision,
        proofs=[ev.RecordedProof(**p) for p in data["proofs"]],
        ppk_id=ppk_id,
        recorded_at=at,
        **fields,
        **extra,
    )


async def record(ctx: Ctx, body: RecordIn, *, import_id: str | None = None) -> RowMapping:
    assert ctx.principal is not None
    ensure_opd(ctx.principal, body.opd_id, roles={Role.PPK})
    data = await _checked(ctx, body)
    record_id = str(uuid.uuid4())
    code = f"CAT-{body.fiscal_year}-{record_id[:8].upper()}"
    await ctx.session.execute(
        insert(recordings).values(
            id=record_id,
            code=code,
            opd_id=body.opd_id,
            fiscal_year=body.fiscal_year,
            kind=body.kind.value,
            method=data["method"],
            vendor_id=body.vendor_id,
            realised_value=body.realised_value,
            revision=1,
            data=data,
            ppk_id=ctx.actor,
            import_id=import_id,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
    )
    await ctx.session.execute(
        insert(recording_revisions).values(
            recording_id=record_id, revision=1, data=data, actor=ctx.actor, import_id=import_id, recorded_at=ctx.now
        )
    )
    event = _event(record_id, code, 1, data, ctx.actor, ctx.now, import_id=import_id)
    await ctx.outbox.add(ctx.session, event, key=record_id, subject=code)
    return await get(ctx, record_id)


async def correct(ctx: Ctx, record_id: str, body: CorrectionIn) -> RowMapping:
    assert ctx.principal is not None
    stmt = select(recordings).where(recordings.c.id == record_id).with_for_update()
    current = (await ctx.session.execute(stmt)).mappings().first()
    if current is None:
        raise not_found("record")
    ensure_opd(ctx.principal, current["opd_id"], roles={Role.PPK})
    if body.opd_id != current["opd_id"]:
        raise DomainError("opd-fixed", "A record stays with its OPD; record it anew under the other.", field="opd_id")
    data = await _checked(ctx, body)
    revision = current["revision"] + 1
    reason = body.correction_reason
    await ctx.session.execute(
        update(recordings)
        .where(recordings.c.id == record_id)
        .values(
            fiscal_year=body.fiscal_year,
            kind=body.kind.value,
            method=data["method"],
            vendor_id=body.vendor_id,
            realised_value=body.realised_value,
            revision=revision,
            data=data,
            updated_at=ctx.now,
        )
    )
    await ctx.session.execute(
        insert(recording_revisions).values(
            recording_id=record_id, revision=revision, data=data, reason=reason, actor=ctx.actor, recorded_at=ctx.now
        )
    )
    event = _event(record_id, current["code"], revision, data, current["ppk_id"], ctx.now, correction_reason=reason)
    await ctx.outbox.add(ctx.session, event, key=record_id, subject=current["code"])
    return await get(ctx, record_id)


async def get(ctx: Ctx, record_id: str) -> RowMapping:
    row = (await ctx.session.execute(select(recordings).where(recordings.c.id == record_id))).mappings().first()
    if row is None:
        raise not_found("record")
    return row


async def history(ctx: Ctx, record_id: str) -> list[RowMapping]:
    stmt = (
        select(recording_revisions)
        .where(recording_revisions.c.recording_id == record_id)
        .order_by(recording_revisions.c.revision)
    )
    return list((await ctx.session.execute(stmt)).mappings())


def view(row: RowMapping, revisions: list[RowMapping] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row["id"],
        "code": row["code"],
        "revision": row["revision"],
        **row["data"],
        "ppk_id": row["ppk_id"],
        "import_id": row["import_id"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }
    if revisions is not None:
        body["history"] = [
            {
                "revision": r["revision"],
                "data": r["data"],
                "reason": r["reason"],
                "actor": r["actor"],
                "recorded_at": r["recorded_at"].isoformat(),
            }
            for r in revisions
        ]
    return body
