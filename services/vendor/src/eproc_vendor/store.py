"""Reading and writing the register's tables: vendors, items, history, blacklist and track record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_shared.problems import ProblemError
from eproc_vendor.domain import blacklist as bl
from eproc_vendor.domain.facts import BlacklistPeriod, Experience, Licence, TaxStatus, VendorFacts
from eproc_vendor.domain.verification import SINGLE_KINDS
from eproc_vendor.models import blacklist_entries, contract_outcomes, vendor_history, vendor_items, vendors


def new_id() -> str:
    return uuid.uuid4().hex


def single_item_id(vendor_id: str, kind: str) -> str:
    return f"{vendor_id}:{kind}"


def not_found(what: str) -> ProblemError:
    return ProblemError(404, "Not found", f"No such {what}.", slug="not-found")


async def get_vendor(session: AsyncSession, vendor_id: str, *, lock: bool = False) -> RowMapping | None:
    stmt = select(vendors).where(vendors.c.id == vendor_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).mappings().first()


async def require_vendor(session: AsyncSession, vendor_id: str, *, lock: bool = False) -> RowMapping:
    row = await get_vendor(session, vendor_id, lock=lock)
    if row is None:
        raise not_found("vendor")
    return row


async def items_of(session: AsyncSession, vendor_id: str, *, include_deleted: bool = False) -> list[RowMapping]:
    stmt = select(vendor_items).where(vendor_items.c.vendor_id == vendor_id)
    if not include_deleted:
        stmt = stmt.where(vendor_items.c.deleted.is_(False))
    return list((await session.execute(stmt.order_by(vendor_items.c.kind, vendor_items.c.id))).mappings().all())


async def record(
    session: AsyncSession,
    vendor_id: str,
    now: datetime,
    actor: str | None,
    action: str,
    *,
    item_kind: str | None = None,
    item_id: str | None = None,
    before: Any = None,
    after: Any = None,
    detail: str | None = None,
) -> None:
    """Every change leaves who, when and what in the vendor's history."""
    await session.execute(
        insert(vendor_history).values(
            vendor_id=vendor_id,
            at=now,
            actor=actor,
            action=action,
            item_kind=item_kind,
            item_id=item_id,
            before=before,
            after=after,
            detail=detail,
        )
    )


async def create_vendor(
    session: AsyncSession, vendor_id: str, *, legal_name: str, npwp: str | None, user_id: str | None, now: datetime
) -> None:
    await session.execute(
        insert(vendors).values(
            id=vendor_id,
            user_id=user_id,
            legal_name=legal_name,
            npwp=npwp,
            status="registered",
            ever_verified=False,
            revision=0,
            created_at=now,
            updated_at=now,
        )
    )


async def npwp_taken(session: AsyncSession, npwp: str, vendor_id: str) -> bool:
    found = await session.scalar(select(vendors.c.id).where(vendors.c.npwp == npwp, vendors.c.id != vendor_id))
    return found is not None


async def upsert_item(
    session: AsyncSession,
    vendor_id: str,
    kind: str,
    item_id: str | None,
    data: dict[str, Any],
    *,
    actor: str | None,
    now: datetime,
) -> tuple[str, bool]:
    """Writes a new version of an item as a draft; returns its id and whether anything changed."""
    if item_id is None:
        item_id = single_item_id(vendor_id, kind) if kind in SINGLE_KINDS else new_id()
    current = (
        (await session.execute(select(vendor_items).where(vendor_items.c.id == item_id).with_for_update()))
        .mappings()
        .first()
    )
    if current is not None and (current["vendor_id"] != vendor_id or current["kind"] != kind):
        raise not_found(kind)
    attached = (current["data"] or {}).get("document_ids") if current is not None else None
    if attached and "document_ids" not in data:
        # Documents stay attached when the vendor rewrites the item's fields.
        data = {**data, "document_ids": attached}
    if current is not None and not current["deleted"] and current["data"] == data:
        return item_id, False
    if current is None:
        await session.execute(
            insert(vendor_items).values(
                id=item_id,
                vendor_id=vendor_id,
                kind=kind,
                data=data,
                verified_data=None,
                status="draft",
                deleted=False,
                updated_at=now,
                updated_by=actor,
            )
        )
    else:
        await session.execute(
            update(vendor_items)
            .where(vendor_items.c.id == item_id)
            .values(
                data=data,
                status="draft",
                deleted=False,
                rejection_reason=None,
                submitted_at=None,
                updated_at=now,
                updated_by=actor,
            )
        )
    await record(
        session,
        vendor_id,
        now,
        actor,
        "item_changed" if current is not None else "item_added",
        item_kind=kind,
        item_id=item_id,
        before=current["data"] if current is not None else None,
        after=data,
    )
    return item_id, True


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Loaded:
    """A vendor's row, its verified facts and the company data behind its public profile."""

    vendor: RowMapping
    facts: VendorFacts
    company: dict[str, Any] | None
    draft_company: dict[str, Any] | None


async def load(session: AsyncSession, vendor_id: str, *, lock: bool = False) -> Loaded:
    vendor = await require_vendor(session, vendor_id, lock=lock)
    items = await items_of(session, vendor_id)
    company = kbli = tax = draft_company = None
    licences, experience = [], []
    for item in items:
        v = item["verified_data"]
        if item["kind"] == "company":
            draft_company = item["data"]
        if v is None:
            continue
        kind = item["kind"]
        if kind == "company":
            company = v
        elif kind == "kbli":
            kbli = v
        elif kind == "tax_status":
            tax = TaxStatus(item["id"], v["compliant"], _date(v["checked_on"]), _date(v.get("valid_until")))  # type: ignore[arg-type]
        elif kind == "licence":
            licences.append(
                Licence(
                    item_id=item["id"],
                    kind=v["kind"],
                    number=v["number"],
                    issuer=v["issuer"],
                    valid_from=_date(v.get("valid_from")),
                    valid_until=_date(v.get("valid_until")),
                    kbli_codes=tuple(v.get("kbli_codes") or ()),
                    sbu_subclassification=v.get("sbu_subclassification"),
                )
            )
        elif kind == "experience":
            experience.append(Experience(item["id"], v["kbli_code"], int(v["value"]), int(v["year"])))
    # Contracts completed on this platform are proven experience without a declaration.
    done = (
        await session.execute(
            select(contract_outcomes).where(
                contract_outcomes.c.vendor_id == vendor_id,
                contract_outcomes.c.outcome == "completed",
                contract_outcomes.c.kbli_code.is_not(None),
            )
        )
    ).mappings()
    for row in done:
        experience.append(
            Experience(f"contract:{row['contract_id']}", row["kbli_code"], row["final_value"], row["outcome_on"].year)
        )
    entries = (
        await session.execute(
            select(blacklist_entries).where(
                blacklist_entries.c.vendor_id == vendor_id,
                blacklist_entries.c.status.in_([bl.CONFIRMED, bl.LIFTED]),
            )
        )
    ).mappings()
    periods = tuple(
        BlacklistPeriod(
            entry_id=e["id"],
            opd_id=e["opd_id"],
            legal_basis=e["legal_basis"] or "",
            reason=e["reason"],
            starts_on=e["starts_on"],
            ends_on=e["ends_on"],
            lifted_on=e["lifted_on"],
        )
        for e in entries
    )
    facts = VendorFacts(
        vendor_id=vendor_id,
        verified=company is not None,
        size_class=company["size_class"] if company else None,
        kbli_codes=tuple(kbli["codes"]) if kbli else (),
        licences=tuple(licences),
        tax_status=tax,
        experience=tuple(experience),
        blacklist=periods,
    )
    return Loaded(vendor=vendor, facts=facts, company=company, draft_company=draft_company)
