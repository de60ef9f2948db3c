"""Events this service consumes: copies of who is who (identity, vendor, tender participants) and the
events people and outside systems are told of.

Each handler runs in the consumer's transaction with its inbox row, and every delivery it queues
has a unique key per event, recipient and channel: a redelivered event changes nothing.
Every event type on a public topic is also offered to webhook endpoints.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_notify import recipients as who
from eproc_notify.clock import Clock
from eproc_notify.models import api_keys, packages, participants, users, vendors
from eproc_notify.queueing import Queue
from eproc_notify.recipients import Recipient
from eproc_notify.store import upsert
from eproc_shared.auth import Role
from eproc_shared.events.catalogue import CATALOGUE, Event
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types import contract, identity, tender, vendor
from eproc_shared.service_app import ConsumerSpec

Handler = Callable[[AsyncSession, Envelope[Any]], Awaitable[None]]


def webhook_event_types() -> list[str]:
    """Event types outside systems may receive: those of public topics (they carry nothing private)."""
    topics = CATALOGUE.topics
    return [cls.type_name() for cls in CATALOGUE if topics[cls.topic].visibility == "public"]


class Handlers:
    def __init__(self, queue: Queue, clock: Clock, *, portal_url: str, default_language: str) -> None:
        self.queue = queue
        self.clock = clock
        self.portal_url = portal_url.rstrip("/")
        self.language = default_language

    # Helpers -----------------------------------------------------------------------------------

    async def _tell(
        self,
        session: AsyncSession,
        envelope: Envelope[Any],
        kind: str,
        audience: list[Recipient],
        context: dict[str, Any],
        link: str | None = None,
    ) -> None:
        await self.queue.notify(
            session,
            source=envelope.source,
            event_id=envelope.id,
            event_type=envelope.type,
            kind=kind,
            recipients=audience,
            context=context,
            now=self.clock(),
            link=link,
        )

    def _package_link(self, package_id: str) -> str:
        return f"{self.portal_url}/tender/{package_id}"

    async def _package_name(self, session: AsyncSession, package_id: str) -> str:
        name = await session.scalar(select(packages.c.name).where(packages.c.package_id == package_id))
        return name or package_id

    async def _participants(
        self, session: AsyncSession, package_id: str, *, without: str | None = None
    ) -> list[Recipient]:
        ids = [v for v in await who.participant_ids(session, package_id) if v != without]
        return await who.vendors_of(session, ids, self.language)

    async def _remember_package(self, session: AsyncSession, facts: tender.TenderPackageFacts) -> None:
        await upsert(
            session,
            packages,
            {
                "package_id": facts.package_id,
                "code": facts.code,
                "name": facts.name,
                "opd_id": facts.opd_id,
                "hps": facts.hps,
                "facts": facts.model_dump(mode="json"),
                "updated_at": self.clock(),
            },
            ["package_id"],
        )

    async def _remember_vendor(self, session: AsyncSession, vendor_id: str, **values: Any) -> None:
        values = {k: v for k, v in values.items() if v is not None}
        await upsert(
            session,
            vendors,
            {"vendor_id": vendor_id, "revision": 0, "updated_at": self.clock(), **values},
            ["vendor_id"],
        )

    # Identity ----------------------------------------------------------------------------------

    async def vendor_user_registered(
        self, session: AsyncSession, envelope: Envelope[identity.VendorUserRegistered]
    ) -> None:
        e = envelope.data
        await upsert(
            session,
            users,
            {
                "user_id": e.user_id,
                "roles": [Role.VENDOR.value],
                "vendor_id": e.vendor_id,
                "username": e.username,
                "email": e.email,
                "active": True,
                "updated_at": self.clock(),
            },
            ["user_id"],
        )
        known = await session.scalar(select(vendors.c.vendor_id).where(vendors.c.vendor_id == e.vendor_id))
        if known is None:
            await self._remember_vendor(session, e.vendor_id, legal_name=e.company_name)

    async def user_created(self, session: AsyncSession, envelope: Envelope[identity.UserCreated]) -> None:
        e = envelope.data
        await upsert(
            session,
            users,
            {
                "user_id": e.user_id,
                "roles": list(e.roles),
                "opd_id": e.opd_id,
                "username": e.username,
                "active": True,
                "updated_at": self.clock(),
            },
            ["user_id"],
        )

    async def user_updated(self, session: AsyncSession, envelope: Envelope[identity.UserUpdated]) -> None:
        e = envelope.data
        await upsert(
            session,
            users,
            {
                "user_id": e.user_id,
                "roles": list(e.roles),
                "opd_id": e.opd_id,
                "vendor_id": e.vendor_id,
                "active": e.active,
                "updated_at": self.clock(),
            },
            ["user_id"],
        )

    async def api_key_created(self, session: AsyncSession, envelope: Envelope[identity.ApiKeyCreated]) -> None:
        e = envelope.data
        await upsert(
            session,
            api_keys,
            {"api_key_id": e.api_key_id, "name": e.name, "created_by": e.created_by, "revoked": False},
            ["api_key_id"],
        )

    async def api_key_revoked(self, session: AsyncSession, envelope: Envelope[identity.ApiKeyRevoked]) -> None:
        await session.execute(
            update(api_keys).where(api_keys.c.api_key_id == envelope.data.api_key_id).values(revoked=True)
        )

    # Vendor register ---------------------------------------------------------------------------

    async def vendor_registered(self, session: AsyncSession, envelope: Envelope[vendor.VendorRegistered]) -> None:
        e = envelope.data
        await self._remember_vendor(
            session, e.vendor_id, legal_name=e.legal_name, contact_email=e.contact_email, contact_name=e.contact_name
        )

    async def _facts(
        self, session: AsyncSession, facts: vendor.VendorEligibilityFacts, contact: str | None = None
    ) -> None:
        current = await session.scalar(select(vendors.c.revision).where(vendors.c.vendor_id == facts.vendor_id))
        if current is None or facts.revision >= current:
            await self._remember_vendor(
                session, facts.vendor_id, legal_name=facts.legal_name, revision=facts.revision, contact_email=contact
            )

    async def qualification_changed(
        self, session: AsyncSession, envelope: Envelope[vendor.VendorQualificationChanged]
    ) -> None:
        await self._facts(session, envelope.data.facts)

    async def submitted_for_verification(
        self, session: AsyncSession, envelope: Envelope[vendor.VendorSubmittedForVerification]
    ) -> None:
        e = envelope.data
        context = {
            "vendor_name": await who.vendor_name(session, e.vendor_id),
            "items": [i.model_dump() for i in e.items],
            "resubmission": e.resubmission,
            "submitted_at": e.submitted_at,
        }
        audience = await who.officials(session, Role.VERIFIER, self.language)
        await self._tell(
            session,
            envelope,
            "vendor.submitted_for_verification",
            audience,
            context,
            f"{self.portal_url}/verification/{e.vendor_id}",
        )

    async def verified(self, session: AsyncSession, envelope: Envelope[vendor.VendorVerified]) -> None:
        e = envelope.data
        await self._facts(session, e.facts, e.contact_email)
        context = {
            "vendor_name": e.facts.legal_name,
            "items": [i.model_dump() for i in e.items],
            "verified_at": e.verified_at,
            "eligible": e.facts.eligible,
            "reasons": e.facts.ineligible_reasons,
        }
        audience = await who.vendor(session, e.vendor_id, self.language, contact_email=e.contact_email)
        await self._tell(session, envelope, "vendor.verified", audience, context, f"{self.portal_url}/vendor/profile")

    async def rejected(self, session: AsyncSession, envelope: Envelope[vendor.VendorRejected]) -> None:
        e = envelope.data
        await self._facts(session, e.facts, e.contact_email)
        context = {
            "vendor_name": e.facts.legal_name,
            "rejections": [r.model_dump() for r in e.rejections],
            "rejected_at": e.rejected_at,
        }
        audience = await who.vendor(session, e.vendor_id, self.language, contact_email=e.contact_email)
        await self._tell(session, envelope, "vendor.rejected", audience, context, f"{self.portal_url}/vendor/profile")

    async def licence_expired(self, session: AsyncSession, envelope: Envelope[vendor.VendorLicenceExpired]) -> None:
        e = envelope.data
        await self._facts(session, e.facts, e.contact_email)
        context = {
            "vendor_name": e.facts.legal_name,
            "licence_kind": e.licence_kind,
            "number": e.number,
            "valid_until": e.valid_until,
            "effective_on": e.effective_on,
        }
        audience = await who.vendor(session, e.vendor_id, self.language, contact_email=e.contact_email)
        await self._tell(
            session, envelope, "vendor.licence_expired", audience, context, f"{self.portal_url}/vendor/profile"
        )

    async def blacklisted(self, session: AsyncSession, envelope: Envelope[vendor.VendorBlacklisted]) -> None:
        e = envelope.data
        await self._facts(session, e.facts)
        context = {
            "vendor_name": e.facts.legal_name,
            "starts_on": e.entry.starts_on,
            "ends_on": e.entry.ends_on,
            "reason": e.entry.reason,
            "legal_basis": e.entry.legal_basis,
        }
        audience = await who.vendor(session, e.vendor_id, self.language)
        await self._tell(session, envelope, "vendor.blacklisted", audience, context)

    # Tenders -----------------------------------------------------------------------------------

    async def announced(self, session: AsyncSession, envelope: Envelope[tender.TenderAnnounced]) -> None:
        from eproc_notify.subscriptions import matching_subscribers

        e = envelope.data
        await self._remember_package(session, e.package)
        ends = {w.stage: w.ends_at for w in e.schedule}
        context = {
            "package": e.package.model_dump(),
            "registration_ends_at": ends.get("registration"),
            "submission_ends_at": ends.get("submission"),
        }
        audience = await matching_subscribers(session, e.package, self.language)
        await self._tell(
            session, envelope, "tender.announced", audience, context, self._package_link(e.package.package_id)
        )

    async def participant_registered(
        self, session: AsyncSession, envelope: Envelope[tender.TenderParticipantRegistered]
    ) -> None:
        e = envelope.data
        await upsert(
            session,
            participants,
            {
                "package_id": e.package_id,
                "vendor_id": e.vendor_id,
                "vendor_name": e.vendor_name,
                "registered_at": e.registered_at,
            },
            ["package_id", "vendor_id"],
        )
        known = await session.scalar(select(vendors.c.vendor_id).where(vendors.c.vendor_id == e.vendor_id))
        if known is None:
            await self._remember_vendor(session, e.vendor_id, legal_name=e.vendor_name)

    async def _to_participants(
        self, session: AsyncSession, envelope: Envelope[Any], kind: str, package_id: str, context: dict[str, Any]
    ) -> None:
        context = {"package_name": await self._package_name(session, package_id), **context}
        audience = await self._participants(session, package_id)
        await self._tell(session, envelope, kind, audience, context, self._package_link(package_id))

    async def amended(self, session: AsyncSession, envelope: Envelope[tender.TenderAmended]) -> None:
        e = envelope.data
        context = {
            "addendum_number": e.addendum_number,
            "reason": e.reason,
            "documents_changed": e.documents_changed,
            "schedule": [w.model_dump() for w in e.schedule],
        }
        await self._to_participants(session, envelope, "tender.amended", e.package_id, context)

    async def question_answered(self, session: AsyncSession, envelope: Envelope[tender.TenderQuestionAnswered]) -> None:
        e = envelope.data
        await self._to_participants(
            session, envelope, "tender.question_answered", e.package_id, {"question": e.question, "answer": e.answer}
        )

    async def bids_opened(self, session: AsyncSession, envelope: Envelope[tender.TenderBidsOpened]) -> None:
        e = envelope.data
        context = {"opened_at": e.opened_at, "bidders": e.bidders, "prices": [p.model_dump() for p in e.prices]}
        await self._to_participants(session, envelope, "tender.bids_opened", e.package_id, context)

    async def winner_announced(self, session: AsyncSession, envelope: Envelope[tender.TenderWinnerAnnounced]) -> None:
        e = envelope.data
        base = {
            "package_name": await self._package_name(session, e.package_id),
            "winner_name": e.winner_name,
            "winning_price": e.winning_price,
            "hps": e.hps,
            "objection_ends_at": e.objection_ends_at,
        }
        link = self._package_link(e.package_id)
        winner = await who.vendor(session, e.winner_vendor_id, self.language)
        others = await self._participants(session, e.package_id, without=e.winner_vendor_id)
        await self._tell(session, envelope, "tender.winner_announced", winner, {**base, "is_winner": True}, link)
        await self._tell(session, envelope, "tender.winner_announced", others, {**base, "is_winner": False}, link)

    async def objection_filed(self, session: AsyncSession, envelope: Envelope[tender.TenderObjectionFiled]) -> None:
        e = envelope.data
        context = {
            "package_name": await self._package_name(session, e.package_id),
            "filed_at": e.filed_at,
            "answer_due_at": e.answer_due_at,
        }
        link = self._package_link(e.package_id)
        # No event names the Pokja of a package yet: every Pokja member of the package's OPD is told.
        pokja = await who.officials(session, Role.POKJA, self.language, opd_id=e.opd_id)
        await self._tell(session, envelope, "tender.objection_filed.official", pokja, context, link)
        await self._tell(
            session, envelope, "tender.objection_filed", await self._participants(session, e.package_id), context, link
        )

    async def objection_answered(
        self, session: AsyncSession, envelope: Envelope[tender.TenderObjectionAnswered]
    ) -> None:
        e = envelope.data
        context = {
            "package_name": await self._package_name(session, e.package_id),
            "upheld": e.upheld,
            "consequence": e.consequence,
        }
        link = self._package_link(e.package_id)
        objector = await who.vendor(session, e.vendor_id, self.language)
        await self._tell(
            session, envelope, "tender.objection_answered", objector, {**context, "answer": e.answer}, link
        )
        others = await self._participants(session, e.package_id, without=e.vendor_id)
        # The answer is the objector's to read; the others learn the outcome.
        await self._tell(session, envelope, "tender.objection_answered", others, {**context, "answer": None}, link)

    async def awarded(self, session: AsyncSession, envelope: Envelope[tender.TenderAwarded]) -> None:
        e = envelope.data
        await self._remember_package(session, e.package)
        context = {
            "package": e.package.model_dump(),
            "sppbj_number": e.sppbj_number,
            "winner": e.winner.model_dump(),
            "awarded_price": e.awarded_price,
        }
        link = self._package_link(e.package.package_id)
        winner = await who.vendor(session, e.winner.vendor_id, self.language)
        await self._tell(session, envelope, "tender.awarded", winner, {**context, "for_ppk": False}, link)
        ppk = await who.user(session, e.ppk_id, self.language)
        await self._tell(session, envelope, "tender.awarded", ppk, {**context, "for_ppk": True}, link)

    async def failed(self, session: AsyncSession, envelope: Envelope[tender.TenderFailed]) -> None:
        e = envelope.data
        await self._to_participants(
            session, envelope, "tender.failed", e.package_id, {"reason": e.reason, "failed_at": e.failed_at}
        )

    async def assigned(self, session: AsyncSession, envelope: Envelope[tender.TenderPackageAssigned]) -> None:
        """What waits on an official: a package handed to its Pokja or Pejabat Pengadaan."""
        e = envelope.data
        audience = [r for user_id in e.assignee_ids for r in await who.user(session, user_id, self.language)]
        context = {
            "package_name": e.name,
            "package_code": e.code,
            "method": e.method,
            "assigned_role": e.assigned_role,
            "assigned_at": e.assigned_at,
        }
        await self._tell(
            session,
            envelope,
            "tender.package_assigned",
            audience,
            context,
            f"{self.portal_url}/packages/{e.package_id}",
        )

    async def cancelled(self, session: AsyncSession, envelope: Envelope[tender.TenderCancelled]) -> None:
        e = envelope.data
        context = {"reason": e.reason, "cancelled_at": e.cancelled_at}
        await self._to_participants(session, envelope, "tender.cancelled", e.package_id, context)

    # Contracts ---------------------------------------------------------------------------------

    async def _to_contract_vendor(
        self, session: AsyncSession, envelope: Envelope[Any], kind: str, context: dict[str, Any]
    ) -> None:
        e = envelope.data
        context = {
            "package_name": await self._package_name(session, e.package_id),
            "contract_id": e.contract_id,
            **context,
        }
        audience = await who.vendor(session, e.vendor_id, self.language)
        await self._tell(session, envelope, kind, audience, context, f"{self.portal_url}/contract/{e.contract_id}")

    async def contract_completed(self, session: AsyncSession, envelope: Envelope[contract.ContractCompleted]) -> None:
        e = envelope.data
        await self._to_contract_vendor(
            session, envelope, "contract.completed", {"completed_on": e.completed_on, "final_value": e.final_value}
        )

    async def contract_terminated(self, session: AsyncSession, envelope: Envelope[contract.ContractTerminated]) -> None:
        e = envelope.data
        context = {"terminated_on": e.terminated_on, "reason": e.reason, "paid_value": e.paid_value}
        await self._to_contract_vendor(session, envelope, "contract.terminated", context)

    async def contract_vendor_rated(
        self, session: AsyncSession, envelope: Envelope[contract.ContractVendorRated]
    ) -> None:
        e = envelope.data
        context = {"rated_on": e.rated_on, "scores": [s.model_dump() for s in e.scores]}
        await self._to_contract_vendor(session, envelope, "contract.vendor_rated", context)

    async def contract_drafted(self, session: AsyncSession, envelope: Envelope[contract.ContractDrafted]) -> None:
        e = envelope.data
        context = {
            "package_name": await self._package_name(session, e.package_id),
            "contract_id": e.contract_id,
            "value": e.value,
            "performance_guarantee_amount": e.performance_guarantee_amount,
        }
        link = f"{self.portal_url}/contract/{e.contract_id}"
        vendor_side = await who.vendor(session, e.vendor_id, self.language)
        await self._tell(session, envelope, "contract.drafted", vendor_side, {**context, "for_ppk": False}, link)
        ppk = await who.user(session, e.ppk_id, self.language)
        await self._tell(session, envelope, "contract.drafted", ppk, {**context, "for_ppk": True}, link)

    async def contract_party_signed(
        self, session: AsyncSession, envelope: Envelope[contract.ContractPartySigned]
    ) -> None:
        """One party signed: the other party's signature is what the contract now waits on."""
        e = envelope.data
        context = {
            "package_name": await self._package_name(session, e.package_id),
            "contract_id": e.contract_id,
            "signed_by": e.signature.party,
            "signed_at": e.signature.signed_at,
        }
        if e.awaiting == "ppk":
            audience = await who.user(session, e.ppk_id, self.language)
        else:
            audience = await who.vendor(session, e.vendor_id, self.language)
        await self._tell(
            session, envelope, "contract.party_signed", audience, context, f"{self.portal_url}/contract/{e.contract_id}"
        )

    async def contract_signed(self, session: AsyncSession, envelope: Envelope[contract.ContractSigned]) -> None:
        e = envelope.data
        context = {
            "package_name": await self._package_name(session, e.package_id),
            "contract_number": e.contract_number,
            "value": e.value,
            "duration_days": e.duration_days,
            "signed_on": e.signed_on,
        }
        audience = await who.vendor(session, e.vendor_id, self.language) + await who.user(
            session, e.ppk_id, self.language
        )
        await self._tell(
            session, envelope, "contract.signed", audience, context, f"{self.portal_url}/contract/{e.contract_id}"
        )

    async def contract_started(self, session: AsyncSession, envelope: Envelope[contract.ContractStarted]) -> None:
        e = envelope.data
        await self._to_contract_vendor(
            session,
            envelope,
            "contract.started",
            {"spmk_number": e.spmk_number, "start_date": e.start_date, "planned_end": e.planned_end},
        )

    async def appeal_filed(self, session: AsyncSession, envelope: Envelope[tender.TenderAppealFiled]) -> None:
        e = envelope.data
        context = {
            "package_name": await self._package_name(session, e.package_id),
            "filed_at": e.filed_at,
            "answer_due_at": e.answer_due_at,
            "guarantee_amount": e.guarantee_amount,
            "guarantee_required": e.guarantee_required,
        }
        # No event names who answers an appeal (the PA/KPA or its delegate): the OPD's PPK and Pokja are told.
        officials = await who.officials(session, Role.POKJA, self.language, opd_id=e.opd_id)
        officials += await who.officials(session, Role.PPK, self.language, opd_id=e.opd_id)
        await self._tell(
            session, envelope, "tender.appeal_filed.official", officials, context, self._package_link(e.package_id)
        )

    async def appeal_answered(self, session: AsyncSession, envelope: Envelope[tender.TenderAppealAnswered]) -> None:
        e = envelope.data
        context = {
            "package_name": await self._package_name(session, e.package_id),
            "upheld": e.upheld,
            "guarantee_forfeited": e.guarantee_forfeited,
            "answer": e.answer,
        }
        appellant = await who.vendor(session, e.vendor_id, self.language)
        await self._tell(
            session, envelope, "tender.appeal_answered", appellant, context, self._package_link(e.package_id)
        )

    # Table -------------------------------------------------------------------------------------

    def people(self) -> dict[type[Event], Handler]:
        return {
            identity.VendorUserRegistered: self.vendor_user_registered,
            identity.UserCreated: self.user_created,
            identity.UserUpdated: self.user_updated,
            identity.ApiKeyCreated: self.api_key_created,
            identity.ApiKeyRevoked: self.api_key_revoked,
            vendor.VendorRegistered: self.vendor_registered,
            vendor.VendorQualificationChanged: self.qualification_changed,
            vendor.VendorSubmittedForVerification: self.submitted_for_verification,
            vendor.VendorVerified: self.verified,
            vendor.VendorRejected: self.rejected,
            vendor.VendorLicenceExpired: self.licence_expired,
            vendor.VendorBlacklisted: self.blacklisted,
            tender.TenderAnnounced: self.announced,
            tender.TenderParticipantRegistered: self.participant_registered,
            tender.TenderAmended: self.amended,
            tender.TenderQuestionAnswered: self.question_answered,
            tender.TenderBidsOpened: self.bids_opened,
            tender.TenderWinnerAnnounced: self.winner_announced,
            tender.TenderObjectionFiled: self.objection_filed,
            tender.TenderObjectionAnswered: self.objection_answered,
            tender.TenderAwarded: self.awarded,
            tender.TenderFailed: self.failed,
            tender.TenderCancelled: self.cancelled,
            tender.TenderPackageAssigned: self.assigned,
            contract.ContractCompleted: self.contract_completed,
            contract.ContractTerminated: self.contract_terminated,
            contract.ContractVendorRated: self.contract_vendor_rated,
            contract.ContractDrafted: self.contract_drafted,
            contract.ContractPartySigned: self.contract_party_signed,
            contract.ContractSigned: self.contract_signed,
            contract.ContractStarted: self.contract_started,
            tender.TenderAppealFiled: self.appeal_filed,
            tender.TenderAppealAnswered: self.appeal_answered,
        }

    def table(self) -> dict[str, Handler]:
        """A handler per consumed type: the people's handler, then the webhook fan-out for public types."""
        handlers: dict[str, Handler] = {cls.type_name(): h for cls, h in self.people().items()}
        for type_name in webhook_event_types():
            handlers[type_name] = self._with_webhooks(handlers.get(type_name))
        return handlers

    def _with_webhooks(self, first: Handler | None) -> Handler:
        async def handle(session: AsyncSession, envelope: Envelope[Any]) -> None:
            if first is not None:
                await first(session, envelope)
            await self.queue.fan_out(session, envelope, self.clock())

        return handle


def consumer_specs(handlers: Handlers, group: str) -> list[ConsumerSpec]:
    return [ConsumerSpec(group, handlers.table())]
