"""Running a contract: progress, payments, late penalties, amendments and handovers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from eproc_contract import access
from eproc_contract.context import Ctx
from eproc_contract.domain import ContractRuleError, StateConflict, amendments, lifecycle, payments, penalties
from eproc_contract.domain.guarantees import ADVANCE_PAYMENT
from eproc_contract.domain.terms import Terms
from eproc_contract.drafting import guaranteed_amount
from eproc_contract.models import amendments as amendment_rows
from eproc_contract.models import handovers, progress_reports, signatures, terms_versions
from eproc_contract.models import payments as payment_rows
from eproc_contract.models import penalties as penalty_rows
from eproc_contract.store import get_contract, has_payment, milestone_percent, new_id, paid_termins, set_contract
from eproc_contract.views import signature_list
from eproc_shared.events.types.contract import (
    ContractAmended,
    ContractHandedOver,
    ContractPaymentRecorded,
    ContractProgressReported,
)


def _ids(contract: Any) -> dict[str, str]:
    return {name: contract[name] for name in ("package_id", "opd_id", "vendor_id")}


def _day(ctx: Ctx, day: date | None, contract: Any, field: str) -> date:
    """A date the caller reports: today by default, never in the future nor before signing."""
    day = day or ctx.today
    lifecycle.not_in_future(day, ctx.today, field=field)
    lifecycle.not_before(day, contract["signed_on"], field=field, what="the signing date")
    return day


async def report_progress(
    ctx: Ctx,
    contract_id: str,
    *,
    milestone: str,
    percent: int,
    note: str | None,
    evidence: list[dict[str, Any]],
    reported_on: date | None,
) -> str:
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_party(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("report_progress", contract["status"])
    terms = Terms.from_json(contract["terms"])
    if milestone not in {m.code for m in terms.milestones}:
        raise ContractRuleError("unknown-milestone", f"No milestone {milestone!r} in the terms.", field="milestone")
    previous = await milestone_percent(ctx.session, contract_id, milestone)
    if previous is not None and percent < previous:
        raise ContractRuleError(
            "progress-backwards", f"Progress of {milestone} was {previous}%; it cannot go down.", field="percent"
        )
    day = _day(ctx, reported_on, contract, "reported_on")
    report_id = new_id()
    await ctx.session.execute(
        insert(progress_reports).values(
            id=report_id,
            contract_id=contract_id,
            milestone=milestone,
            percent=percent,
            reported_on=day,
            note=note,
            evidence=evidence,
            reported_by=ctx.actor,
            reported_at=ctx.now,
        )
    )
    await set_contract(ctx.session, contract_id, ctx.now)
    await ctx.emit(
        ContractProgressReported(
            contract_id=contract_id,
            **_ids(contract),
            milestone=milestone,
            percent=percent,
            evidence_count=len(evidence),
            reported_by=ctx.actor,
            reported_on=day,
        ),
        contract_id,
    )
    return report_id


async def record_payment(
    ctx: Ctx,
    contract_id: str,
    *,
    kind: str,
    termin: int | None,
    amount: int | None,
    paid_on: date | None,
    reference: str | None,
) -> str:
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_ppk(ctx.principal, contract)  # type: ignore[arg-type]
    terms = Terms.from_json(contract["terms"]) if contract["terms"] else None
    paid, value = contract["paid_total"], contract["current_value"]
    held = contract["retention_held"]
    if kind == payments.RETENTION_RELEASE:
        lifecycle.require("release_retention", contract["status"])
        if held <= 0:
            raise StateConflict("no-retention", "No retention is held on this contract.")
        if amount is not None and amount != held:
            raise ContractRuleError(
                "invalid-amount", f"The retention held is Rp{held}; release all of it.", field="amount"
            )
        split = payments.Split(gross=0, retention=-held, net=held)
    else:
        if amount is None:
            raise ContractRuleError("amount-required", "Give the amount paid.", field="amount")
        if kind == payments.ADVANCE:
            lifecycle.require("pay_advance", contract["status"])
            payments.check_advance(
                amount=amount,
                planned=terms.advance_payment_amount if terms else 0,
                guaranteed=await guaranteed_amount(ctx, contract_id, ADVANCE_PAYMENT),
                already_paid=await has_payment(ctx.session, contract_id, payments.ADVANCE),
            )
            payments.check_ceiling(amount=amount, paid_so_far=paid, current_value=value)
            split = payments.Split(gross=amount, retention=0, net=amount)
        else:
            lifecycle.require("pay_termin", contract["status"])
            assert terms is not None
            planned = terms.termin(termin) if termin is not None else None
            payments.check_termin(
                termin=termin,
                planned={t.termin for t in terms.payment_plan},
                already_paid=await paid_termins(ctx.session, contract_id),
                milestone_percent=(
                    await milestone_percent(ctx.session, contract_id, planned.milestone) if planned else None
                ),
            )
            payments.check_ceiling(amount=amount, paid_so_far=paid, current_value=value)
            split = payments.termin_split(amount, terms.retention_bps)
    day = _day(ctx, paid_on, contract, "paid_on")
    payment_id = new_id()
    await ctx.session.execute(
        insert(payment_rows).values(
            id=payment_id,
            contract_id=contract_id,
            kind=kind,
            termin=termin if kind == payments.TERMIN else None,
            gross_amount=split.gross,
            retention_amount=max(split.retention, 0),
            net_amount=split.net,
            paid_on=day,
            reference=reference,
            recorded_by=ctx.actor,
            recorded_at=ctx.now,
        )
    )
    await set_contract(
        ctx.session, contract_id, ctx.now, paid_total=paid + split.gross, retention_held=held + split.retention
    )
    await ctx.emit(
        ContractPaymentRecorded(
            contract_id=contract_id,
            **_ids(contract),
            payment_id=payment_id,
            kind=kind,  # type: ignore[arg-type]
            termin=termin if kind == payments.TERMIN else None,
            gross_amount=split.gross,
            retention_amount=max(split.retention, 0),
            net_amount=split.net,
            paid_on=day,
            total_paid=paid + split.gross,
            current_value=value,
        ),
        contract_id,
    )
    return payment_id


def _penalty(ctx: Ctx, contract: Any, on: date, late_part: int | None) -> penalties.Penalty:
    return penalties.late_penalty(
        value=contract["current_value"],
        days_late=lifecycle.days_late(contract["planned_end"], on),
        per_mille_per_day=ctx.settings.penalty_per_mille_per_day,
        cap_bps=ctx.settings.penalty_cap_bps,
        late_part=late_part,
    )


async def _store_penalty(ctx: Ctx, contract: Any, on: date, late_part: int | None, p: penalties.Penalty) -> str:
    penalty_id = new_id()
    await ctx.session.execute(
        insert(penalty_rows).values(
            id=penalty_id,
            contract_id=contract["id"],
            assessed_on=on,
            days_late=p.days_late,
            base=p.base,
            late_part_value=late_part,
            uncapped=p.uncapped,
            cap=p.cap,
            amount=p.amount,
            assessed_by=ctx.actor,
            assessed_at=ctx.now,
        )
    )
    # An assessment covers all the lateness up to its day, so the latest one is the penalty owed.
    await set_contract(ctx.session, contract["id"], ctx.now, penalty_amount=p.amount)
    return penalty_id


async def assess_penalty(ctx: Ctx, contract_id: str, *, on: date | None, late_part_value: int | None) -> dict[str, Any]:
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_ppk(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("assess_penalty", contract["status"])
    day = on or contract["handed_over_on"] or ctx.today
    lifecycle.not_in_future(day, ctx.today, field="on")
    if contract["handed_over_on"] and day > contract["handed_over_on"]:
        raise ContractRuleError("after-handover", "Lateness ends at the final handover.", field="on")
    p = _penalty(ctx, contract, day, late_part_value)
    if p.days_late == 0:
        raise ContractRuleError(
            "not-late", f"On {day} the work is not late (planned end {contract['planned_end']}).", field="on"
        )
    penalty_id = await _store_penalty(ctx, contract, day, late_part_value, p)
    return {
        "id": penalty_id,
        "days_late": p.days_late,
        "base": p.base,
        "uncapped": p.uncapped,
        "cap": p.cap,
        "amount": p.amount,
        "capped": p.capped,
    }


async def propose_amendment(
    ctx: Ctx, contract_id: str, *, reason: str, scope_change: str | None, value_delta: int, extension_days: int
) -> int:
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_ppk(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("amend", contract["status"])
    open_one = await ctx.session.scalar(
        select(amendment_rows.c.number).where(
            amendment_rows.c.contract_id == contract_id, amendment_rows.c.status == "proposed"
        )
    )
    if open_one is not None:
        raise StateConflict("amendment-open", f"Amendment {open_one} waits for the vendor's signature.")
    _check_amendment(ctx, contract, value_delta, extension_days, scope_change)
    number = 1 + len(
        (
            await ctx.session.scalars(select(amendment_rows.c.id).where(amendment_rows.c.contract_id == contract_id))
        ).all()
    )
    await ctx.session.execute(
        insert(amendment_rows).values(
            id=new_id(),
            contract_id=contract_id,
            number=number,
            status="proposed",
            reason=reason,
            scope_change=scope_change,
            value_delta=value_delta,
            extension_days=extension_days,
            proposed_by=ctx.actor,
            proposed_at=ctx.now,
        )
    )
    # Proposing is the PPK's signature of the amendment; the vendor's makes it binding.
    await ctx.session.execute(
        insert(signatures).values(
            contract_id=contract_id, amendment_number=number, party="ppk", signer_id=ctx.actor, seq=1, signed_at=ctx.now
        )
    )
    await set_contract(ctx.session, contract_id, ctx.now)
    return number


def _check_amendment(ctx: Ctx, contract: Any, value_delta: int, extension_days: int, scope: str | None) -> int:
    return amendments.check_amendment(
        value_delta=value_delta,
        extension_days=extension_days,
        scope_change=scope,
        original_value=contract["original_value"],
        current_value=contract["current_value"],
        added_so_far=contract["added_value_total"],
        paid=contract["paid_total"],
        cap_bps=ctx.settings.amendment_cap_bps,
    )


async def sign_amendment(ctx: Ctx, contract_id: str, number: int) -> None:
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_vendor(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("amend", contract["status"])
    row = (
        (
            await ctx.session.execute(
                select(amendment_rows).where(
                    amendment_rows.c.contract_id == contract_id, amendment_rows.c.number == number
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise ContractRuleError("unknown-amendment", f"No amendment {number} on this contract.", field="number")
    if row["status"] != "proposed":
        raise StateConflict("amendment-not-open", f"Amendment {number} is {row['status']}.")
    added = _check_amendment(ctx, contract, row["value_delta"], row["extension_days"], row["scope_change"])
    await ctx.session.execute(
        insert(signatures).values(
            contract_id=contract_id,
            amendment_number=number,
            party="vendor",
            signer_id=ctx.actor,
            seq=2,
            signed_at=ctx.now,
        )
    )
    terms = contract["terms"]
    new_terms = {
        **terms,
        "duration_days": terms["duration_days"] + row["extension_days"],
        "scope": terms["scope"] + (f"\n\nAdendum {number}: {row['scope_change']}" if row["scope_change"] else ""),
    }
    new_value = contract["current_value"] + row["value_delta"]
    end = contract["planned_end"] + timedelta(days=row["extension_days"]) if contract["planned_end"] else None
    version = contract["terms_version"] + 1
    await ctx.session.execute(
        insert(terms_versions).values(
            contract_id=contract_id,
            version=version,
            terms=new_terms,
            value=new_value,
            planned_end=end,
            amendment_number=number,
            effective_at=ctx.now,
        )
    )
    await ctx.session.execute(
        update(amendment_rows)
        .where(amendment_rows.c.id == row["id"])
        .values(status="signed", applied_at=ctx.now, applied_on=ctx.today, terms_version=version)
    )
    await set_contract(
        ctx.session,
        contract_id,
        ctx.now,
        terms=new_terms,
        terms_version=version,
        current_value=new_value,
        added_value_total=added,
        planned_end=end,
    )
    await ctx.emit(
        ContractAmended(
            contract_id=contract_id,
            **_ids(contract),
            amendment_number=number,
            terms_version=version,
            reason=row["reason"],
            scope_change=row["scope_change"],
            value_delta=row["value_delta"],
            extension_days=row["extension_days"],
            previous_value=contract["current_value"],
            new_value=new_value,
            planned_end=end,
            added_value_total=added,
            signatures=await signature_list(ctx.session, contract_id, number),
            amended_on=ctx.today,
        ),
        contract_id,
    )
    await ctx.emit_public(contract_id, "amended")


async def hand_over(
    ctx: Ctx, contract_id: str, *, kind: str, description: str, handed_over_on: date | None
) -> dict[str, Any]:
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_ppk(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("hand_over_final" if kind == "final" else "hand_over_partial", contract["status"])
    day = _day(ctx, handed_over_on, contract, "handed_over_on")
    lifecycle.not_before(day, contract["start_date"], field="handed_over_on", what="the start date")
    late = lifecycle.days_late(contract["planned_end"], day)
    handover_id = new_id()
    await ctx.session.execute(
        insert(handovers).values(
            id=handover_id,
            contract_id=contract_id,
            kind=kind,
            handed_over_on=day,
            description=description,
            days_late=late,
            recorded_by=ctx.actor,
            recorded_at=ctx.now,
        )
    )
    penalty = None
    if kind == "final":
        await set_contract(ctx.session, contract_id, ctx.now, status=lifecycle.HANDED_OVER, handed_over_on=day)
        if late:
            # The lateness is known in full at the final handover: it is assessed on the whole value; where
            # the contract allows, the PPK reassesses it on the late part (POST .../penalties).
            p = _penalty(ctx, contract, day, None)
            penalty = {"days_late": p.days_late, "amount": p.amount, "uncapped": p.uncapped, "cap": p.cap}
            await _store_penalty(ctx, contract, day, None, p)
    else:
        await set_contract(ctx.session, contract_id, ctx.now)
    await ctx.emit(
        ContractHandedOver(
            contract_id=contract_id,
            **_ids(contract),
            handover_id=handover_id,
            kind=kind,  # type: ignore[arg-type]
            handed_over_on=day,
            description=description,
            days_late=late,
        ),
        contract_id,
    )
    await ctx.emit_public(contract_id, "handed_over")
    return {"id": handover_id, "days_late": late, "penalty": penalty}
