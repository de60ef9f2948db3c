"""Pengadaan and penunjukan langsung: the Pejabat Pengadaan invites, judges, negotiates and concludes; the PPK
awards with the SPK or purchase order data and the same ``tender.awarded.v1`` a tender ends with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping

from eproc_shared.auth import Principal, Role, forbidden
from eproc_shared.events.types import tender as ev
from eproc_shared.problems import ProblemError
from eproc_tender.domain import DomainError, direct
from eproc_tender.domain.evaluation import is_low_price
from eproc_tender.domain.machine import Action, Status
from eproc_tender.domain.rules import Method
from eproc_tender.flows.packages import award_to, package_facts
from eproc_tender.flows.participation import facts_for, ineligibility, vendor_ineligible
from eproc_tender.models import direct_invitations, direct_prices
from eproc_tender.schemas import AwardIn
from eproc_tender.store import Ctx, act, emit, set_status


def ensure_official(principal: Principal | None, pkg: Mapping[str, Any]) -> None:
    """Only the Pejabat Pengadaan the package was handed to runs it."""
    if principal is None or not principal.has_role(Role.PEJABAT_PENGADAAN) or principal.subject != pkg["pokja_id"]:
        raise forbidden("Only the Pejabat Pengadaan assigned to this package may do this.")


async def _act_as_official(ctx: Ctx, package_id: str, action: Action) -> tuple[RowMapping, Status]:
    """:func:`act` for an action only the package's Pejabat Pengadaan takes."""
    pkg, target = await act(ctx, package_id, action)
    ensure_official(ctx.principal, pkg)
    return pkg, target


async def _ensure_invited(ctx: Ctx, package_id: str, vendor_id: str) -> None:
    if vendor_id not in await invitations(ctx, package_id):
        raise DomainError("not-invited", "The vendor was not invited to this package.", field="vendor_id")


async def invitations(ctx: Ctx, package_id: str) -> dict[str, RowMapping]:
    stmt = select(direct_invitations).where(direct_invitations.c.package_id == package_id)
    return {r["vendor_id"]: r for r in (await ctx.session.execute(stmt)).mappings()}


async def prices(ctx: Ctx, package_id: str) -> list[RowMapping]:
    stmt = select(direct_prices).where(direct_prices.c.package_id == package_id).order_by(direct_prices.c.id)
    return list((await ctx.session.execute(stmt)).mappings())


def offers_of(history: list[RowMapping], vendor_id: str) -> list[int]:
    """The vendor's own offers in order (the official's proposals are not offers)."""
    return [p["price"] for p in history if p["vendor_id"] == vendor_id and p["party"] == "vendor"]


def latest_offer(history: list[RowMapping], vendor_id: str) -> int | None:
    offers = offers_of(history, vendor_id)
    return offers[-1] if offers else None


async def invite(ctx: Ctx, package_id: str, vendor_ids: list[str]) -> RowMapping:
    pkg, target = await _act_as_official(ctx, package_id, Action.INVITE_VENDORS)
    invited = await invitations(ctx, package_id)
    direct.check_invitation(Method(pkg["method"]), set(invited), vendor_ids)
    rows = []
    for index, vendor_id in enumerate(vendor_ids):
        facts = await facts_for(ctx, vendor_id)
        reasons = ineligibility(ctx, pkg, facts)
        if reasons:
            lead = f"Vendor {vendor_id} may not be invited"
            raise vendor_ineligible(reasons, lead, field=f"vendor_ids.{index}", location="body")
        assert facts is not None
        rows.append(
            {
                "package_id": package_id,
                "vendor_id": vendor_id,
                "vendor_name": facts["legal_name"],
                "npwp": facts.get("npwp"),
                "invited_at": ctx.now,
            }
        )
    await ctx.session.execute(insert(direct_invitations), rows)
    started = not invited
    pkg = await set_status(ctx, package_id, {"status": target})
    if started:
        # The public learns that the package is procured directly (and on what basis), not whom it invited.
        await emit(
            ctx,
            package_id,
            ev.TenderDirectStarted(
                package=package_facts(pkg),
                appointment_case=pkg["appointment_case"],
                legal_basis=pkg["legal_basis"],
                started_at=ctx.now,
            ),
        )
    return pkg


async def offer(ctx: Ctx, package_id: str, price: int, note: str | None) -> RowMapping:
    pkg, _ = await act(ctx, package_id, Action.OFFER)
    assert ctx.principal is not None
    vendor_id = ctx.principal.vendor_id
    if not ctx.principal.has_role(Role.VENDOR) or vendor_id is None:
        raise forbidden("Only an invited vendor offers.")
    if vendor_id not in await invitations(ctx, package_id):
        raise ProblemError(403, "Forbidden", "This vendor was not invited to the package.", slug="not-invited")
    direct.check_offer(latest_offer(await prices(ctx, package_id), vendor_id), price)
    await _price(ctx, package_id, vendor_id, "vendor", price, note)
    return pkg


async def negotiate(ctx: Ctx, package_id: str, vendor_id: str, price: int, note: str | None) -> RowMapping:
    pkg, _ = await _act_as_official(ctx, package_id, Action.NEGOTIATE)
    await _ensure_invited(ctx, package_id, vendor_id)
    direct.check_proposal(latest_offer(await prices(ctx, package_id), vendor_id), price)
    await _price(ctx, package_id, vendor_id, "official", price, note)
    return pkg


async def qualify(ctx: Ctx, package_id: str, vendor_id: str, qualified: bool, reason: str | None) -> RowMapping:
    pkg, _ = await _act_as_official(ctx, package_id, Action.QUALIFY)
    await _ensure_invited(ctx, package_id, vendor_id)
    if not qualified and not reason:
        raise DomainError("reason-required", "Say why the vendor is not qualified.", field="reason")
    await ctx.session.execute(
        update(direct_invitations)
        .where(direct_invitations.c.package_id == package_id, direct_invitations.c.vendor_id == vendor_id)
        .values(qualified=qualified, qualification_reason=reason)
    )
    return pkg


async def conclude(ctx: Ctx, package_id: str, vendor_id: str) -> RowMapping:
    pkg, target = await _act_as_official(ctx, package_id, Action.CONCLUDE)
    invited = (await invitations(ctx, package_id)).get(vendor_id)
    history = await prices(ctx, package_id)
    candidate = (
        direct.Candidate(qualified=invited["qualified"], latest_offer=latest_offer(history, vendor_id))
        if invited is not None
        else None
    )
    direct.check_conclusion(candidate, pkg["hps"])
    return await set_status(
        ctx, package_id, {"status": target, "winner_vendor_id": vendor_id, "reserve_vendor_ids": []}
    )


async def award(ctx: Ctx, pkg: RowMapping, target: Status, body: AwardIn) -> RowMapping:
    """The PPK issues the SPK or purchase order to the concluded vendor at the agreed price."""
    package_id, winner_id = pkg["id"], pkg["winner_vendor_id"]
    invited = (await invitations(ctx, package_id))[winner_id]
    offers = offers_of(await prices(ctx, package_id), winner_id)
    price = offers[-1]
    pkg = await award_to(
        ctx,
        pkg,
        target,
        body.sppbj_number or f"SPK/{pkg['code']}",
        winner=ev.TenderAwardWinner(vendor_id=winner_id, legal_name=invited["vendor_name"], npwp=invited["npwp"] or ""),
        offered_price=offers[0],
        awarded_price=price,
        low_price=is_low_price(price, pkg["hps"], ctx.settings.low_price_ratio_percent),
        reserve_vendor_ids=[],
    )
    await emit(
        ctx,
        package_id,
        ev.TenderDirectAwarded(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            method=pkg["method"],
            hps=pkg["hps"],
            winner_vendor_id=winner_id,
            winner_name=invited["vendor_name"],
            winner_npwp=invited["npwp"] or "",
            offered_price=offers[0],
            agreed_price=price,
            awarded_at=ctx.now,
        ),
    )
    return pkg


async def _price(ctx: Ctx, package_id: str, vendor_id: str, party: str, price: int, note: str | None) -> None:
    await ctx.session.execute(
        insert(direct_prices).values(
            package_id=package_id, vendor_id=vendor_id, party=party, price=price, note=note, actor=ctx.actor, at=ctx.now
        )
    )


async def view(ctx: Ctx, pkg: RowMapping) -> dict[str, Any]:
    """The invitations and the negotiation history: the official and the PPK see all, a vendor only its own."""
    principal = ctx.principal
    invited = await invitations(ctx, pkg["id"])
    history = await prices(ctx, pkg["id"])
    official = principal is not None and (
        principal.is_admin
        or (principal.has_role(Role.PEJABAT_PENGADAAN) and principal.subject == pkg["pokja_id"])
        or (principal.has_role(Role.PPK) and principal.opd_id == pkg["opd_id"])
    )
    if not official:
        own = principal.vendor_id if principal is not None and principal.has_role(Role.VENDOR) else None
        if own not in invited:
            raise forbidden("Only the official, the PPK and the invited vendors see the negotiation.")
        invited = {own: invited[own]}
        history = [p for p in history if p["vendor_id"] == own]
    return {
        "package_id": pkg["id"],
        "method": pkg["method"],
        "status": pkg["status"],
        "appointment_case": pkg["appointment_case"],
        "legal_basis": pkg["legal_basis"],
        "winner_vendor_id": pkg["winner_vendor_id"],
        "order_number": pkg["sppbj_number"],
        "invited": [
            {
                "vendor_id": v["vendor_id"],
                "vendor_name": v["vendor_name"],
                "invited_at": v["invited_at"].isoformat(),
                "qualified": v["qualified"],
                "qualification_reason": v["qualification_reason"],
                "latest_offer": latest_offer(history, v["vendor_id"]),
            }
            for v in invited.values()
        ],
        "history": [
            {
                "vendor_id": p["vendor_id"],
                "party": p["party"],
                "price": p["price"],
                "note": p["note"],
                "at": p["at"].isoformat(),
            }
            for p in history
        ],
    }
