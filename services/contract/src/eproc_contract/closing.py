"""The end of a contract: completion, termination (pemutusan) or stopping (penghentian), and the rating."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert, select, update

from eproc_contract import access
from eproc_contract.context import Ctx
from eproc_contract.domain import ContractRuleError, StateConflict, lifecycle
from eproc_contract.domain.ratings import check_scores
from eproc_contract.models import ratings
from eproc_contract.store import get_contract, new_id, set_contract
from eproc_shared.events.types.contract import (
    ContractCompleted,
    ContractRatingScore,
    ContractStopped,
    ContractTerminated,
    ContractVendorRated,
)


async def complete(ctx: Ctx, contract_id: str, *, completed_on: date | None) -> None:
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_ppk(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("complete", contract["status"])
    day = completed_on or ctx.today
    lifecycle.not_in_future(day, ctx.today, field="completed_on")
    lifecycle.not_before(day, contract["handed_over_on"], field="completed_on", what="the final handover")
    await set_contract(ctx.session, contract_id, ctx.now, status=lifecycle.COMPLETED, ended_on=day)
    await ctx.emit(
        ContractCompleted(
            contract_id=contract_id,
            package_id=contract["package_id"],
            opd_id=contract["opd_id"],
            vendor_id=contract["vendor_id"],
            ppk_id=contract["ppk_id"],
            signed_on=contract["signed_on"],
            completed_on=day,
            original_value=contract["original_value"],
            final_value=contract["current_value"],
            kbli_code=contract["kbli_code"],
        ),
        contract_id,
    )
    await ctx.emit_public(contract_id, "completed")


async def end_early(
    ctx: Ctx,
    contract_id: str,
    *,
    kind: str,
    reason: str,
    fault_party: str,
    legal_basis: str | None,
    blacklist_recommended: bool,
    on: date | None,
) -> None:
    """Termination (pemutusan) for a party's fault, or stopping (penghentian) the work."""
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_ppk(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("end_early", contract["status"])
    if blacklist_recommended and fault_party != "vendor":
        raise ContractRuleError(
            "blacklist-needs-vendor-fault",
            "Blacklisting can be recommended only when the vendor is at fault.",
            field="blacklist_recommended",
        )
    day = on or ctx.today
    lifecycle.not_in_future(day, ctx.today, field="on")
    lifecycle.not_before(day, contract["signed_on"], field="on", what="the signing date")
    status = lifecycle.TERMINATED if kind == "termination" else lifecycle.STOPPED
    await set_contract(
        ctx.session, contract_id, ctx.now, status=status, ended_on=day, end_reason=reason, fault_party=fault_party,
        legal_basis=legal_basis, blacklist_recommended=blacklist_recommended,
    )  # fmt: skip
    common = {
        "contract_id": contract_id,
        "package_id": contract["package_id"],
        "opd_id": contract["opd_id"],
        "vendor_id": contract["vendor_id"],
        "ppk_id": contract["ppk_id"],
        "original_value": contract["original_value"],
        "final_value": contract["current_value"],
        "paid_value": contract["paid_total"],
        "reason": reason,
        "fault_party": fault_party,
        "legal_basis": legal_basis,
    }
    if status == lifecycle.TERMINATED:
        event = ContractTerminated(
            **common, signed_on=contract["signed_on"], terminated_on=day, blacklist_recommended=blacklist_recommended
        )
    else:
        event = ContractStopped(**common, stopped_on=day)  # type: ignore[assignment]
    await ctx.emit(event, contract_id)
    await ctx.emit_public(contract_id, status)


async def rate(ctx: Ctx, contract_id: str, *, scores: list[tuple[str, int, int]], comment: str | None) -> str:
    """The PPK's rating; rating again corrects it (same rating id, the vendor service keeps the latest)."""
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_ppk(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("rate", contract["status"])
    if contract["signed_on"] is None:
        raise StateConflict("never-signed", "A contract that was never signed is not rated.")
    check_scores(scores, ctx.settings.rating_criteria)
    stored = [{"criterion": c, "score": s, "scale_max": m} for c, s, m in scores]
    existing = await ctx.session.scalar(select(ratings.c.id).where(ratings.c.contract_id == contract_id))
    rating_id = existing or new_id()
    values = {"scores": stored, "comment": comment, "rated_by": ctx.actor, "rated_on": ctx.today, "rated_at": ctx.now}
    if existing:
        await ctx.session.execute(update(ratings).where(ratings.c.id == rating_id).values(**values))
    else:
        await ctx.session.execute(insert(ratings).values(id=rating_id, contract_id=contract_id, **values))
    await set_contract(ctx.session, contract_id, ctx.now)
    await ctx.emit(
        ContractVendorRated(
            rating_id=rating_id,
            contract_id=contract_id,
            package_id=contract["package_id"],
            opd_id=contract["opd_id"],
            vendor_id=contract["vendor_id"],
            ppk_id=contract["ppk_id"],
            rated_on=ctx.today,
            contract_value=contract["current_value"],
            scores=[ContractRatingScore(criterion=c, score=s, scale_max=m) for c, s, m in scores],
            comment=comment,
        ),
        contract_id,
    )
    return rating_id
