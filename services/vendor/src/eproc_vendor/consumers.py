"""Events this service consumes: new vendor users from the gateway, contract outcomes and ratings.

Each handler runs in the consumer's transaction together with its inbox row, so a redelivered
event is never applied twice. Events of one contract may arrive in any order relative to the
vendor's own record (a rating before the vendor registered here, a rating before the completion):
each fact is kept on its own key and the latest by event time wins.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types.contract import ContractCompleted, ContractTerminated, ContractVendorRated
from eproc_shared.events.types.identity import VendorUserRegistered
from eproc_shared.events.types.vendor import VendorBlacklistProposed, VendorRated
from eproc_shared.outbox import Outbox
from eproc_shared.service_app import ConsumerSpec
from eproc_vendor.clock import Clock, jakarta_today
from eproc_vendor.domain import blacklist as bl
from eproc_vendor.domain.ratings import overall_score
from eproc_vendor.domain.validation import normalize_npwp
from eproc_vendor.models import blacklist_entries, contract_outcomes, ratings, vendors
from eproc_vendor.publishing import refresh, track_record
from eproc_vendor.store import create_vendor, get_vendor, new_id, npwp_taken, record

log = logging.getLogger(__name__)


class Handlers:
    def __init__(self, outbox_of: Any, clock: Clock, blacklist_months: int) -> None:
        # The outbox exists only once the app has started, hence a getter.
        self._outbox_of = outbox_of
        self.clock = clock
        self.blacklist_months = blacklist_months

    @property
    def outbox(self) -> Outbox:
        return self._outbox_of()  # type: ignore[no-any-return]

    async def vendor_user_registered(self, session: AsyncSession, envelope: Envelope[VendorUserRegistered]) -> None:
        e = envelope.data
        now = self.clock()
        existing = await get_vendor(session, e.vendor_id, lock=True)
        if existing is not None:
            # The vendor may have entered its company data here before this event arrived.
            if existing["user_id"] is None:
                await session.execute(update(vendors).where(vendors.c.id == e.vendor_id).values(user_id=e.user_id))
            return
        npwp = None
        if e.tax_id:
            try:
                npwp = normalize_npwp(e.tax_id)
            except ValueError:
                log.info("vendor %s registered with an invalid NPWP; it must enter a valid one", e.vendor_id)
            if npwp and await npwp_taken(session, npwp, e.vendor_id):
                npwp = None
        await create_vendor(session, e.vendor_id, legal_name=e.company_name, npwp=npwp, user_id=e.user_id, now=now)
        await record(session, e.vendor_id, now, e.user_id, "registered", detail="self-registration at the gateway")
        # vendor.registered follows when the company data is entered: the business form is not known yet.

    async def _outcome(self, session: AsyncSession, values: dict[str, Any], time: datetime) -> bool:
        """Keeps the latest outcome per contract; answers whether this event changed anything."""
        current = (
            (
                await session.execute(
                    select(contract_outcomes).where(contract_outcomes.c.contract_id == values["contract_id"])
                )
            )
            .mappings()
            .first()
        )
        if current is not None and current["event_time"] >= time:
            return False
        if current is None:
            await session.execute(insert(contract_outcomes).values(**values, event_time=time))
        else:
            await session.execute(
                update(contract_outcomes)
                .where(contract_outcomes.c.contract_id == values["contract_id"])
                .values(**values, event_time=time)
            )
        return True

    async def _vendor_known(self, session: AsyncSession, vendor_id: str) -> bool:
        return await session.scalar(select(vendors.c.id).where(vendors.c.id == vendor_id)) is not None

    async def contract_completed(self, session: AsyncSession, envelope: Envelope[ContractCompleted]) -> None:
        e = envelope.data
        changed = await self._outcome(
            session,
            {
                "contract_id": e.contract_id,
                "vendor_id": e.vendor_id,
                "package_id": e.package_id,
                "opd_id": e.opd_id,
                "ppk_id": e.ppk_id,
                "outcome": "completed",
                "outcome_on": e.completed_on,
                "final_value": e.final_value,
                "kbli_code": e.kbli_code,
                "fault_party": None,
            },
            envelope.time,
        )
        if changed and await self._vendor_known(session, e.vendor_id):
            now = self.clock()
            await record(session, e.vendor_id, now, None, "contract_completed", detail=e.contract_id)
            await refresh(session, self.outbox, e.vendor_id, now, "changed")

    async def contract_terminated(self, session: AsyncSession, envelope: Envelope[ContractTerminated]) -> None:
        e = envelope.data
        changed = await self._outcome(
            session,
            {
                "contract_id": e.contract_id,
                "vendor_id": e.vendor_id,
                "package_id": e.package_id,
                "opd_id": e.opd_id,
                "ppk_id": e.ppk_id,
                "outcome": "terminated",
                "outcome_on": e.terminated_on,
                "final_value": e.final_value,
                "kbli_code": None,
                "fault_party": e.fault_party,
            },
            envelope.time,
        )
        if not changed:
            return
        now = self.clock()
        known = await self._vendor_known(session, e.vendor_id)
        if known:
            await record(session, e.vendor_id, now, None, "contract_terminated", detail=f"{e.contract_id}: {e.reason}")
        if e.fault_party != "vendor":
            if known:
                await refresh(session, self.outbox, e.vendor_id, now, "changed")
            return
        already = await session.scalar(
            select(blacklist_entries.c.id).where(blacklist_entries.c.contract_id == e.contract_id)
        )
        if already is None:
            starts_on, ends_on = bl.default_period(jakarta_today(now), self.blacklist_months)
            proposal_id = new_id()
            reason = f"Contract {e.contract_id} terminated for the vendor's fault: {e.reason}"
            await session.execute(
                insert(blacklist_entries).values(
                    id=proposal_id,
                    vendor_id=e.vendor_id,
                    opd_id=e.opd_id,
                    legal_basis=e.legal_basis,
                    reason=reason,
                    starts_on=starts_on,
                    ends_on=ends_on,
                    status=bl.PROPOSED,
                    contract_id=e.contract_id,
                    proposed_by=e.ppk_id,
                    proposed_at=now,
                )
            )
            if known:
                await record(session, e.vendor_id, now, None, "blacklist_proposed", detail=reason)
            await self.outbox.add(
                session,
                VendorBlacklistProposed(
                    vendor_id=e.vendor_id,
                    proposal_id=proposal_id,
                    opd_id=e.opd_id,
                    contract_id=e.contract_id,
                    reason=reason,
                    proposed_starts_on=starts_on,
                    proposed_ends_on=ends_on,
                ),
                key=e.vendor_id,
                subject=e.vendor_id,
            )
        if known:
            await refresh(session, self.outbox, e.vendor_id, now, "changed")

    async def vendor_rated(self, session: AsyncSession, envelope: Envelope[ContractVendorRated]) -> None:
        e = envelope.data
        score = overall_score((s.score, s.scale_max) for s in e.scores)
        values = {
            "vendor_id": e.vendor_id,
            "contract_id": e.contract_id,
            "package_id": e.package_id,
            "opd_id": e.opd_id,
            "ppk_id": e.ppk_id,
            "rated_on": e.rated_on,
            "scores": {s.criterion: s.score for s in e.scores},
            "score": score,
            "comment": e.comment,
            "event_time": envelope.time,
        }
        current = (await session.execute(select(ratings).where(ratings.c.id == e.rating_id))).mappings().first()
        if current is not None:
            if current["event_time"] >= envelope.time:
                return  # an older version of a rating already superseded
            await session.execute(update(ratings).where(ratings.c.id == e.rating_id).values(**values))
        else:
            await session.execute(insert(ratings).values(id=e.rating_id, **values))
        if not await self._vendor_known(session, e.vendor_id):
            return
        now = self.clock()
        await record(session, e.vendor_id, now, e.ppk_id, "rated", after={"contract_id": e.contract_id, "score": score})
        summary = await track_record(session, e.vendor_id)
        await refresh(
            session,
            self.outbox,
            e.vendor_id,
            now,
            "rated",
            before=[
                VendorRated(
                    vendor_id=e.vendor_id,
                    rating_id=e.rating_id,
                    contract_id=e.contract_id,
                    package_id=e.package_id,
                    opd_id=e.opd_id,
                    ppk_id=e.ppk_id,
                    rated_on=e.rated_on,
                    scores=values["scores"],
                    score=score,
                    contracts_rated=summary.contracts_rated,
                    average_score=summary.average_score or 0,
                )
            ],
        )


def consumer_specs(handlers: Handlers, group: str) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(
            group,
            {
                VendorUserRegistered.type_name(): handlers.vendor_user_registered,
                ContractCompleted.type_name(): handlers.contract_completed,
                ContractTerminated.type_name(): handlers.contract_terminated,
                ContractVendorRated.type_name(): handlers.vendor_rated,
            },
        )
    ]
