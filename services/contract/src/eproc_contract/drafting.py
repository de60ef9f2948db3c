"""From the award letter to a signed and started contract, and replacement by a reserve vendor."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.engine import RowMapping

from eproc_contract import access
from eproc_contract.clock import jakarta_date
from eproc_contract.context import Ctx
from eproc_contract.domain import ContractRuleError, StateConflict, contract_types, guarantees, lifecycle
from eproc_contract.domain.terms import TermLimits, Terms, check_terms
from eproc_contract.models import contracts, signatures, terms_versions
from eproc_contract.models import guarantees as guarantee_rows
from eproc_contract.store import find_by_source, get_contract, new_id, set_contract
from eproc_contract.views import signature_list
from eproc_shared.events.types.contract import (
    ContractDrafted,
    ContractPartySigned,
    ContractSignature,
    ContractSigned,
    ContractStarted,
)
from eproc_shared.events.types.tender import TenderAwarded


def award_ref(award: TenderAwarded) -> str:
    """One contract per award letter, however often (and by whichever method) the award is delivered."""
    return f"award:{award.package.package_id}:{award.sppbj_number}"


async def create_from_award(ctx: Ctx, award: TenderAwarded) -> str | None:
    """The contract draft for an award; ``None`` when this award already has its contract."""
    if await find_by_source(ctx.session, award_ref(award)) is not None:
        return None
    package = award.package
    s = ctx.settings
    required = guarantees.performance_guarantee(
        value=award.awarded_price,
        base=award.performance_guarantee_base,
        procurement_type=package.procurement_type,
        bps=s.performance_guarantee_bps,
        exempt_up_to=s.performance_guarantee_exempt_up_to,
    )
    contract_id = new_id()
    values = {
        "id": contract_id,
        "source_ref": award_ref(award),
        "package_id": package.package_id,
        "package_code": package.code,
        "package_name": package.name,
        "opd_id": package.opd_id,
        "satker": package.satker,
        "fiscal_year": package.fiscal_year,
        "procurement_type": package.procurement_type,
        "method": package.method,
        "location": package.location,
        "kbli_code": package.kbli_codes[0] if package.kbli_codes else None,
        "ppk_id": award.ppk_id,
        "vendor_id": award.winner.vendor_id,
        "vendor_name": award.winner.legal_name,
        "vendor_npwp": award.winner.npwp,
        "hps": package.hps,
        "pagu": package.pagu,
        "awarded_price": award.awarded_price,
        "low_price": award.low_price,
        "performance_guarantee_base": award.performance_guarantee_base,
        "performance_guarantee_amount": required,
        "reserve_vendor_ids": list(award.reserve_vendor_ids),
        "sppbj_number": award.sppbj_number,
        "sppbj_date": jakarta_date(award.awarded_at),
        "proposed_contract_type": contract_types.normalise(package.contract_type),
    }
    await _insert_draft(ctx, values, value=award.awarded_price)
    return contract_id


async def _insert_draft(ctx: Ctx, values: dict[str, object], *, value: int) -> None:
    await ctx.session.execute(
        insert(contracts).values(
            **values,
            original_value=value,
            current_value=value,
            added_value_total=0,
            paid_total=0,
            retention_held=0,
            penalty_amount=0,
            status=lifecycle.DRAFT,
            terms=None,
            terms_version=0,
            blacklist_recommended=False,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
    )
    await ctx.emit(
        ContractDrafted(
            contract_id=str(values["id"]),
            package_id=str(values["package_id"]),
            opd_id=str(values["opd_id"]),
            vendor_id=str(values["vendor_id"]),
            ppk_id=str(values["ppk_id"]),
            value=value,
            hps=int(values["hps"]),  # type: ignore[call-overload]
            pagu=int(values["pagu"]),  # type: ignore[call-overload]
            contract_type=values.get("proposed_contract_type"),  # type: ignore[arg-type]
            sppbj_number=values.get("sppbj_number"),  # type: ignore[arg-type]
            sppbj_date=values.get("sppbj_date"),  # type: ignore[arg-type]
            performance_guarantee_amount=int(values["performance_guarantee_amount"]),  # type: ignore[call-overload]
            replaces_contract_id=values.get("replaces_contract_id"),  # type: ignore[arg-type]
            drafted_at=ctx.now,
        ),
        str(values["id"]),
    )


def limits(ctx: Ctx) -> TermLimits:
    s = ctx.settings
    return TermLimits(
        max_retention_bps=s.max_retention_bps, max_advance_bps=s.max_advance_bps, max_duration_days=s.max_duration_days
    )


async def edit_draft(ctx: Ctx, contract_id: str, terms: Terms) -> None:
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_ppk(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("edit_draft", contract["status"])
    check_terms(
        terms, value=contract["current_value"], procurement_type=contract["procurement_type"], limits=limits(ctx)
    )
    await set_contract(ctx.session, contract_id, ctx.now, terms=terms.to_json())


async def _latest_guarantee(ctx: Ctx, contract_id: str, kind: str) -> RowMapping | None:
    stmt = (
        select(guarantee_rows)
        .where(guarantee_rows.c.contract_id == contract_id, guarantee_rows.c.kind == kind)
        .order_by(guarantee_rows.c.submitted_at.desc())
        .limit(1)
    )
    return (await ctx.session.execute(stmt)).mappings().first()


async def guaranteed_amount(ctx: Ctx, contract_id: str, kind: str) -> int:
    latest = await _latest_guarantee(ctx, contract_id, kind)
    return int(latest["amount"]) if latest and latest["valid_until"] >= ctx.today else 0


async def submit_guarantee(
    ctx: Ctx, contract_id: str, *, kind: str, issuer: str, number: str, amount: int, valid_until: date
) -> str:
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_vendor(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("submit_guarantee", contract["status"])
    terms = Terms.from_json(contract["terms"]) if contract["terms"] else None
    if kind == guarantees.PERFORMANCE:
        required = contract["performance_guarantee_amount"]
        needed_until = contract["planned_end"] or (
            ctx.today + timedelta(days=terms.duration_days - 1) if terms else ctx.today
        )
    else:
        required = terms.advance_payment_amount if terms else 0
        needed_until = ctx.today
    guarantees.check_submission(
        kind=kind, amount=amount, required=required, valid_until=valid_until, needed_until=needed_until
    )
    guarantee_id = new_id()
    await ctx.session.execute(
        insert(guarantee_rows).values(
            id=guarantee_id,
            contract_id=contract_id,
            kind=kind,
            issuer=issuer,
            number=number,
            amount=amount,
            valid_until=valid_until,
            submitted_by=ctx.actor,
            submitted_at=ctx.now,
        )
    )
    return guarantee_id


async def sign(ctx: Ctx, contract_id: str) -> str:
    """Records the caller's signature; the second one makes the contract binding. Answers the new status."""
    contract = await get_contract(ctx.session, contract_id, lock=True)
    party = access.ensure_party(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("sign", contract["status"])
    if not contract["terms"]:
        raise StateConflict("terms-missing", "The PPK has not drawn up the contract terms yet.")
    if await guaranteed_amount(ctx, contract_id, guarantees.PERFORMANCE) < contract["performance_guarantee_amount"]:
        raise StateConflict(
            "performance-guarantee-missing",
            f"A valid performance guarantee of Rp{contract['performance_guarantee_amount']} must be posted "
            "before the contract is signed.",
        )
    done = await signature_list(ctx.session, contract_id, 0)
    if any(s.party == party for s in done):
        raise StateConflict("already-signed", f"The {party} has signed this contract already.")
    await ctx.session.execute(
        insert(signatures).values(
            contract_id=contract_id,
            amendment_number=0,
            party=party,
            signer_id=ctx.actor,
            seq=len(done) + 1,
            signed_at=ctx.now,
        )
    )
    if not done:
        await set_contract(ctx.session, contract_id, ctx.now, status=lifecycle.SIGNING)
        await ctx.emit(
            ContractPartySigned(
                contract_id=contract_id,
                package_id=contract["package_id"],
                opd_id=contract["opd_id"],
                vendor_id=contract["vendor_id"],
                ppk_id=contract["ppk_id"],
                signature=ContractSignature(party=party, signer_id=ctx.actor, signed_at=ctx.now, order=1),
                awaiting="vendor" if party == "ppk" else "ppk",
            ),
            contract_id,
        )
        return lifecycle.SIGNING
    terms = Terms.from_json(contract["terms"])
    await set_contract(ctx.session, contract_id, ctx.now, status=lifecycle.SIGNED, signed_on=ctx.today, terms_version=1)
    await ctx.session.execute(
        insert(terms_versions).values(
            contract_id=contract_id,
            version=1,
            terms=contract["terms"],
            value=contract["current_value"],
            planned_end=None,
            amendment_number=None,
            effective_at=ctx.now,
        )
    )
    await ctx.emit(
        ContractSigned(
            contract_id=contract_id,
            package_id=contract["package_id"],
            opd_id=contract["opd_id"],
            vendor_id=contract["vendor_id"],
            ppk_id=contract["ppk_id"],
            contract_number=terms.contract_number,
            contract_type=terms.contract_type,
            value=contract["current_value"],
            duration_days=terms.duration_days,
            signatures=await signature_list(ctx.session, contract_id, 0),
            signed_on=ctx.today,
        ),
        contract_id,
    )
    await ctx.emit_public(contract_id, "signed")
    return lifecycle.SIGNED


async def start(ctx: Ctx, contract_id: str, *, spmk_number: str, start_date: date) -> None:
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_ppk(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("start", contract["status"])
    lifecycle.not_before(start_date, contract["signed_on"], field="start_date", what="the signing date")
    terms = Terms.from_json(contract["terms"])
    end = lifecycle.planned_end(start_date, terms.duration_days)
    await set_contract(
        ctx.session,
        contract_id,
        ctx.now,
        status=lifecycle.ACTIVE,
        spmk_number=spmk_number,
        start_date=start_date,
        planned_end=end,
    )
    await ctx.session.execute(
        terms_versions.update()
        .where(terms_versions.c.contract_id == contract_id, terms_versions.c.version == contract["terms_version"])
        .values(planned_end=end)
    )
    await ctx.emit(
        ContractStarted(
            contract_id=contract_id,
            package_id=contract["package_id"],
            opd_id=contract["opd_id"],
            vendor_id=contract["vendor_id"],
            spmk_number=spmk_number,
            start_date=start_date,
            planned_end=end,
            started_at=ctx.now,
        ),
        contract_id,
    )
    await ctx.emit_public(contract_id, "started")


async def replace_vendor(
    ctx: Ctx, contract_id: str, *, vendor_id: str, vendor_name: str, vendor_npwp: str | None, value: int
) -> str:
    """A draft for a reserve vendor to finish the work of a contract terminated for the vendor's fault."""
    contract = await get_contract(ctx.session, contract_id, lock=True)
    access.ensure_ppk(ctx.principal, contract)  # type: ignore[arg-type]
    lifecycle.require("replace", contract["status"])
    if not ctx.settings.replacement_allowed:
        raise StateConflict("replacement-not-allowed", "Replacement by a reserve vendor is switched off here.")
    if contract["fault_party"] != "vendor":
        raise StateConflict(
            "replacement-not-allowed", "Only a contract terminated for the vendor's fault goes to a reserve vendor."
        )
    if contract["replaced_by_contract_id"]:
        raise StateConflict("already-replaced", "This contract has a replacement already.")
    if vendor_id not in (contract["reserve_vendor_ids"] or []):
        raise ContractRuleError(
            "not-a-reserve", "The vendor is not a reserve (pemenang cadangan) of this award.", field="vendor_id"
        )
    remaining = contract["current_value"] - contract["paid_total"]
    if not 0 < value <= remaining:
        raise ContractRuleError(
            "invalid-value", f"The value must be positive and at most the unpaid Rp{remaining}.", field="value"
        )
    s = ctx.settings
    required = guarantees.performance_guarantee(
        value=value,
        base=value,
        procurement_type=contract["procurement_type"],
        bps=s.performance_guarantee_bps,
        exempt_up_to=s.performance_guarantee_exempt_up_to,
    )
    new_contract = new_id()
    carried = {
        name: contract[name]
        for name in (
            "package_id", "package_code", "package_name", "opd_id", "satker", "fiscal_year", "procurement_type",
            "method", "location", "kbli_code", "ppk_id", "hps", "pagu", "sppbj_number", "sppbj_date",
        )
    }  # fmt: skip
    count = await ctx.session.scalar(select(func.count()).where(contracts.c.package_id == contract["package_id"]))
    await _insert_draft(
        ctx,
        {
            **carried,
            "id": new_contract,
            "source_ref": f"replacement:{contract_id}",
            "vendor_id": vendor_id,
            "vendor_name": vendor_name,
            "vendor_npwp": vendor_npwp,
            "awarded_price": value,
            "low_price": False,
            "performance_guarantee_base": value,
            "performance_guarantee_amount": required,
            "reserve_vendor_ids": [v for v in contract["reserve_vendor_ids"] if v != vendor_id],
            "proposed_contract_type": (contract["terms"] or {}).get("contract_type"),
            "replaces_contract_id": contract_id,
            "sppbj_number": f"{contract['sppbj_number']}-R{count}",
        },
        value=value,
    )
    await set_contract(ctx.session, contract_id, ctx.now, replaced_by_contract_id=new_contract)
    return new_contract
