"""Tender cepat: rounds, announcement with the invitation of the qualified, prices, round closing, award.

The rules are in ``domain/auction.py``; the round ends are time-driven transitions of the machine, applied by
the scheduler (or by the next action on the package) through :func:`close_round`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping

from eproc_shared.auth import Role
from eproc_shared.events.types import tender as ev
from eproc_shared.problems import ProblemError
from eproc_tender.domain import Conflict, DomainError, auction
from eproc_tender.domain.evaluation import is_low_price
from eproc_tender.domain.machine import Action, Status, Timed
from eproc_tender.domain.rules import Method
from eproc_tender.domain.schedule import Window
from eproc_tender.flows.packages import award_to, fail, package_facts
from eproc_tender.flows.participation import facts_for, ineligibility, vendor_ineligible, vendor_of
from eproc_tender.models import auction_invitations, auction_prices, auction_rounds, vendor_facts
from eproc_tender.schemas import AwardIn
from eproc_tender.store import (
    Ctx,
    act,
    act_as_pokja,
    emit,
    facts_of,
    get_package,
    load_rounds,
    not_found,
    round_windows,
    set_status,
)
from eproc_tender.views import effective_status, is_official


def _windows(rounds: Sequence[Window]) -> list[ev.TenderStageWindow]:
    return [
        ev.TenderStageWindow(stage=f"auction_round_{n}", starts_at=w.starts_at, ends_at=w.ends_at)
        for n, w in enumerate(rounds, start=1)
    ]


async def invitations(ctx: Ctx, package_id: str) -> dict[str, RowMapping]:
    stmt = select(auction_invitations).where(auction_invitations.c.package_id == package_id)
    return {r["vendor_id"]: r for r in (await ctx.session.execute(stmt)).mappings()}


async def prices(ctx: Ctx, package_id: str, up_to_round: int | None = None) -> list[auction.Price]:
    stmt = select(auction_prices).where(auction_prices.c.package_id == package_id).order_by(auction_prices.c.seq)
    if up_to_round is not None:
        stmt = stmt.where(auction_prices.c.round <= up_to_round)
    rows = (await ctx.session.execute(stmt)).mappings()
    return [auction.Price(r["vendor_id"], r["price"], r["at"], r["seq"]) for r in rows]


async def set_rounds(ctx: Ctx, package_id: str, rounds: list[Window]) -> RowMapping:
    _, target = await act_as_pokja(ctx, package_id, Action.SCHEDULE_ROUNDS)
    auction.check_rounds(rounds, ctx.settings.auction_max_rounds)
    if rounds[0].starts_at < ctx.now:
        raise DomainError("round-past", "The first round cannot start in the past.", field="rounds.0.starts_at")
    await ctx.session.execute(delete(auction_rounds).where(auction_rounds.c.package_id == package_id))
    await ctx.session.execute(
        insert(auction_rounds),
        [
            {"package_id": package_id, "number": n, "starts_at": w.starts_at, "ends_at": w.ends_at}
            for n, w in enumerate(rounds, start=1)
        ],
    )
    return await set_status(ctx, package_id, {"status": target, "submission_ends_at": rounds[-1].ends_at})


async def announce(ctx: Ctx, pkg: RowMapping, target: Status) -> RowMapping:
    """Announce and invite every vendor the register copy shows qualified (KBLI, size class, verified, not
    blacklisted) as of now; those who qualify later are not invited to a running auction."""
    package_id = pkg["id"]
    rows = (await ctx.session.execute(select(vendor_facts.c.vendor_id, vendor_facts.c.facts))).all()
    invited = sorted(
        ({"vendor_id": r[0], **r[1]} for r in rows if not ineligibility(ctx, pkg, r[1])),
        key=lambda f: f["vendor_id"],
    )
    if len(invited) < auction.MIN_BIDDERS:
        raise Conflict(
            "too-few-qualified",
            f"Tender cepat needs at least {auction.MIN_BIDDERS} vendors qualified for the package's business fields "
            f"(KBLI) in the register; {len(invited)} are.",
        )
    await ctx.session.execute(
        insert(auction_invitations),
        [
            {
                "package_id": package_id,
                "vendor_id": f["vendor_id"],
                "vendor_name": f["legal_name"],
                "npwp": f["npwp"],
                "invited_at": ctx.now,
            }
            for f in invited
        ],
    )
    pkg = await set_status(ctx, package_id, {"status": target, "announced_at": ctx.now})
    windows = _windows(round_windows(await load_rounds(ctx.session, package_id)))
    await emit(
        ctx,
        package_id,
        ev.TenderAnnounced(
            package=package_facts(pkg), schedule=windows, announced_at=ctx.now, retender_of=pkg["retender_of"]
        ),
    )
    await emit(
        ctx,
        package_id,
        ev.TenderAuctionInvited(
            package_id=package_id,
            code=pkg["code"],
            name=pkg["name"],
            opd_id=pkg["opd_id"],
            vendor_ids=[f["vendor_id"] for f in invited],
            rounds=windows,
            invited_at=ctx.now,
        ),
    )
    return pkg


async def bid(ctx: Ctx, package_id: str, price: int) -> dict[str, Any]:
    vendor_id = vendor_of(ctx)
    pkg, _ = await act(ctx, package_id, Action.AUCTION_BID, shared=True)
    # The vendor's invitation row, locked: its own prices are judged one after the other.
    stmt = (
        select(auction_invitations)
        .where(auction_invitations.c.package_id == package_id, auction_invitations.c.vendor_id == vendor_id)
        .with_for_update()
    )
    if (await ctx.session.execute(stmt)).first() is None:
        raise ProblemError(
            403, "Forbidden", "Only the vendors invited to this tender cepat bid in it.", slug="not-invited"
        )
    reasons = ineligibility(ctx, pkg, await facts_for(ctx, vendor_id))
    if reasons:
        raise vendor_ineligible(reasons, "This vendor no longer qualifies", status=403, title="Forbidden")
    rounds = round_windows(await load_rounds(ctx.session, package_id))
    number = auction.round_at(rounds, ctx.now)
    assert number is not None  # the machine's guard refused a time outside every round
    previous = (
        await ctx.session.execute(
            select(auction_prices.c.price)
            .where(auction_prices.c.package_id == package_id, auction_prices.c.vendor_id == vendor_id)
            .order_by(auction_prices.c.seq.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    auction.check_price(previous, price, pkg["hps"], number)
    await ctx.session.execute(
        insert(auction_prices).values(package_id=package_id, vendor_id=vendor_id, round=number, price=price, at=ctx.now)
    )
    await emit(
        ctx,
        package_id,
        ev.TenderAuctionBidSubmitted(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            vendor_id=vendor_id,
            round=number,
            price=price,
            submitted_at=ctx.now,
            submitter_address=ctx.client_address,
        ),
    )
    return {"package_id": package_id, "round": number, "price": price, "previous_price": previous, "at": ctx.now}


async def close_round(ctx: Ctx, pkg: RowMapping, timed: Timed) -> RowMapping:
    """A round's end: publish its nameless ranking; after the last round, name the winner or fail the package."""
    package_id, number = pkg["id"], timed.closes_round
    assert number is not None
    rounds = await load_rounds(ctx.session, package_id)
    standings = auction.ranking(await prices(ctx, package_id, up_to_round=number))
    await ctx.session.execute(
        update(auction_rounds)
        .where(auction_rounds.c.package_id == package_id, auction_rounds.c.number == number)
        .values(closed_at=timed.at, ranking=[{"position": s.position, "price": s.price} for s in standings])
    )
    last = number == len(rounds)
    await emit(
        ctx,
        package_id,
        ev.TenderAuctionRoundClosed(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            round=number,
            rounds_total=len(rounds),
            ranking=[ev.TenderAuctionStanding(position=s.position, price=s.price) for s in standings],
            closed_at=timed.at,
            next_round_starts_at=None if last else rounds[number]["starts_at"],
        ),
    )
    if not last:
        return await set_status(ctx, package_id, {})
    if len(standings) < auction.MIN_BIDDERS:
        code = "no_bids" if not standings else "other"
        reason = f"Tender cepat needs at least {auction.MIN_BIDDERS} bidders; {len(standings)} priced."
        return await fail(ctx, pkg, code, reason)
    return await _conclude(ctx, pkg, standings, timed)


async def _conclude(ctx: Ctx, pkg: RowMapping, standings: list[auction.Standing], timed: Timed) -> RowMapping:
    package_id = pkg["id"]
    invited = await invitations(ctx, package_id)
    winner = standings[0]
    reserves = [s.vendor_id for s in standings[1 : 1 + ctx.settings.max_reserves]]
    pkg = await set_status(
        ctx,
        package_id,
        {
            "status": Status.AWARDABLE,
            "winner_vendor_id": winner.vendor_id,
            "reserve_vendor_ids": reserves,
            "winner_announced_at": timed.at,
        },
    )
    await emit(
        ctx,
        package_id,
        ev.TenderAuctionConcluded(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            hps=pkg["hps"],
            results=[
                ev.TenderAuctionResult(
                    position=s.position,
                    vendor_id=s.vendor_id,
                    vendor_name=invited[s.vendor_id]["vendor_name"],
                    price=s.price,
                    submitted_at=s.at,
                )
                for s in standings
            ],
            winner_vendor_id=winner.vendor_id,
            winner_name=invited[winner.vendor_id]["vendor_name"],
            winner_npwp=invited[winner.vendor_id]["npwp"],
            winning_price=winner.price,
            reserve_vendor_ids=reserves,
            concluded_at=timed.at,
        ),
    )
    return pkg


async def award(ctx: Ctx, pkg: RowMapping, target: Status, body: AwardIn) -> RowMapping:
    """The PPK's award letter to the winner the auction ranked first, at its final price."""
    package_id, winner_id = pkg["id"], pkg["winner_vendor_id"]
    invited = (await invitations(ctx, package_id))[winner_id]
    own = [p.price for p in await prices(ctx, package_id) if p.vendor_id == winner_id]
    return await award_to(
        ctx,
        pkg,
        target,
        body.sppbj_number or f"SPPBJ/{pkg['code']}",
        winner=ev.TenderAwardWinner(vendor_id=winner_id, legal_name=invited["vendor_name"], npwp=invited["npwp"]),
        offered_price=own[0],
        awarded_price=own[-1],
        low_price=is_low_price(own[-1], pkg["hps"], ctx.settings.low_price_ratio_percent),
        reserve_vendor_ids=pkg["reserve_vendor_ids"] or [],
    )


async def view(ctx: Ctx, pkg: RowMapping, status: Status) -> dict[str, Any]:
    """The auction as anyone sees it: rounds, each closed round's nameless ranking, and once concluded the
    ranked results with names. An invited vendor also sees its own prices; officials how many were invited."""
    package_id = pkg["id"]
    rounds = await load_rounds(ctx.session, package_id)
    windows = round_windows(rounds)
    out: dict[str, Any] = {
        "package_id": package_id,
        "status": status,
        "current_round": auction.round_at(windows, ctx.now) if status is Status.AUCTION else None,
        "rounds": [
            {
                "number": r["number"],
                "starts_at": r["starts_at"],
                "ends_at": r["ends_at"],
                "closed": r["closed_at"] is not None,
                "ranking": r["ranking"],
            }
            for r in rounds
        ],
        "results": None,
    }
    principal = ctx.principal
    if is_official(principal, pkg):
        out["invited_count"] = len(await invitations(ctx, package_id))
    own = principal.vendor_id if principal is not None and principal.has_role(Role.VENDOR) else None
    if own:
        out["my_prices"] = [{"price": p.price, "at": p.at} for p in await prices(ctx, package_id) if p.vendor_id == own]
        for shown in out["rounds"]:
            if shown["closed"]:
                # A vendor learns its own place in each closed round, never who holds the others.
                ranked = auction.ranking(await prices(ctx, package_id, up_to_round=shown["number"]))
                shown["my_position"] = next((r.position for r in ranked if r.vendor_id == own), None)
    if pkg["winner_vendor_id"] and status in (Status.AWARDABLE, Status.AWARDED):
        invited = await invitations(ctx, package_id)
        out["results"] = [
            {
                "position": s.position,
                "vendor_id": s.vendor_id,
                "vendor_name": invited[s.vendor_id]["vendor_name"],
                "price": s.price,
                "submitted_at": s.at,
            }
            for s in auction.ranking(await prices(ctx, package_id))
        ]
        out["winner_vendor_id"] = pkg["winner_vendor_id"]
    return out


def ensure_auction(pkg: RowMapping) -> None:
    if pkg["method"] != Method.TENDER_CEPAT:
        raise ProblemError(404, "Not found", "This package has no auction: it is not a tender cepat.", slug="not-found")


async def read(ctx: Ctx, package_id: str) -> dict[str, Any]:
    pkg = await get_package(ctx.session, package_id)
    ensure_auction(pkg)
    status = effective_status(await facts_of(ctx.session, pkg), ctx.now)
    if status in (Status.DRAFT, Status.ASSIGNED) and not is_official(ctx.principal, pkg):
        raise not_found()
    if pkg["status"] == Status.AUCTION and status is not Status.AUCTION:
        # The last round has ended but the scheduler has not ranked it yet: the outcome (awardable or failed)
        # is shown with its results, not before them.
        status = Status.AUCTION
    return await view(ctx, pkg, status)
