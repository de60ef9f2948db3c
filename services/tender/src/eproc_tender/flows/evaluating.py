"""Opening (after the deadline, by the Pokja), evaluation, winner announcement, objections and award."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import RowMapping

from eproc_shared.auth import forbidden
from eproc_shared.events.types import tender as ev
from eproc_tender.domain import Conflict, DomainError, machine
from eproc_tender.domain import evaluation as ev_domain
from eproc_tender.domain.machine import Action, Status
from eproc_tender.domain.rules import (
    DIRECT_METHODS,
    EnvelopeSystem,
    EvaluationSystem,
    Method,
    ProcurementType,
    Qualification,
)
from eproc_tender.domain.schedule import Stage
from eproc_tender.domain.sealing import SealError, sha256_hex, unseal, unwrap_private_key
from eproc_tender.flows import auction as auction_flow
from eproc_tender.flows import direct as direct_flow
from eproc_tender.flows.bidding import document_aad, envelope_aad, participant_names
from eproc_tender.flows.files import cipher_sha256, open_sealed
from eproc_tender.flows.packages import award_to, fail
from eproc_tender.flows.participation import require_participant, vendor_of
from eproc_tender.models import (
    appeals,
    bid_documents,
    bids,
    committee_approvals,
    objections,
    opened_bids,
)
from eproc_tender.schemas import AppealAnswerIn, AppealIn, AwardIn, JudgementIn, ObjectionAnswerIn, ObjectionIn
from eproc_tender.store import (
    Ctx,
    act,
    act_as_pokja,
    act_as_ppk,
    emit,
    ensure_pokja,
    facts_of,
    is_pokja_member,
    load_schedule,
    not_found,
    pokja_members,
    set_status,
    settle,
)

_FAILURE_CODES = {
    "no bids": "no_bids",
    "all bids are above the HPS": "all_above_hps",
    "no bid passed evaluation": "no_bid_passed",
    "no bidder proved its qualification": "no_bid_passed",
}


async def _current_bids(ctx: Ctx, package_id: str, round_: int = 1) -> list[RowMapping]:
    stmt = select(bids).where(bids.c.package_id == package_id, bids.c.round == round_).order_by(bids.c.seq)
    rows = (await ctx.session.execute(stmt)).mappings()
    latest: dict[str, RowMapping] = {}
    for row in rows:
        latest[row["vendor_id"]] = row
    return [r for r in latest.values() if not r["withdrawn"]]


async def _open_documents(
    ctx: Ctx, private: Any, package_id: str, vendor_id: str, listed: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Decrypt each listed document's key, check the file against the sealed hashes; record what was found."""
    out = []
    for entry in listed:
        row = (
            (await ctx.session.execute(select(bid_documents).where(bid_documents.c.id == entry["id"])))
            .mappings()
            .first()
        )
        result: dict[str, Any] = {"id": entry["id"], "size": entry["size"], "intact": False}
        try:
            assert row is not None
            meta = json.loads(unseal(private, row["sealed_meta"], document_aad(package_id, vendor_id, entry["id"])))
            path = Path(row["path"])
            intact = cipher_sha256(path) == entry["cipher_sha256"]
            plain = open_sealed(path, bytes.fromhex(meta["data_key"]))
            result.update(
                name=meta["name"],
                content_type=meta["content_type"],
                plain_sha256=plain,
                intact=intact and plain == meta["plain_sha256"],
            )
        except (AssertionError, SealError, OSError, ValueError):
            pass
        out.append(result)
    return out


def _failed_documents(docs: list[dict[str, Any]]) -> list[str]:
    return [d["id"] for d in docs if not d["intact"]]


async def open_bids(ctx: Ctx, package_id: str) -> RowMapping:
    pkg, target = await act_as_pokja(ctx, package_id, Action.OPEN_BIDS)
    current = await _current_bids(ctx, package_id)
    if not current:
        return await fail(ctx, pkg, "no_bids", "No bid was submitted before the deadline.")
    private = unwrap_private_key(ctx.settings.kek_bytes(), package_id, pkg["wrapped_private_key"])
    names = await participant_names(ctx, package_id)
    one_file = EnvelopeSystem(pkg["envelope_system"]) is EnvelopeSystem.ONE_FILE
    # Prakualifikasi proved every invited bidder's qualification before the bids.
    proven: dict[str, Any] = (
        {"qualification_passed": True, "qualification_reason": "proven at prakualifikasi"}
        if pkg["qualification"] == Qualification.PRA
        else {}
    )
    prices: list[ev.TenderOpenedPrice] = []
    for bid in current:
        vendor_id = bid["vendor_id"]
        verified = sha256_hex(bid["technical_sealed"] + bid["price_sealed"]) == bid["receipt_sha256"]
        judgement: dict[str, Any] = dict(proven)
        declaration, documents, price, items = None, [], None, None
        try:
            technical = json.loads(
                unseal(private, bid["technical_sealed"], envelope_aad(package_id, vendor_id, "technical"))
            )
            declaration = "accepted" if technical["declaration"] else None
            documents = await _open_documents(ctx, private, package_id, vendor_id, technical["documents"])
            if one_file:
                sealed_price = json.loads(
                    unseal(private, bid["price_sealed"], envelope_aad(package_id, vendor_id, "price"))
                )
                price, items = sealed_price["price"], sealed_price["items"]
                documents += await _open_documents(ctx, private, package_id, vendor_id, sealed_price["documents"])
        except SealError:
            verified = False
        if not verified:
            judgement |= {"administrative_passed": False, "administrative_reason": "the bid does not match its receipt"}
        elif _failed_documents(documents):
            judgement |= {
                "administrative_passed": False,
                "administrative_reason": f"documents altered or unreadable: {', '.join(_failed_documents(documents))}",
            }
        await ctx.session.execute(
            opened_bids.insert().values(
                package_id=package_id,
                vendor_id=vendor_id,
                bid_id=bid["id"],
                received_at=bid["received_at"],
                receipt_sha256=bid["receipt_sha256"],
                receipt_verified=verified,
                declaration=declaration,
                documents=documents,
                offered_price=price,
                items=items,
                judgement=judgement,
            )
        )
        if price is not None:
            prices.append(
                ev.TenderOpenedPrice(
                    vendor_id=vendor_id,
                    vendor_name=names[vendor_id]["vendor_name"],
                    price=price,
                    receipt_verified=verified,
                )
            )
    pkg = await set_status(ctx, package_id, {"status": target})
    await emit(
        ctx,
        package_id,
        ev.TenderBidsOpened(
            package_id=package_id,
            envelope="all" if one_file else "technical",
            bidders=[b["vendor_id"] for b in current],
            prices=prices,
            opened_at=ctx.now,
            opened_by=ctx.actor,
        ),
    )
    return pkg


async def _opened(ctx: Ctx, package_id: str) -> list[RowMapping]:
    stmt = select(opened_bids).where(opened_bids.c.package_id == package_id).order_by(opened_bids.c.received_at)
    return list((await ctx.session.execute(stmt)).mappings())


def _first_stage_pending(opened: list[RowMapping]) -> list[str]:
    return [
        o["vendor_id"]
        for o in opened
        if o["judgement"].get("administrative_passed") is None or o["judgement"].get("technical_passed") is None
    ]


def _passed_first_stage(o: RowMapping) -> bool:
    return bool(o["judgement"].get("administrative_passed") and o["judgement"].get("technical_passed"))


async def invite_second_stage(ctx: Ctx, package_id: str) -> RowMapping:
    """Two-stage: once the first offers are judged, those who passed are invited to send their second offer."""
    pkg, target = await act_as_pokja(ctx, package_id, Action.INVITE_SECOND_STAGE)
    opened = await _opened(ctx, package_id)
    unjudged = _first_stage_pending(opened)
    if unjudged:
        raise Conflict("technical-evaluation-pending", f"Evaluate these bids first: {', '.join(unjudged)}.")
    invited = [o["vendor_id"] for o in opened if _passed_first_stage(o)]
    if not invited:
        return await fail(ctx, pkg, "no_bid_passed", "No bid passed the first (administrative and technical) stage.")
    pkg = await set_status(ctx, package_id, {"status": target})
    schedule = await load_schedule(ctx.session, package_id)
    await emit(
        ctx,
        package_id,
        ev.TenderSecondStageInvited(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            invited_vendor_ids=invited,
            deadline=schedule[Stage.SECOND_SUBMISSION].ends_at,
            invited_at=ctx.now,
        ),
    )
    return pkg


async def open_prices(ctx: Ctx, package_id: str) -> RowMapping:
    """Two-file: the price envelopes of the bids that passed the administrative and technical evaluation.
    Two-stage: the second offers (revised technical offer and price) of the bidders who passed the first stage."""
    pkg, target = await act_as_pokja(ctx, package_id, Action.OPEN_PRICES)
    two_stage = EnvelopeSystem(pkg["envelope_system"]) is EnvelopeSystem.TWO_STAGE
    opened = await _opened(ctx, package_id)
    unjudged = _first_stage_pending(opened)
    if unjudged:
        raise Conflict("technical-evaluation-pending", f"Evaluate these bids first: {', '.join(unjudged)}.")
    private = unwrap_private_key(ctx.settings.kek_bytes(), package_id, pkg["wrapped_private_key"])
    sealed = {b["vendor_id"]: b for b in await _current_bids(ctx, package_id, 2 if two_stage else 1)}
    names = await participant_names(ctx, package_id)
    prices = []
    for o in opened:
        if not _passed_first_stage(o):
            continue  # a failed bid's price envelope stays sealed
        vendor_id = o["vendor_id"]
        bid = sealed.get(vendor_id)
        where = (opened_bids.c.package_id == package_id, opened_bids.c.vendor_id == vendor_id)
        if bid is None:  # two-stage: invited but sent no second offer
            judgement = {**o["judgement"], "administrative_passed": False}
            judgement["administrative_reason"] = "no second-stage offer"
            await ctx.session.execute(update(opened_bids).where(*where).values(judgement=judgement))
            continue
        values: dict[str, Any] = {}
        documents = list(o["documents"])
        verified = o["receipt_verified"]
        try:
            if two_stage:
                verified = sha256_hex(bid["technical_sealed"] + bid["price_sealed"]) == bid["receipt_sha256"]
                revised = json.loads(
                    unseal(private, bid["technical_sealed"], envelope_aad(package_id, vendor_id, "technical"))
                )
                documents += await _open_documents(ctx, private, package_id, vendor_id, revised["documents"])
                values |= {
                    "bid_id": bid["id"],
                    "received_at": bid["received_at"],
                    "receipt_sha256": bid["receipt_sha256"],
                }
            content = json.loads(unseal(private, bid["price_sealed"], envelope_aad(package_id, vendor_id, "price")))
            documents += await _open_documents(ctx, private, package_id, vendor_id, content["documents"])
            values |= {"offered_price": content["price"], "items": content["items"]}
        except SealError:
            verified = False
        judgement = dict(o["judgement"])
        if not verified:
            judgement |= {"administrative_passed": False, "administrative_reason": "the bid does not match its receipt"}
        elif _failed_documents(documents):
            judgement |= {
                "administrative_passed": False,
                "administrative_reason": f"documents altered or unreadable: {', '.join(_failed_documents(documents))}",
            }
        await ctx.session.execute(
            update(opened_bids)
            .where(*where)
            .values(**values, documents=documents, receipt_verified=verified, judgement=judgement)
        )
        if "offered_price" in values:
            prices.append(
                ev.TenderOpenedPrice(
                    vendor_id=vendor_id,
                    vendor_name=names[vendor_id]["vendor_name"],
                    price=values["offered_price"],
                    receipt_verified=verified,
                )
            )
    pkg = await set_status(ctx, package_id, {"status": target})
    await emit(
        ctx,
        package_id,
        ev.TenderBidsOpened(
            package_id=package_id,
            envelope="price",
            bidders=[p.vendor_id for p in prices],
            prices=prices,
            opened_at=ctx.now,
            opened_by=ctx.actor,
        ),
    )
    return pkg


def _how(ctx: Ctx, pkg: RowMapping) -> ev_domain.Method:
    return ev_domain.Method(
        system=EvaluationSystem(pkg["evaluation_system"]),
        hps=pkg["hps"],
        low_price_ratio_percent=ctx.settings.low_price_ratio_percent,
        technical_weight=pkg["technical_weight"],
        price_weight=pkg["price_weight"],
        max_reserves=ctx.settings.max_reserves,
    )


def _for_evaluation(o: RowMapping) -> ev_domain.BidForEvaluation:
    items = [ev_domain.PricedItem(i["description"], i["quantity"], i["unit_price"]) for i in (o["items"] or [])]
    return ev_domain.BidForEvaluation(
        vendor_id=o["vendor_id"],
        received_at=o["received_at"],
        offered_price=o["offered_price"],
        items=items,
        judgement=ev_domain.Judgement(**o["judgement"]),
    )


async def outcome_of(ctx: Ctx, pkg: RowMapping) -> tuple[ev_domain.Outcome, str | None, list[RowMapping]]:
    opened = await _opened(ctx, pkg["id"])
    outcome = ev_domain.evaluate([_for_evaluation(o) for o in opened], _how(ctx, pkg))
    judgements = {o["vendor_id"]: ev_domain.Judgement(**o["judgement"]) for o in opened}
    return outcome, ev_domain.leading_bidder(outcome, judgements), opened


async def judge(ctx: Ctx, package_id: str, vendor_id: str, body: JudgementIn) -> RowMapping:
    given = body.model_dump(exclude_unset=True)
    qualifying = {"qualification_passed", "qualification_reason"} & given.keys()
    pkg, _ = await act_as_pokja(ctx, package_id, Action.QUALIFY if qualifying else Action.EVALUATE)
    if Status(pkg["status"]) is Status.TECHNICAL_EVALUATION and {"price_reasonable", "price_reason"} & given.keys():
        raise Conflict("prices-sealed", "Prices are judged after the price envelopes are opened.")
    if body.technical_score is not None and EvaluationSystem(pkg["evaluation_system"]) is EvaluationSystem.LOWEST_PRICE:
        raise DomainError(
            "score-not-used", "Lowest-price evaluation takes no technical score.", field="technical_score"
        )
    for flag, reason in (
        ("administrative_passed", "administrative_reason"),
        ("technical_passed", "technical_reason"),
        ("price_reasonable", "price_reason"),
        ("qualification_passed", "qualification_reason"),
    ):
        if given.get(flag) is False and not given.get(reason):
            raise DomainError("reason-required", "A failing result needs a reason.", field=reason)
    stmt = select(opened_bids).where(opened_bids.c.package_id == package_id, opened_bids.c.vendor_id == vendor_id)
    opened = (await ctx.session.execute(stmt)).mappings().first()
    if opened is None:
        raise not_found("opened bid")
    if not opened["receipt_verified"] and given.get("administrative_passed"):
        raise Conflict("receipt-mismatch", "A bid that does not match its receipt cannot pass.")
    if qualifying:
        _, leader, _ = await outcome_of(ctx, pkg)
        if leader != vendor_id:
            raise Conflict(
                "not-leading-bidder",
                f"Qualification is proven by the leading bidder first ({leader or 'none yet'}).",
            )
    merged = {**opened["judgement"], **given}
    await ctx.session.execute(
        update(opened_bids)
        .where(opened_bids.c.package_id == package_id, opened_bids.c.vendor_id == vendor_id)
        .values(judgement=merged)
    )
    return await set_status(ctx, package_id, {})


def _results(
    outcome: ev_domain.Outcome, opened: list[RowMapping], names: dict[str, RowMapping]
) -> list[ev.TenderBidResult]:
    judgements = {o["vendor_id"]: o["judgement"] for o in opened}
    return [
        ev.TenderBidResult(
            vendor_id=r.vendor_id,
            vendor_name=names[r.vendor_id]["vendor_name"],
            offered_price=r.offered_price,
            corrected_price=r.corrected_price,
            passed=r.passed and r.rank is not None and judgements[r.vendor_id].get("qualification_passed") is not False,
            reasons=r.reasons,
            low_price=r.low_price,
            technical_score=judgements[r.vendor_id].get("technical_score"),
            total_score=r.total_score,
            rank=r.rank,
        )
        for r in outcome.results
    ]


WINNER_DETERMINATION = "winner_determination"


def outcome_digest(outcome: ev_domain.Outcome) -> str:
    """What a member approves: the winner, the reserves, the failure and every result; a change of any of them
    (a new judgement) is a different decision that needs approving afresh."""
    facts = {
        "winner": outcome.winner,
        "reserves": outcome.reserves,
        "failure": outcome.failure,
        "results": [(r.vendor_id, r.corrected_price, r.passed, r.rank, r.total_score) for r in outcome.results],
    }
    return sha256_hex(json.dumps(facts, sort_keys=True, default=str).encode())


async def committee_decides(ctx: Ctx, pkg: RowMapping, decision: str, outcome: ev_domain.Outcome) -> bool:
    """Records the acting member's approval of ``outcome``; True once more than half the Pokja's members approved
    this same outcome (a Pokja of one account decides alone), emitting the decision with who approved it."""
    assert ctx.principal is not None
    package_id, user_id, digest = pkg["id"], ctx.principal.subject, outcome_digest(outcome)
    where = (committee_approvals.c.package_id == package_id, committee_approvals.c.decision == decision)
    await ctx.session.execute(delete(committee_approvals).where(*where, committee_approvals.c.user_id == user_id))
    await ctx.session.execute(
        committee_approvals.insert().values(
            package_id=package_id, decision=decision, user_id=user_id, outcome_digest=digest, approved_at=ctx.now
        )
    )
    stmt = select(committee_approvals.c.user_id).where(*where, committee_approvals.c.outcome_digest == digest)
    approved = sorted((await ctx.session.execute(stmt.order_by(committee_approvals.c.approved_at))).scalars())
    members = pokja_members(pkg)
    if len(approved) * 2 <= len(members):
        return False
    await emit(
        ctx,
        package_id,
        ev.TenderCommitteeDecided(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            decision="winner_determination",
            members=members,
            approved_by=approved,
            winner_vendor_id=outcome.winner,
            failure=outcome.failure,
            decided_at=ctx.now,
        ),
    )
    return True


async def announce_winner(ctx: Ctx, package_id: str) -> RowMapping:
    pkg, target = await act_as_pokja(ctx, package_id, Action.ANNOUNCE_WINNER)
    outcome, _, opened = await outcome_of(ctx, pkg)
    if outcome.pending:
        raise Conflict("evaluation-pending", "Evaluation is not complete: " + "; ".join(outcome.pending) + ".")
    if not await committee_decides(ctx, pkg, WINNER_DETERMINATION, outcome):
        return pkg  # recorded this member's approval; the majority has not approved yet
    if outcome.failure:
        return await fail(ctx, pkg, _FAILURE_CODES.get(outcome.failure, "no_bid_passed"), outcome.failure)
    assert outcome.winner is not None
    names = await participant_names(ctx, package_id)
    results = _results(outcome, opened, names)
    for result in results:
        await ctx.session.execute(
            update(opened_bids)
            .where(opened_bids.c.package_id == package_id, opened_bids.c.vendor_id == result.vendor_id)
            .values(result=result.model_dump(mode="json"))
        )
    objection_ends_at = ctx.now + timedelta(days=ctx.settings.objection_days)
    pkg = await set_status(
        ctx,
        package_id,
        {
            "status": target,
            "winner_vendor_id": outcome.winner,
            "reserve_vendor_ids": outcome.reserves,
            "winner_announced_at": ctx.now,
            "objection_ends_at": objection_ends_at,
        },
    )
    winner = next(r for r in outcome.results if r.vendor_id == outcome.winner)
    assert winner.corrected_price is not None
    await emit(
        ctx,
        package_id,
        ev.TenderEvaluated(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            results=results,
            winner_vendor_id=outcome.winner,
            reserve_vendor_ids=outcome.reserves,
            evaluated_at=ctx.now,
        ),
    )
    await emit(
        ctx,
        package_id,
        ev.TenderWinnerAnnounced(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            winner_vendor_id=outcome.winner,
            winner_name=names[outcome.winner]["vendor_name"],
            winner_npwp=names[outcome.winner]["npwp"],
            winning_price=winner.corrected_price,
            hps=pkg["hps"],
            reserve_vendor_ids=outcome.reserves,
            results=results,
            announced_at=ctx.now,
            objection_ends_at=objection_ends_at,
        ),
    )
    return pkg


async def file_objection(ctx: Ctx, package_id: str, body: ObjectionIn) -> RowMapping:
    vendor_id = vendor_of(ctx)
    pkg, _ = await act(ctx, package_id, Action.OBJECT)
    await require_participant(ctx, package_id, vendor_id)
    objection_id = str(uuid.uuid4())
    due = ctx.now + timedelta(days=ctx.settings.objection_answer_days)
    await ctx.session.execute(
        objections.insert().values(
            id=objection_id,
            package_id=package_id,
            vendor_id=vendor_id,
            reason=body.reason,
            filed_at=ctx.now,
            answer_due_at=due,
        )
    )
    await set_status(ctx, package_id, {})
    await emit(
        ctx,
        package_id,
        ev.TenderObjectionFiled(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            objection_id=objection_id,
            vendor_id=vendor_id,
            reason=body.reason,
            filed_at=ctx.now,
            answer_due_at=due,
        ),
    )
    return (await ctx.session.execute(select(objections).where(objections.c.id == objection_id))).mappings().one()


async def answer_objection(ctx: Ctx, package_id: str, objection_id: str, body: ObjectionAnswerIn) -> RowMapping:
    """The Pokja answers inside the answer period. After it the Pokja may no longer answer: the objection is
    escalated to the official of ``objection_escalation_role`` (standing for the PA/KPA), whose answer is
    recorded late; until someone answers, the award waits."""
    pkg, _ = await act(ctx, package_id, Action.ANSWER_OBJECTION)
    assert ctx.principal is not None
    stmt = select(objections).where(objections.c.id == objection_id, objections.c.package_id == package_id)
    objection = (await ctx.session.execute(stmt)).mappings().first()
    late = objection is not None and ctx.now >= objection["answer_due_at"]
    escalation_role = ctx.settings.objection_escalation_role
    if late and not ctx.principal.has_role(escalation_role):
        if is_pokja_member(ctx.principal, pkg):
            raise Conflict(
                "answer-period-over",
                f"The answer period ended at {objection['answer_due_at'].isoformat()}; "  # type: ignore[index]
                f"the objection is escalated to the {escalation_role}.",
            )
        raise forbidden(f"Only the {escalation_role} answers an objection after its answer period.")
    if not late:
        ensure_pokja(ctx.principal, pkg)
    if objection is None:
        raise not_found("objection")
    if objection["answered_at"] is not None:
        raise Conflict("already-answered", "This objection is already answered.")
    _check_consequence(body)
    await ctx.session.execute(
        update(objections).where(objections.c.id == objection_id).values(**_answer_values(ctx, body))
    )
    await emit(
        ctx,
        package_id,
        ev.TenderObjectionAnswered(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            objection_id=objection_id,
            vendor_id=objection["vendor_id"],
            upheld=body.upheld,
            consequence=body.consequence,
            answer=body.answer,
            answered_at=ctx.now,
            late=late,
        ),
    )
    upheld = await _apply_consequence(ctx, pkg, body, "Objection")
    if upheld is not None:
        return upheld
    changes: dict[str, Any] = {}
    if pkg["procurement_type"] == ProcurementType.PEKERJAAN_KONSTRUKSI and not body.upheld:
        # The objector may appeal: the award waits for the appeal period after the last rejection.
        window = ctx.now + timedelta(days=ctx.settings.appeal_days)
        current = pkg["appeal_window_ends_at"]
        changes["appeal_window_ends_at"] = max(window, current) if current else window
    return await settle(ctx, await set_status(ctx, package_id, changes))


def _check_consequence(body: ObjectionAnswerIn) -> None:
    if body.upheld and body.consequence == "none":
        raise DomainError("consequence-required", "An upheld objection re-evaluates or fails.", field="consequence")
    if not body.upheld and body.consequence != "none":
        raise DomainError(
            "consequence-without-upholding", "Only an upheld objection has a consequence.", field="consequence"
        )


def _answer_values(ctx: Ctx, body: ObjectionAnswerIn) -> dict[str, Any]:
    """What answering fills in, for objections and appeals alike."""
    return {
        "answer": body.answer,
        "upheld": body.upheld,
        "consequence": body.consequence,
        "answered_by": ctx.actor,
        "answered_at": ctx.now,
    }


async def _apply_consequence(ctx: Ctx, pkg: RowMapping, body: ObjectionAnswerIn, what: str) -> RowMapping | None:
    """An upheld objection or appeal fails the package or redoes the evaluation; None when it has no consequence."""
    if body.consequence == "fail":
        return await fail(ctx, pkg, "objection_upheld", f"{what} upheld: {body.answer}")
    if body.consequence == "re_evaluate":
        return await _reopen_evaluation(ctx, pkg)
    return None


async def _reopen_evaluation(ctx: Ctx, pkg: RowMapping) -> RowMapping:
    package_id = pkg["id"]
    target = machine.move(await facts_of(ctx.session, pkg), Action.REOPEN_EVALUATION, ctx.now)
    # Other open objections and appeals are moot once the evaluation is redone; a new announcement opens a new
    # period.
    superseded = {"answer": "Superseded: the evaluation is being redone.", "upheld": False, "consequence": "none"}
    await ctx.session.execute(
        update(objections)
        .where(objections.c.package_id == package_id, objections.c.answered_at.is_(None))
        .values(**superseded, answered_by=ctx.actor, answered_at=ctx.now)
    )
    await ctx.session.execute(
        update(appeals)
        .where(appeals.c.package_id == package_id, appeals.c.answered_at.is_(None))
        .values(**superseded, guarantee_forfeited=False, answered_by=ctx.actor, answered_at=ctx.now)
    )
    await ctx.session.execute(update(opened_bids).where(opened_bids.c.package_id == package_id).values(result=None))
    await ctx.session.execute(delete(committee_approvals).where(committee_approvals.c.package_id == package_id))
    return await set_status(
        ctx,
        package_id,
        {
            "status": target,
            "winner_vendor_id": None,
            "reserve_vendor_ids": None,
            "objection_ends_at": None,
            "appeal_window_ends_at": None,
            "winner_announced_at": None,
        },
    )


def appeal_guarantee_required(hps: int, basis_points: int) -> int:
    """The appeal guarantee: a share of the HPS, rounded up to the Rupiah."""
    return -(-hps * basis_points // 10_000)


async def file_appeal(ctx: Ctx, package_id: str, body: AppealIn) -> RowMapping:
    """Sanggah banding (construction works only): the objector appeals the rejection of its objection, within
    ``appeal_days`` of the answer, with an appeal guarantee of at least the configured share of the HPS."""
    vendor_id = vendor_of(ctx)
    pkg, _ = await act(ctx, package_id, Action.APPEAL)
    await require_participant(ctx, package_id, vendor_id)
    stmt = select(objections).where(objections.c.id == body.objection_id, objections.c.package_id == package_id)
    objection = (await ctx.session.execute(stmt)).mappings().first()
    if objection is None or objection["vendor_id"] != vendor_id:
        raise DomainError("unknown-objection", "No objection of yours with this id.", field="objection_id")
    if objection["answered_at"] is None:
        raise Conflict("objection-unanswered", "An objection is appealed after its answer.")
    if objection["upheld"]:
        raise Conflict("objection-upheld", "The objection was upheld: there is nothing to appeal.")
    if ctx.now >= objection["answered_at"] + timedelta(days=ctx.settings.appeal_days):
        raise Conflict("appeal-period-over", "The appeal period after this objection's answer has ended.")
    existing = (
        await ctx.session.execute(select(appeals.c.id).where(appeals.c.objection_id == objection["id"]))
    ).first()
    if existing:
        raise Conflict("already-appealed", "This objection is already appealed.")
    required = appeal_guarantee_required(pkg["hps"], ctx.settings.appeal_guarantee_basis_points)
    if body.guarantee.amount < required:
        raise DomainError(
            "guarantee-too-small",
            f"The appeal guarantee must be at least {required} (a share of the HPS {pkg['hps']}).",
            field="guarantee.amount",
        )
    appeal_id = str(uuid.uuid4())
    due = ctx.now + timedelta(days=ctx.settings.appeal_answer_days)
    await ctx.session.execute(
        appeals.insert().values(
            id=appeal_id,
            package_id=package_id,
            objection_id=objection["id"],
            vendor_id=vendor_id,
            reason=body.reason,
            guarantee_number=body.guarantee.number,
            guarantee_issuer=body.guarantee.issuer,
            guarantee_amount=body.guarantee.amount,
            guarantee_required=required,
            filed_at=ctx.now,
            answer_due_at=due,
        )
    )
    await set_status(ctx, package_id, {})
    await emit(
        ctx,
        package_id,
        ev.TenderAppealFiled(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            appeal_id=appeal_id,
            objection_id=objection["id"],
            vendor_id=vendor_id,
            reason=body.reason,
            guarantee_amount=body.guarantee.amount,
            guarantee_required=required,
            filed_at=ctx.now,
            answer_due_at=due,
        ),
    )
    return (await ctx.session.execute(select(appeals).where(appeals.c.id == appeal_id))).mappings().one()


async def answer_appeal(ctx: Ctx, package_id: str, appeal_id: str, body: AppealAnswerIn) -> RowMapping:
    """Answered by the official of ``objection_escalation_role`` (the PA/KPA level, above the Pokja). A rejected
    appeal forfeits the guarantee; an upheld one re-evaluates or fails the package."""
    pkg, _ = await act(ctx, package_id, Action.ANSWER_APPEAL)
    assert ctx.principal is not None
    role = ctx.settings.objection_escalation_role
    if not ctx.principal.has_role(role):
        raise forbidden(f"Appeals are answered by the {role} (the PA/KPA level), not the Pokja.")
    stmt = select(appeals).where(appeals.c.id == appeal_id, appeals.c.package_id == package_id)
    appeal = (await ctx.session.execute(stmt)).mappings().first()
    if appeal is None:
        raise not_found("appeal")
    if appeal["answered_at"] is not None:
        raise Conflict("already-answered", "This appeal is already answered.")
    _check_consequence(body)
    forfeited = not body.upheld
    await ctx.session.execute(
        update(appeals)
        .where(appeals.c.id == appeal_id)
        .values(**_answer_values(ctx, body), guarantee_forfeited=forfeited)
    )
    await emit(
        ctx,
        package_id,
        ev.TenderAppealAnswered(
            package_id=package_id,
            opd_id=pkg["opd_id"],
            appeal_id=appeal_id,
            objection_id=appeal["objection_id"],
            vendor_id=appeal["vendor_id"],
            upheld=body.upheld,
            consequence=body.consequence,
            answer=body.answer,
            guarantee_forfeited=forfeited,
            answered_by=ctx.actor,
            answered_at=ctx.now,
            late=ctx.now >= appeal["answer_due_at"],
        ),
    )
    upheld = await _apply_consequence(ctx, pkg, body, "Appeal")
    if upheld is not None:
        return upheld
    return await settle(ctx, await set_status(ctx, package_id, {}))


async def award(ctx: Ctx, package_id: str, body: AwardIn) -> RowMapping:
    pkg, target = await act_as_ppk(ctx, package_id, Action.AWARD)
    if pkg["method"] in DIRECT_METHODS:
        return await direct_flow.award(ctx, pkg, target, body)
    if pkg["method"] == Method.TENDER_CEPAT:
        return await auction_flow.award(ctx, pkg, target, body)
    winner_id = pkg["winner_vendor_id"]
    names = await participant_names(ctx, package_id)
    stmt = select(opened_bids).where(opened_bids.c.package_id == package_id, opened_bids.c.vendor_id == winner_id)
    result = (await ctx.session.execute(stmt)).mappings().one()["result"]
    return await award_to(
        ctx,
        pkg,
        target,
        body.sppbj_number or f"SPPBJ/{pkg['code']}",
        winner=ev.TenderAwardWinner(
            vendor_id=winner_id, legal_name=names[winner_id]["vendor_name"], npwp=names[winner_id]["npwp"]
        ),
        offered_price=int(result["offered_price"]),
        awarded_price=int(result["corrected_price"]),
        low_price=bool(result["low_price"]),
        reserve_vendor_ids=pkg["reserve_vendor_ids"] or [],
    )
