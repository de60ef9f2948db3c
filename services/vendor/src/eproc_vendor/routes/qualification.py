"""Qualification against a package's requirements, the eligibility facts, and the track record."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from eproc_shared.auth import CurrentPrincipal
from eproc_shared.events.types.vendor import VendorEligibilityFacts
from eproc_vendor.clock import jakarta_today
from eproc_vendor.deps import Now, ReadSession, ensure_can_read
from eproc_vendor.domain.qualification import Requirements, qualify
from eproc_vendor.models import contract_outcomes, ratings
from eproc_vendor.publishing import eligibility_facts, track_record
from eproc_vendor.schemas import (
    Kbli,
    OutcomeOut,
    QualificationOut,
    RatingOut,
    RequirementOut,
    SbuCode,
    SizeClass,
    TrackRecordOut,
)
from eproc_vendor.store import load

router = APIRouter(tags=["qualification"])


@router.get(
    "/vendors/{vendor_id}/qualification",
    response_model=QualificationOut,
    summary="Pass or fail per requirement of a package, with the reason",
    description="Judged on verified data only, on `on` (default: today in Asia/Jakarta). Always judged: "
    "verified company data, a valid tax status and no blacklist in force; then each requirement given.",
)
async def qualification(
    vendor_id: str,
    principal: CurrentPrincipal,
    session: ReadSession,
    now: Now,
    kbli: Annotated[list[Kbli], Query(description="The package's business fields; one held is enough.")] = [],  # noqa: B006
    size_class: Annotated[list[SizeClass], Query(description="Size classes the package is open to.")] = [],  # noqa: B006
    small_business: Annotated[bool, Query(description="Reserved for small businesses (kecil).")] = False,
    min_experience_value: Annotated[
        int | None, Query(ge=0, description="Rupiah; largest single past contract.")
    ] = None,
    experience_kbli: Annotated[list[Kbli], Query(description="Fields the experience must be in (default: kbli).")] = [],  # noqa: B006
    sbu: Annotated[list[SbuCode], Query(description="SBU sub-classifications required, e.g. BG004.")] = [],  # noqa: B006
    on: Annotated[date | None, Query(description="Judge on this day instead of today.")] = None,
) -> QualificationOut:
    ensure_can_read(principal, vendor_id)
    loaded = await load(session, vendor_id)
    day = on or jakarta_today(now)
    req = Requirements(
        kbli_codes=tuple(kbli),
        size_classes=tuple(size_class),
        small_business_reserved=small_business,
        min_experience_value=min_experience_value,
        experience_kbli=tuple(experience_kbli),
        sbu=tuple(sbu),
    )
    results = qualify(loaded.facts, req, day)
    return QualificationOut(
        vendor_id=vendor_id,
        on=day,
        passed=all(r.passed for r in results),
        results=[RequirementOut(requirement=r.requirement, passed=r.passed, reason=r.reason) for r in results],
    )


@router.get(
    "/vendors/{vendor_id}/eligibility",
    response_model=VendorEligibilityFacts,
    summary="The eligibility facts as of now (the same shape the events carry)",
)
async def eligibility(
    vendor_id: str, principal: CurrentPrincipal, session: ReadSession, now: Now
) -> VendorEligibilityFacts:
    ensure_can_read(principal, vendor_id)
    loaded = await load(session, vendor_id)
    # Judged against the clock on every read, so an expiry counts from its day even before the sweep runs.
    return eligibility_facts(loaded, now, loaded.vendor["revision"])


@router.get("/vendors/{vendor_id}/track-record", response_model=TrackRecordOut, summary="Ratings and contract outcomes")
async def get_track_record(vendor_id: str, principal: CurrentPrincipal, session: ReadSession) -> TrackRecordOut:
    ensure_can_read(principal, vendor_id)
    summary = await track_record(session, vendor_id)
    rating_rows = (
        await session.execute(
            select(ratings).where(ratings.c.vendor_id == vendor_id).order_by(ratings.c.rated_on, ratings.c.id)
        )
    ).mappings()
    outcome_rows = (
        await session.execute(
            select(contract_outcomes)
            .where(contract_outcomes.c.vendor_id == vendor_id)
            .order_by(contract_outcomes.c.outcome_on, contract_outcomes.c.contract_id)
        )
    ).mappings()
    return TrackRecordOut(
        vendor_id=vendor_id,
        contracts_completed=summary.contracts_completed,
        contracts_terminated=summary.contracts_terminated,
        average_score=summary.average_score,
        ratings=[
            RatingOut(
                rating_id=r["id"],
                contract_id=r["contract_id"],
                package_id=r["package_id"],
                opd_id=r["opd_id"],
                ppk_id=r["ppk_id"],
                rated_on=r["rated_on"],
                scores=r["scores"],
                score=r["score"],
                comment=r["comment"],
            )
            for r in rating_rows
        ],
        outcomes=[
            OutcomeOut(
                contract_id=o["contract_id"],
                package_id=o["package_id"],
                opd_id=o["opd_id"],
                outcome=o["outcome"],
                outcome_on=o["outcome_on"],
                final_value=o["final_value"],
                fault_party=o["fault_party"],
            )
            for o in outcome_rows
        ],
    )
