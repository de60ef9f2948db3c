"""What anyone may read without signing in: vendor search, public profiles and the blacklist.

Only verified data, and never contacts, tax documents or personnel details.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from eproc_shared.events.types.vendor import VendorProfilePublished
from eproc_shared.pagination import Page, PageParams, page_params, paginate
from eproc_vendor.clock import jakarta_today
from eproc_vendor.deps import Now, ReadSession
from eproc_vendor.domain import blacklist as bl
from eproc_vendor.domain.facts import standing
from eproc_vendor.models import blacklist_entries, vendor_kbli, vendors
from eproc_vendor.publishing import eligibility_facts, public_profile, track_record
from eproc_vendor.routes.blacklist import entry_out
from eproc_vendor.schemas import BlacklistOut, Kbli, PublicVendorSummary, SizeClass
from eproc_vendor.store import load, not_found

router = APIRouter(prefix="/public", tags=["public"])


@router.get("/vendors", response_model=Page[PublicVendorSummary], summary="Search verified vendors")
async def search(
    session: ReadSession,
    now: Now,
    params: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100, description="Part of the company name.")] = None,
    kbli: Annotated[Kbli | None, Query(description="Business field (5-digit KBLI).")] = None,
    city: Annotated[str | None, Query(max_length=120)] = None,
    size_class: Annotated[SizeClass | None, Query()] = None,
) -> Page[PublicVendorSummary]:
    stmt = select(vendors.c.id, vendors.c.public_name_lc).where(vendors.c.ever_verified.is_(True))
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(vendors.c.public_name_lc.like(f"%{escaped}%", escape="\\"))
    if city:
        stmt = stmt.where(vendors.c.public_city_lc == city.strip().lower())
    if size_class:
        stmt = stmt.where(vendors.c.public_size_class == size_class)
    if kbli:
        stmt = stmt.where(vendors.c.id.in_(select(vendor_kbli.c.vendor_id).where(vendor_kbli.c.code == kbli)))
    sub = stmt.subquery()
    rows, cursor = await paginate(session, select(sub), [sub.c.public_name_lc, sub.c.id], params)
    day = jakarta_today(now)
    items = []
    for row in rows:
        loaded = await load(session, row.id)
        company = loaded.company or {}
        state = standing(loaded.facts, day)
        items.append(
            PublicVendorSummary(
                vendor_id=row.id,
                legal_name=company.get("legal_name", ""),
                city=company.get("city"),
                province=company.get("province"),
                size_class=loaded.facts.size_class,
                kbli_codes=sorted(state.usable_kbli),
                blacklisted=state.blacklisted,
            )
        )
    return Page[PublicVendorSummary](items=items, next_cursor=cursor)


@router.get("/vendors/{vendor_id}", response_model=VendorProfilePublished, summary="A vendor's public profile")
async def profile(vendor_id: str, session: ReadSession, now: Now) -> VendorProfilePublished:
    vendor = await session.scalar(select(vendors.c.ever_verified).where(vendors.c.id == vendor_id))
    if not vendor:
        raise not_found("vendor")
    loaded = await load(session, vendor_id)
    facts = eligibility_facts(loaded, now, loaded.vendor["revision"])
    return public_profile(loaded, facts, await track_record(session, vendor_id))


@router.get("/blacklist", response_model=list[BlacklistOut], summary="The blacklist (daftar hitam)")
async def public_blacklist(
    session: ReadSession,
    now: Now,
    include_past: Annotated[bool, Query(description="Also entries that ended or were revoked.")] = False,
) -> list[BlacklistOut]:
    day = jakarta_today(now)
    statuses = [bl.CONFIRMED, bl.LIFTED, bl.REVOKED] if include_past else [bl.CONFIRMED]
    rows = (
        await session.execute(
            select(blacklist_entries, vendors.c.public_name)
            .join(vendors, vendors.c.id == blacklist_entries.c.vendor_id, isouter=True)
            .where(blacklist_entries.c.status.in_(statuses))
            .order_by(blacklist_entries.c.starts_on.desc(), blacklist_entries.c.id)
        )
    ).mappings()
    out = [entry_out(r, day, r["public_name"]) for r in rows]
    # A confirmed entry whose end passed is over even before the sweep marks it lifted.
    return out if include_past else [e for e in out if e.ends_on >= day]
