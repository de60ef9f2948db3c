"""What each newly logged event teaches: package, bid and contract facts, red flags, the OCDS release index.

Runs in the log consumer's transaction, right after the entry is appended, so the facts always match
the log, a flag's evidence is the entry's sequence number, and a redelivered event (which appends
nothing) changes nothing. Appenders hold the log's head lock, so this never races another replica.
Events arrive in log order but topics are not ordered with each other (an award on the internal topic
may precede the announcement on the public one): every rule re-evaluates a package from all its facts
whenever one of them arrives, so the order does not change the outcome.

Payloads are read with the event catalogue's models; one that does not fit (an unknown version, a
malformed test event) teaches nothing but is still logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_audit import red_flags as rules
from eproc_audit.clock import JAKARTA
from eproc_audit.models import bids, contracts, ocds_releases, packages, recorded_purchases, red_flags
from eproc_audit.ocds import RELEASE_TYPES
from eproc_audit.settings import AuditSettings
from eproc_shared.events.types import contract as ce
from eproc_shared.events.types import recording as rec
from eproc_shared.events.types import tender as te

log = logging.getLogger(__name__)
#: Where a transaction keeps the packages whose flags are to be judged at its end (Projection.finish).
_LATER = "eproc_audit_evaluate_later"

Apply = Callable[[AsyncSession, int, Any, "Projection"], Awaitable[None]]


class Projection:
    def __init__(self, settings: AuditSettings, public_topics: set[str]) -> None:
        self.settings = settings
        self.public_topics = public_topics

    async def apply(
        self, session: AsyncSession, seq: int, type_name: str, topic: str, data: Any, now: datetime
    ) -> None:
        handler = HANDLERS.get(type_name)
        if handler is None or not isinstance(data, dict):
            return
        model, apply = handler
        try:
            event = model.model_validate(data)
        except ValidationError:
            log.info("log entry %s: %s payload does not fit its model; no facts taken", seq, type_name)
            return
        self.now = now
        await apply(session, seq, event, self)
        if type_name in RELEASE_TYPES and topic in self.public_topics:
            nested = data.get("package") or data.get("contract") or {}
            package_id = data.get("package_id") or (nested.get("package_id") if isinstance(nested, dict) else None)
            if isinstance(package_id, str) and package_id:
                await session.execute(insert(ocds_releases).values(seq=seq, package_id=package_id))

    # Facts ---------------------------------------------------------------------------------------

    async def upsert_package(self, session: AsyncSession, package_id: str, **values: Any) -> None:
        known = (await session.execute(select(packages).where(packages.c.package_id == package_id))).first()
        if known is None:
            await session.execute(insert(packages).values(package_id=package_id, **values))
        elif values:
            await session.execute(update(packages).where(packages.c.package_id == package_id).values(**values))

    async def package(self, session: AsyncSession, package_id: str) -> Any:
        return (await session.execute(select(packages).where(packages.c.package_id == package_id))).first()

    async def facts_of(self, session: AsyncSession, package_id: str, **missing_only: Any) -> None:
        """Fill columns that are still empty (facts arriving from several events)."""
        row = await self.package(session, package_id)
        values = {k: v for k, v in missing_only.items() if v is not None and (row is None or getattr(row, k) is None)}
        if row is None:
            await session.execute(insert(packages).values(package_id=package_id, **values))
        elif values:
            await session.execute(update(packages).where(packages.c.package_id == package_id).values(**values))

    def evaluate_later(self, session: AsyncSession, package_id: str) -> None:
        """Judge the package's flags in :meth:`finish`, at the end of the consumer's transaction."""
        session.sync_session.info.setdefault(_LATER, set()).add(package_id)

    async def finish(self, session: AsyncSession) -> None:
        """The consumer's end of a transaction: judge each package left for later once. A flag raised here names
        the package's latest bid in the log as the entry it was raised by (the state it was judged on)."""
        for package_id in sorted(session.sync_session.info.pop(_LATER, set())):
            seq = await session.scalar(select(func.max(bids.c.seq)).where(bids.c.package_id == package_id))
            if seq is not None:
                await self.evaluate(session, seq, package_id)

    async def evaluate(self, session: AsyncSession, seq: int, package_id: str) -> None:
        row = await self.package(session, package_id)
        if row is None:
            return
        p = package_from_row(row)
        bid_rows = (await session.execute(select(bids).where(bids.c.package_id == package_id))).all()
        sealed = [
            rules.Bid(b.seq, b.vendor_id, b.receipt_sha256, b.submitter_address, tuple(b.document_digests or ()))
            for b in bid_rows
        ]
        found = rules.package_flags(p, sealed, self.settings)
        if p.awarded_at and p.opd_id:
            if p.winner_vendor_id:
                wins = await self._packages(
                    session, and_(packages.c.opd_id == p.opd_id, packages.c.winner_vendor_id == p.winner_vendor_id)
                )
                # Every win is judged as the latest of its window, so the flags do not depend on arrival order.
                for anchor in wins:
                    found += rules.repeat_winner(anchor, wins, self.settings)
            if p.method in self.settings.flag_direct_methods:
                found += await self.split_flags(session, p.opd_id, jakarta_date(p.awarded_at))
        await self.raise_flags(session, seq, found)

    async def split_flags(self, session: AsyncSession, opd_id: str, on: date) -> list[rules.Flag]:
        """Split purchases around ``on`` at an OPD, over platform direct awards and recorded purchases alike.
        Members within the window of ``on`` are judged, each against its own neighbours (so up to two windows
        away)."""
        window = self.settings.flag_split_window_days
        reach_from, reach_to = on - timedelta(days=2 * window), on + timedelta(days=2 * window)
        methods = self.settings.flag_direct_methods
        awards = (
            await session.execute(
                select(packages).where(
                    packages.c.opd_id == opd_id,
                    packages.c.method.in_(methods),
                    packages.c.awarded_price.is_not(None),
                    # A day of margin either side: the window is judged on Jakarta dates.
                    packages.c.awarded_at >= datetime.combine(reach_from - timedelta(days=1), time(), UTC),
                    packages.c.awarded_at < datetime.combine(reach_to + timedelta(days=2), time(), UTC),
                )
            )
        ).all()
        recorded = (
            await session.execute(
                select(recorded_purchases).where(
                    recorded_purchases.c.opd_id == opd_id,
                    recorded_purchases.c.method.in_(methods),
                    recorded_purchases.c.start_date.between(reach_from, reach_to),
                )
            )
        ).all()
        purchases = [
            rules.DirectPurchase(
                package_id=r.package_id,
                record_id=None,
                name=r.package_id,
                opd_id=opd_id,
                vendor_id=r.winner_vendor_id,
                kbli_codes=tuple(r.kbli_codes or ()),
                on=jakarta_date(as_utc(r.awarded_at)),  # type: ignore[arg-type]
                value=r.awarded_price,
                seq=r.award_seq,
            )
            for r in awards
            if r.award_seq is not None
        ] + [
            rules.DirectPurchase(
                package_id=None,
                record_id=r.record_id,
                name=f"recorded {r.code}",
                opd_id=opd_id,
                vendor_id=r.vendor_id,
                kbli_codes=tuple(r.kbli_codes or ()),
                on=r.start_date,
                value=r.realised_value,
                seq=r.seq,
            )
            for r in recorded
        ]
        found: list[rules.Flag] = []
        for member in purchases:
            if abs((member.on - on).days) <= window:
                found += rules.split_purchase(member, purchases, self.settings)
        return found

    async def _packages(self, session: AsyncSession, condition: Any) -> list[rules.Package]:
        rows = (await session.execute(select(packages).where(condition, packages.c.awarded_at.is_not(None)))).all()
        return [package_from_row(r) for r in rows]

    async def raise_flags(self, session: AsyncSession, seq: int, found: list[rules.Flag]) -> None:
        for flag in found:
            exists = await session.scalar(select(red_flags.c.id).where(red_flags.c.flag_key == flag.key))
            if exists is not None:
                continue
            await session.execute(
                insert(red_flags).values(
                    flag_key=flag.key,
                    kind=flag.kind,
                    package_id=flag.package_id,
                    vendor_id=flag.vendor_id,
                    opd_id=flag.opd_id,
                    contract_id=flag.contract_id,
                    record_id=flag.record_id,
                    explanation=flag.explanation,
                    evidence=list(flag.evidence),
                    raised_by_seq=seq,
                    raised_at=self.now,
                )
            )

    async def upsert_contract(self, session: AsyncSession, contract_id: str, **values: Any) -> Any:
        known = (await session.execute(select(contracts).where(contracts.c.contract_id == contract_id))).first()
        if known is None:
            await session.execute(insert(contracts).values(contract_id=contract_id, **values))
        else:
            await session.execute(update(contracts).where(contracts.c.contract_id == contract_id).values(**values))
        return known


def package_from_row(row: Any) -> rules.Package:
    return rules.Package(
        package_id=row.package_id,
        opd_id=row.opd_id,
        method=row.method,
        evaluation_system=row.evaluation_system,
        hps=row.hps,
        kbli_codes=tuple(row.kbli_codes or ()),
        announced_at=as_utc(row.announced_at),
        announced_seq=row.announced_seq,
        submission_ends_at=as_utc(row.submission_ends_at),
        schedule_seq=row.schedule_seq,
        bidders=row.bidders,
        opened_seq=row.opened_seq,
        winner_vendor_id=row.winner_vendor_id,
        winning_price=row.winning_price,
        lowest_price=row.lowest_price,
        lowest_vendor_id=row.lowest_vendor_id,
        winner_seq=row.winner_seq,
        awarded_at=as_utc(row.awarded_at),
        awarded_price=row.awarded_price,
        award_seq=row.award_seq,
    )


def as_utc(when: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for timezone-aware columns; the service only ever stores UTC.
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def jakarta_date(when: datetime | None) -> date:
    assert when is not None
    return as_utc(when).astimezone(JAKARTA).date()  # type: ignore[union-attr]


def _submission_end(schedule: list[te.TenderStageWindow]) -> datetime | None:
    ends = [w.ends_at for w in schedule if w.stage == "submission"]
    return max(ends) if ends else None


def _package_facts(facts: te.TenderPackageFacts) -> dict[str, Any]:
    return {
        "opd_id": facts.opd_id,
        "fiscal_year": facts.fiscal_year,
        "method": facts.method,
        "evaluation_system": facts.evaluation_system,
        "pagu": facts.pagu,
        "hps": facts.hps,
        "kbli_codes": list(facts.kbli_codes),
    }


async def _announced(session: AsyncSession, seq: int, e: te.TenderAnnounced, p: Projection) -> None:
    values: dict[str, Any] = {**_package_facts(e.package), "announced_at": e.announced_at, "announced_seq": seq}
    if (end := _submission_end(e.schedule)) is not None:
        values |= {"submission_ends_at": end, "schedule_seq": seq}
    await p.upsert_package(session, e.package.package_id, **values)
    await p.evaluate(session, seq, e.package.package_id)


async def _amended(session: AsyncSession, seq: int, e: te.TenderAmended, p: Projection) -> None:
    if (end := _submission_end(e.schedule)) is not None:
        await p.upsert_package(session, e.package_id, submission_ends_at=end, schedule_seq=seq)
        await p.evaluate(session, seq, e.package_id)


async def _bid(
    session: AsyncSession, seq: int, e: te.TenderBidSubmitted | te.TenderBidSubmittedV2, p: Projection
) -> None:
    values: dict[str, Any] = {"bid_id": e.bid_id}
    if isinstance(e, te.TenderBidSubmittedV2):
        values |= {
            "round": e.round,
            "submitter_address": (e.submitter_address or "")[:100] or None,
            "document_digests": list(e.document_digests),
        }
    await session.execute(
        insert(bids).values(
            seq=seq, package_id=e.package_id, vendor_id=e.vendor_id, receipt_sha256=e.receipt_sha256, **values
        )
    )
    await p.facts_of(session, e.package_id, opd_id=e.opd_id)
    # At a deadline a package gets a bid after another: its flags are judged once per consumer batch, not per bid.
    p.evaluate_later(session, e.package_id)


async def _recorded(session: AsyncSession, seq: int, e: rec.TenderPurchaseRecorded, p: Projection) -> None:
    """Keeps the highest revision of each record: a lower or repeated revision arriving late teaches nothing,
    a higher one replaces the figures (value, OPD, year...) of the one before, so nothing counts twice."""
    known = await session.scalar(
        select(recorded_purchases.c.revision).where(recorded_purchases.c.record_id == e.record_id)
    )
    if known is not None and known >= e.revision:
        return
    values: dict[str, Any] = {
        "revision": e.revision,
        "seq": seq,
        "code": e.code,
        "kind": e.kind,
        "method": e.method,
        "opd_id": e.opd_id,
        "fiscal_year": e.fiscal_year,
        "procurement_type": e.procurement_type,
        "kbli_codes": list(e.kbli_codes),
        "pagu": e.pagu,
        "realised_value": e.realised_value,
        "vendor_id": e.vendor_id,
        "start_date": e.start_date,
        "end_date": e.end_date,
        "recorded_at": e.recorded_at,
    }
    if known is None:
        await session.execute(insert(recorded_purchases).values(record_id=e.record_id, **values))
    else:
        await session.execute(
            update(recorded_purchases).where(recorded_purchases.c.record_id == e.record_id).values(**values)
        )
    if e.method in p.settings.flag_direct_methods:
        await p.raise_flags(session, seq, await p.split_flags(session, e.opd_id, e.start_date))


async def _opened(session: AsyncSession, seq: int, e: te.TenderBidsOpened, p: Projection) -> None:
    row = await p.package(session, e.package_id)
    count = len(set(e.bidders))
    # Two-file tenders open twice; the first opening (all envelopes received) counts the bidders.
    if row is None or row.opened_seq is None:
        await p.upsert_package(session, e.package_id, bidders=count, opened_seq=seq)
    await p.evaluate(session, seq, e.package_id)


async def _winner(session: AsyncSession, seq: int, e: te.TenderWinnerAnnounced, p: Projection) -> None:
    priced = [
        (r.corrected_price if r.corrected_price is not None else r.offered_price, r.vendor_id)
        for r in e.results
        if (r.corrected_price if r.corrected_price is not None else r.offered_price) is not None
    ]
    lowest = min(priced) if priced else (None, None)
    await p.upsert_package(
        session,
        e.package_id,
        winner_vendor_id=e.winner_vendor_id,
        winning_price=e.winning_price,
        lowest_price=lowest[0],
        lowest_vendor_id=lowest[1],
        winner_seq=seq,
    )
    await p.facts_of(session, e.package_id, opd_id=e.opd_id, hps=e.hps)
    await p.evaluate(session, seq, e.package_id)


async def _awarded(session: AsyncSession, seq: int, e: te.TenderAwarded, p: Projection) -> None:
    await p.facts_of(session, e.package.package_id, **_package_facts(e.package), winner_vendor_id=e.winner.vendor_id)
    await p.upsert_package(
        session, e.package.package_id, awarded_at=e.awarded_at, awarded_price=e.awarded_price, award_seq=seq
    )
    await p.evaluate(session, seq, e.package.package_id)


async def _ended(session: AsyncSession, seq: int, e: te.TenderFailed | te.TenderCancelled, p: Projection) -> None:
    ended = "failed" if isinstance(e, te.TenderFailed) else "cancelled"
    await p.upsert_package(session, e.package_id, ended=ended)


async def _drafted(session: AsyncSession, seq: int, e: ce.ContractDrafted, p: Projection) -> None:
    known = (await session.execute(select(contracts).where(contracts.c.contract_id == e.contract_id))).first()
    values: dict[str, Any] = {"package_id": e.package_id, "opd_id": e.opd_id, "vendor_id": e.vendor_id}
    if known is None or known.original_value is None:
        values |= {"original_value": e.value, "current_value": e.value}
    await p.upsert_contract(session, e.contract_id, **values)


async def _signed(session: AsyncSession, seq: int, e: ce.ContractSigned, p: Projection) -> None:
    known = (await session.execute(select(contracts).where(contracts.c.contract_id == e.contract_id))).first()
    values: dict[str, Any] = {"package_id": e.package_id, "opd_id": e.opd_id, "vendor_id": e.vendor_id, "signed": 1}
    if known is None or known.original_value is None:
        values |= {"original_value": e.value, "current_value": e.value}
    await p.upsert_contract(session, e.contract_id, **values)


async def _contract_amended(session: AsyncSession, seq: int, e: ce.ContractAmended, p: Projection) -> None:
    known = (await session.execute(select(contracts).where(contracts.c.contract_id == e.contract_id))).first()
    # Without the signing event, the original value is the new value less what amendments added (reductions
    # since signing would make that an underestimate of the original).
    original = known.original_value if known is not None and known.original_value else None
    original = original or e.new_value - e.added_value_total
    await p.upsert_contract(
        session,
        e.contract_id,
        package_id=e.package_id,
        opd_id=e.opd_id,
        vendor_id=e.vendor_id,
        original_value=original,
        current_value=e.new_value,
    )
    found = rules.amendment_near_cap(
        rules.Amendment(
            contract_id=e.contract_id,
            package_id=e.package_id,
            opd_id=e.opd_id,
            vendor_id=e.vendor_id,
            amendment_number=e.amendment_number,
            original_value=original,
            added_value_total=e.added_value_total,
            seq=seq,
        ),
        p.settings,
    )
    await p.raise_flags(session, seq, found)


async def _contract_ended(
    session: AsyncSession, seq: int, e: ce.ContractCompleted | ce.ContractTerminated | ce.ContractStopped, p: Projection
) -> None:
    known = (await session.execute(select(contracts).where(contracts.c.contract_id == e.contract_id))).first()
    values: dict[str, Any] = {
        "package_id": e.package_id,
        "opd_id": e.opd_id,
        "vendor_id": e.vendor_id,
        "current_value": e.final_value,
        "completed": 1 if isinstance(e, ce.ContractCompleted) else 0,
    }
    if known is None or known.original_value is None:
        values["original_value"] = e.original_value
    await p.upsert_contract(session, e.contract_id, **values)


async def _nothing(session: AsyncSession, seq: int, e: Any, p: Projection) -> None:
    """Public records that only enter the OCDS index."""


HANDLERS: dict[str, tuple[type[BaseModel], Apply]] = {
    te.TenderAnnounced.type_name(): (te.TenderAnnounced, _announced),
    te.TenderAmended.type_name(): (te.TenderAmended, _amended),
    te.TenderBidSubmitted.type_name(): (te.TenderBidSubmitted, _bid),
    te.TenderBidSubmittedV2.type_name(): (te.TenderBidSubmittedV2, _bid),
    te.TenderBidsOpened.type_name(): (te.TenderBidsOpened, _opened),
    te.TenderWinnerAnnounced.type_name(): (te.TenderWinnerAnnounced, _winner),
    te.TenderAwarded.type_name(): (te.TenderAwarded, _awarded),
    te.TenderFailed.type_name(): (te.TenderFailed, _ended),
    te.TenderCancelled.type_name(): (te.TenderCancelled, _ended),
    ce.ContractDrafted.type_name(): (ce.ContractDrafted, _drafted),
    ce.ContractSigned.type_name(): (ce.ContractSigned, _signed),
    ce.ContractAmended.type_name(): (ce.ContractAmended, _contract_amended),
    ce.ContractCompleted.type_name(): (ce.ContractCompleted, _contract_ended),
    ce.ContractTerminated.type_name(): (ce.ContractTerminated, _contract_ended),
    ce.ContractStopped.type_name(): (ce.ContractStopped, _contract_ended),
    ce.ContractPublicUpdated.type_name(): (ce.ContractPublicUpdated, _nothing),
    rec.TenderPurchaseRecorded.type_name(): (rec.TenderPurchaseRecorded, _recorded),
}
