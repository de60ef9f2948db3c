"""Creating a package, handing it to a Pokja, scheduling, announcing, addenda, failure, cancellation, re-tender."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from eproc_shared.auth import Role, ensure_opd, forbidden
from eproc_shared.events.types import tender as ev
from eproc_tender.domain import Conflict, DomainError, auction, rules
from eproc_tender.domain.machine import Action, Status
from eproc_tender.domain.schedule import Stage, Window, apply_addendum, stages_for, validate_schedule
from eproc_tender.domain.sealing import new_package_keys
from eproc_tender.models import addenda, package_documents, packages, stages
from eproc_tender.schemas import AddendumIn, AssignIn, FailureIn, PackageIn, PackagePatch, ReasonIn, ScheduleIn
from eproc_tender.store import (
    Ctx,
    act_as_pokja,
    act_as_ppk,
    emit,
    get_package,
    load_schedule,
    set_status,
)


def thresholds(ctx: Ctx) -> rules.Thresholds:
    s = ctx.settings
    return rules.Thresholds(s.tender_min_value, s.seleksi_min_value, s.small_business_ceiling)


def package_facts(pkg: RowMapping) -> ev.TenderPackageFacts:
    return ev.TenderPackageFacts(
        package_id=pkg["id"],
        code=pkg["code"],
        name=pkg["name"],
        opd_id=pkg["opd_id"],
        satker=pkg["satker"],
        fiscal_year=pkg["fiscal_year"],
        procurement_type=pkg["procurement_type"],
        method=pkg["method"],
        qualification=pkg["qualification"],
        envelope_system=pkg["envelope_system"],
        evaluation_system=pkg["evaluation_system"],
        contract_type=pkg["contract_type"],
        pagu=pkg["pagu"],
        hps=pkg["hps"],
        kbli_codes=pkg["kbli_codes"],
        size_classes=pkg["size_classes"],
        location=pkg["location"],
    )


def schedule_windows(schedule: dict[Stage, Window]) -> list[ev.TenderStageWindow]:
    return [
        ev.TenderStageWindow(stage=stage, starts_at=schedule[stage].starts_at, ends_at=schedule[stage].ends_at)
        for stage in Stage
        if stage in schedule
    ]


def validate_package(body: PackageIn, ctx: Ctx) -> list[str]:
    limits = thresholds(ctx)
    rules.check_qualification(body.method, body.qualification, body.complexity_reason)
    if body.method is rules.Method.SELEKSI and body.evaluation_system is rules.EvaluationSystem.SCORING:
        raise DomainError(
            "evaluation-method-mismatch", "Seleksi uses quality_cost or lowest_price.", field="evaluation_system"
        )
    if body.method is rules.Method.TENDER and body.evaluation_system is rules.EvaluationSystem.QUALITY_COST:
        raise DomainError("evaluation-method-mismatch", "Quality and cost is for seleksi.", field="evaluation_system")
    items = [rules.HpsItem(i.description, i.unit, i.quantity, i.unit_price) for i in body.hps_items]
    rules.check_values(body.pagu, body.hps, items)
    rules.check_method_fits(body.method, body.procurement_type, body.hps, limits)
    rules.check_appointment(body.method, body.appointment_case, body.legal_basis)
    if body.method is rules.Method.TENDER_CEPAT:
        auction.check_package(items, body.qualification, body.envelope_system, body.evaluation_system)
    rules.check_weights(body.evaluation_system, body.technical_weight, body.price_weight)
    return rules.allowed_sizes(body.hps, list(body.size_classes), body.small_business_exemption, limits)


async def create(ctx: Ctx, body: PackageIn, *, retender_of: str | None = None) -> RowMapping:
    assert ctx.principal is not None
    ensure_opd(ctx.principal, body.opd_id, roles={Role.PPK})
    sizes = validate_package(body, ctx)
    package_id = str(uuid.uuid4())
    keys = new_package_keys(ctx.settings.kek_bytes(), package_id)
    count = (await ctx.session.execute(select(func.count()).select_from(packages))).scalar_one()
    code = f"{body.fiscal_year}-{count + 1:06d}-{package_id[:4]}"
    await ctx.session.execute(
        insert(packages).values(
            id=package_id,
            code=code,
            name=body.name,
            search_text=f"{body.name} {body.satker or ''} {body.location or ''} {code}".lower(),
            opd_id=body.opd_id,
            satker=body.satker,
            fiscal_year=body.fiscal_year,
            procurement_type=body.procurement_type,
            method=body.method,
            qualification=body.qualification,
            envelope_system=body.envelope_system,
            evaluation_system=body.evaluation_system,
            technical_weight=body.technical_weight,
            price_weight=body.price_weight,
            contract_type=body.contract_type,
            pagu=body.pagu,
            hps=body.hps,
            hps_items=[i.model_dump() for i in body.hps_items],
            kbli_codes=list(body.kbli_codes),
            size_classes=sizes,
            small_business_exemption=body.small_business_exemption,
            location=body.location,
            complexity_reason=body.complexity_reason,
            appointment_case=body.appointment_case,
            legal_basis=body.legal_basis,
            ppk_id=ctx.principal.subject,
            status=Status.DRAFT,
            public_key=keys.public_key,
            wrapped_private_key=keys.wrapped_private_key,
            retender_of=retender_of,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
    )
    return await get_package(ctx.session, package_id)


def stages_of(pkg: Mapping[str, Any]) -> tuple[Stage, ...]:
    return stages_for(
        prequalification=pkg["qualification"] == rules.Qualification.PRA,
        two_stage=pkg["envelope_system"] == rules.EnvelopeSystem.TWO_STAGE,
    )


async def assign(ctx: Ctx, package_id: str, body: AssignIn) -> RowMapping:
    pkg, target = await act_as_ppk(ctx, package_id, Action.ASSIGN)
    if pkg["method"] in rules.DIRECT_METHODS:
        # A direct method is run by one Pejabat Pengadaan, named by its user id.
        if body.members is not None or not body.pokja_id:
            raise DomainError(
                "official-required", "Name the Pejabat Pengadaan (pokja_id), not a committee.", field="pokja_id"
            )
        pkg = await set_status(ctx, package_id, {"status": target, "pokja_id": body.pokja_id, "pokja_members": None})
        await _announce_assignment(ctx, pkg, "pejabat_pengadaan", [body.pokja_id])
        return pkg
    members = rules.check_committee(body.pokja_id, body.members, ctx.settings.pokja_sizes)
    pokja_id = body.pokja_id or f"pokja-{pkg['code']}"
    pkg = await set_status(ctx, package_id, {"status": target, "pokja_id": pokja_id, "pokja_members": members})
    await _announce_assignment(ctx, pkg, "pokja", list(members) if members else [pokja_id])
    return pkg


async def _announce_assignment(ctx: Ctx, pkg: RowMapping, role: str, assignees: list[str]) -> None:
    """Tell who now runs the package (the notification service tells them in turn)."""
    await emit(
        ctx,
        pkg["id"],
        ev.TenderPackageAssigned(
            package_id=pkg["id"],
            code=pkg["code"],
            name=pkg["name"],
            opd_id=pkg["opd_id"],
            method=pkg["method"],
            ppk_id=pkg["ppk_id"],
            assigned_role=role,  # type: ignore[arg-type]
            assignee_ids=assignees,
            assigned_at=ctx.now,
        ),
    )


async def edit(ctx: Ctx, package_id: str, body: PackagePatch) -> RowMapping:
    """The PPK changes its draft before announcement; the merged package is validated as a new one would be."""
    pkg, target = await act_as_ppk(ctx, package_id, Action.EDIT)
    if not ctx.principal.is_admin and pkg["ppk_id"] != ctx.principal.subject:
        raise forbidden("Only the PPK who created the package edits it.")
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise DomainError("nothing-to-change", "Name at least one field to change.", field="name")
    merged = PackageIn(**{**_package_in_values(pkg), **changes})
    sizes = validate_package(merged, ctx)
    values = merged.model_dump(exclude={"opd_id", "fiscal_year", "procurement_type", "method"})
    values["hps_items"] = [i.model_dump() for i in merged.hps_items]
    values["kbli_codes"] = list(merged.kbli_codes)
    values["size_classes"] = sizes
    values["search_text"] = f"{merged.name} {merged.satker or ''} {merged.location or ''} {pkg['code']}".lower()
    if Status(pkg["status"]) is Status.ASSIGNED and stages_of(pkg) != stages_of({**pkg, **values}):
        # The schedule names the stages of the old shape: it has to be set again.
        await ctx.session.execute(delete(stages).where(stages.c.package_id == package_id))
        values["submission_ends_at"] = None
    return await set_status(ctx, package_id, {**values, "status": target})


def _package_in_values(pkg: RowMapping) -> dict[str, Any]:
    return {name: pkg[name] for name in PackageIn.model_fields}


def _windows(body: dict[Stage, Any]) -> dict[Stage, Window]:
    return {stage: Window(w.starts_at, w.ends_at) for stage, w in body.items()}


async def _write_schedule(ctx: Ctx, package_id: str, schedule: dict[Stage, Window]) -> None:
    await ctx.session.execute(delete(stages).where(stages.c.package_id == package_id))
    await ctx.session.execute(
        insert(stages),
        [
            {"package_id": package_id, "stage": s, "starts_at": w.starts_at, "ends_at": w.ends_at}
            for s, w in schedule.items()
        ],
    )


async def set_schedule(ctx: Ctx, package_id: str, body: ScheduleIn) -> RowMapping:
    pkg, target = await act_as_pokja(ctx, package_id, Action.SCHEDULE)
    schedule = _windows(body.stages)
    validate_schedule(schedule, stages_of(pkg), exact=True)
    await _write_schedule(ctx, package_id, schedule)
    return await set_status(
        ctx, package_id, {"status": target, "submission_ends_at": schedule[Stage.SUBMISSION].ends_at}
    )


async def announce(ctx: Ctx, package_id: str) -> RowMapping:
    pkg, target = await act_as_pokja(ctx, package_id, Action.ANNOUNCE)
    if pkg["method"] == rules.Method.TENDER_CEPAT:
        # Imported here: the auction flow builds on this module (package facts, failure).
        from eproc_tender.flows import auction as auction_flow

        return await auction_flow.announce(ctx, pkg, target)
    await ctx.session.execute(
        update(package_documents).where(package_documents.c.package_id == package_id).values(published=True)
    )
    pkg = await set_status(ctx, package_id, {"status": target, "announced_at": ctx.now})
    schedule = await load_schedule(ctx.session, package_id)
    await emit(
        ctx,
        package_id,
        ev.TenderAnnounced(
            package=package_facts(pkg),
            schedule=schedule_windows(schedule),
            announced_at=ctx.now,
            retender_of=pkg["retender_of"],
        ),
    )
    return pkg


async def amend(ctx: Ctx, package_id: str, body: AddendumIn) -> RowMapping:
    pkg, _ = await act_as_pokja(ctx, package_id, Action.AMEND)
    current = await load_schedule(ctx.session, package_id)
    staged = (
        await ctx.session.execute(
            select(func.count()).where(
                package_documents.c.package_id == package_id, package_documents.c.published.is_(False)
            )
        )
    ).scalar_one()
    if body.documents_changed and not staged:
        raise DomainError(
            "no-new-documents",
            "Upload the changed documents before the addendum that publishes them.",
            field="documents_changed",
        )
    if staged and not body.documents_changed:
        raise DomainError(
            "documents-unpublished", "New documents were uploaded: set documents_changed.", field="documents_changed"
        )
    updated = apply_addendum(
        current,
        _windows(body.stages),
        now=ctx.now,
        documents_changed=body.documents_changed,
        min_working_days=ctx.settings.addendum_min_working_days,
        stages=stages_of(pkg),
    )
    number = (
        await ctx.session.execute(select(func.count()).where(addenda.c.package_id == package_id))
    ).scalar_one() + 1
    await _write_schedule(ctx, package_id, updated)
    await ctx.session.execute(
        insert(addenda).values(
            id=str(uuid.uuid4()),
            package_id=package_id,
            number=number,
            reason=body.reason,
            changes={
                s: {"starts_at": w.starts_at.isoformat(), "ends_at": w.ends_at.isoformat()}
                for s, w in body.stages.items()
            },
            documents_changed=body.documents_changed,
            created_by=ctx.actor,
            created_at=ctx.now,
        )
    )
    if body.documents_changed:
        await ctx.session.execute(
            update(package_documents)
            .where(package_documents.c.package_id == package_id, package_documents.c.published.is_(False))
            .values(published=True, addendum_number=number)
        )
    pkg = await set_status(ctx, package_id, {"submission_ends_at": updated[Stage.SUBMISSION].ends_at})
    await emit(
        ctx,
        package_id,
        ev.TenderAmended(
            package_id=package_id,
            addendum_number=number,
            reason=body.reason,
            schedule=schedule_windows(updated),
            documents_changed=body.documents_changed,
            amended_at=ctx.now,
        ),
    )
    return pkg


async def fail(ctx: Ctx, pkg: RowMapping, code: str, reason: str) -> RowMapping:
    """Move an (already locked and checked) package to failed, with its event."""
    pkg = await set_status(ctx, pkg["id"], {"status": Status.FAILED, "failure_code": code, "failure_reason": reason})
    await emit(
        ctx,
        pkg["id"],
        ev.TenderFailed(package_id=pkg["id"], opd_id=pkg["opd_id"], reason_code=code, reason=reason, failed_at=ctx.now),
    )
    return pkg


async def award_to(
    ctx: Ctx,
    pkg: RowMapping,
    target: Status,
    number: str,
    *,
    winner: ev.TenderAwardWinner,
    offered_price: int,
    awarded_price: int,
    low_price: bool,
    reserve_vendor_ids: list[str],
) -> RowMapping:
    """Award the package (SPPBJ, or a direct method's SPK or purchase order ``number``) with the same
    ``tender.awarded.v1`` from every method; a low-priced winner's performance guarantee is based on the HPS."""
    pkg = await set_status(ctx, pkg["id"], {"status": target, "sppbj_number": number, "awarded_at": ctx.now})
    await emit(
        ctx,
        pkg["id"],
        ev.TenderAwarded(
            package=package_facts(pkg),
            ppk_id=pkg["ppk_id"],
            pokja_id=pkg["pokja_id"],
            winner=winner,
            offered_price=offered_price,
            awarded_price=awarded_price,
            low_price=low_price,
            performance_guarantee_base=pkg["hps"] if low_price else awarded_price,
            reserve_vendor_ids=reserve_vendor_ids,
            sppbj_number=number,
            awarded_at=ctx.now,
        ),
    )
    return pkg


async def declare_failed(ctx: Ctx, package_id: str, body: FailureIn) -> RowMapping:
    pkg, _ = await act_as_pokja(ctx, package_id, Action.FAIL)
    return await fail(ctx, pkg, body.reason_code, body.reason)


async def cancel(ctx: Ctx, package_id: str, body: ReasonIn) -> RowMapping:
    pkg, target = await act_as_ppk(ctx, package_id, Action.CANCEL)
    pkg = await set_status(ctx, package_id, {"status": target, "cancel_reason": body.reason})
    await emit(
        ctx,
        package_id,
        ev.TenderCancelled(package_id=package_id, opd_id=pkg["opd_id"], reason=body.reason, cancelled_at=ctx.now),
    )
    return pkg


async def retender(ctx: Ctx, package_id: str) -> RowMapping:
    pkg, _ = await act_as_ppk(ctx, package_id, Action.RETENDER)
    already = (await ctx.session.execute(select(packages.c.id).where(packages.c.retender_of == package_id))).first()
    if already:
        raise Conflict("already-retendered", f"This package was already re-tendered as {already[0]}.")
    body = PackageIn(**_package_in_values(pkg))
    if not ctx.principal.has_role(Role.PPK) and not ctx.principal.is_admin:
        raise forbidden("Only the PPK re-tenders a package.")
    return await create(ctx, body, retender_of=package_id)
