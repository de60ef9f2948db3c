"""Turning a vendor's facts into the events other services keep their own copy from."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_shared.events.catalogue import Event
from eproc_shared.events.types.vendor import (
    QualificationCause,
    VendorBlacklistPeriod,
    VendorEligibilityFacts,
    VendorExperienceFact,
    VendorLicenceFact,
    VendorProfilePublished,
    VendorPublicLicence,
    VendorQualificationChanged,
    VendorTaxStatusFact,
    VendorTrackRecord,
)
from eproc_shared.outbox import Outbox
from eproc_vendor.clock import jakarta_today
from eproc_vendor.domain.facts import BlacklistPeriod, standing
from eproc_vendor.domain.ratings import average
from eproc_vendor.models import contract_outcomes, ratings, vendor_kbli, vendors
from eproc_vendor.store import Loaded, load


def period_out(p: BlacklistPeriod) -> VendorBlacklistPeriod:
    return VendorBlacklistPeriod(
        entry_id=p.entry_id,
        opd_id=p.opd_id,
        legal_basis=p.legal_basis,
        reason=p.reason,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        lifted=p.lifted_on is not None,
    )


def eligibility_facts(loaded: Loaded, now: datetime, revision: int) -> VendorEligibilityFacts:
    facts, vendor = loaded.facts, loaded.vendor
    day = jakarta_today(now)
    state = standing(facts, day)
    tax = facts.tax_status
    return VendorEligibilityFacts(
        vendor_id=facts.vendor_id,
        revision=revision,
        as_of=now,
        legal_name=(loaded.company or {}).get("legal_name", vendor["legal_name"]),
        npwp=(loaded.company or {}).get("npwp", vendor["npwp"] or ""),
        status=vendor["status"],
        verified=facts.verified,
        size_class=facts.size_class,  # type: ignore[arg-type]
        kbli_codes=sorted(state.usable_kbli),
        licences=[
            VendorLicenceFact(
                licence_id=lic.item_id,
                kind=lic.kind,  # type: ignore[arg-type]
                number=lic.number,
                issuer=lic.issuer,
                valid_from=lic.valid_from,
                valid_until=lic.valid_until,
                kbli_codes=list(lic.kbli_codes),
                sbu_subclassification=lic.sbu_subclassification,
                expired=lic.expired_on(day),
            )
            for lic in facts.licences
        ],
        tax_status=VendorTaxStatusFact(
            compliant=tax.compliant, checked_on=tax.checked_on, valid_until=tax.valid_until, expired=tax.expired_on(day)
        )
        if tax
        else None,
        experience=[
            VendorExperienceFact(experience_id=e.experience_id, kbli_code=e.kbli_code, value=e.value, year=e.year)
            for e in facts.experience
        ],
        blacklist=[period_out(p) for p in facts.blacklist if not p.over_on(day)],
        blacklisted=state.blacklisted,
        eligible=state.eligible,
        ineligible_reasons=state.reasons,
    )


async def track_record(session: AsyncSession, vendor_id: str) -> VendorTrackRecord:
    outcomes = dict(
        (
            await session.execute(
                select(contract_outcomes.c.outcome, func.count())
                .where(contract_outcomes.c.vendor_id == vendor_id)
                .group_by(contract_outcomes.c.outcome)
            )
        ).all()
    )
    scores = list((await session.scalars(select(ratings.c.score).where(ratings.c.vendor_id == vendor_id))).all())
    return VendorTrackRecord(
        contracts_completed=int(outcomes.get("completed", 0)),
        contracts_terminated=int(outcomes.get("terminated", 0)),
        contracts_rated=len(scores),
        average_score=average(scores),
    )


def public_profile(loaded: Loaded, facts: VendorEligibilityFacts, record: VendorTrackRecord) -> VendorProfilePublished:
    company = loaded.company or {}
    return VendorProfilePublished(
        vendor_id=facts.vendor_id,
        revision=facts.revision,
        legal_name=company.get("legal_name", loaded.vendor["legal_name"]),
        business_form=company.get("business_form", "pt"),
        city=company.get("city"),
        province=company.get("province"),
        size_class=facts.size_class,
        status=facts.status,
        kbli_codes=facts.kbli_codes,
        licences=[
            VendorPublicLicence(
                kind=lic.kind,
                number=lic.number,
                issuer=lic.issuer,
                valid_until=lic.valid_until,
                kbli_codes=lic.kbli_codes,
                sbu_subclassification=lic.sbu_subclassification,
                expired=lic.expired,
            )
            for lic in facts.licences
        ],
        track_record=record,
        blacklisted=facts.blacklisted,
        blacklist=facts.blacklist,
    )


def contact_email(loaded: Loaded) -> str | None:
    company = loaded.draft_company or loaded.company or {}
    contacts: list[dict[str, Any]] = company.get("contacts") or []
    return contacts[0].get("email") if contacts else None


async def refresh(
    session: AsyncSession,
    outbox: Outbox,
    vendor_id: str,
    now: datetime,
    cause: QualificationCause,
    *,
    before: list[Event] | None = None,
    make_events: Any = None,
) -> tuple[Loaded, VendorEligibilityFacts]:
    """After a change: a new revision of the facts, the public search columns, and the events.

    ``make_events(loaded, facts)`` returns the specific events (verified, blacklisted...) that go out
    before the qualification_changed and profile events, all in this transaction.
    """
    revision = int(
        (
            await session.execute(
                update(vendors)
                .where(vendors.c.id == vendor_id)
                .values(revision=vendors.c.revision + 1, updated_at=now)
                .returning(vendors.c.revision)
            )
        ).scalar_one()
    )
    loaded = await load(session, vendor_id)
    facts = eligibility_facts(loaded, now, revision)
    company = loaded.company
    await session.execute(
        update(vendors)
        .where(vendors.c.id == vendor_id)
        .values(
            public_name=company["legal_name"] if company else None,
            public_name_lc=company["legal_name"].lower() if company else None,
            public_city_lc=company["city"].lower() if company else None,
            public_size_class=company["size_class"] if company else None,
        )
    )
    await session.execute(delete(vendor_kbli).where(vendor_kbli.c.vendor_id == vendor_id))
    if loaded.facts.kbli_codes:
        await session.execute(
            insert(vendor_kbli), [{"vendor_id": vendor_id, "code": c} for c in sorted(set(loaded.facts.kbli_codes))]
        )
    events: list[Event] = list(before or [])
    if make_events is not None:
        events.extend(make_events(loaded, facts))
    events.append(VendorQualificationChanged(vendor_id=vendor_id, cause=cause, facts=facts))
    if loaded.vendor["ever_verified"]:
        events.append(public_profile(loaded, facts, await track_record(session, vendor_id)))
    for item in events:
        await outbox.add(session, item, key=vendor_id, subject=vendor_id)
    return loaded, facts


def today(now: datetime) -> date:
    return jakarta_today(now)
