"""Appends events to the hash chain: one entry per event, in one transaction with the consumer's inbox row.

The head row is locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite transactions here
take the write lock at ``BEGIN``), so concurrent appenders, even in several replicas, number the
entries one after another and each links to the hash before it.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eproc_audit.canonical import canonical_bytes, entry_document, entry_hash
from eproc_audit.models import contract_packages, log_entries, log_head, package_facts
from eproc_audit.refs import EntryIndex, derive
from eproc_shared.consumer import RawEvent


async def append(session: AsyncSession, event: RawEvent, received_at: datetime) -> int | None:
    """Append ``event``; returns its sequence number, or ``None`` if this event is already logged."""
    head = (await session.execute(select(log_head).where(log_head.c.id == 1).with_for_update())).one()
    already = await session.scalar(
        select(log_entries.c.seq).where(log_entries.c.source == event.source, log_entries.c.event_id == event.id)
    )
    if already is not None:
        return None
    document = entry_document(
        attributes=event.attributes,
        data=event.data,
        value=event.value,
        key=event.key,
        topic=event.topic,
        partition=event.partition,
        offset=event.offset,
        received_at=received_at,
    )
    canonical = canonical_bytes(document)
    seq = head.seq + 1
    digest = entry_hash(bytes.fromhex(head.hash), seq, canonical).hex()
    index = derive(json.loads(canonical))
    await session.execute(insert(log_entries).values(seq=seq, hash=digest, canonical=canonical, **index.columns()))
    await session.execute(update(log_head).where(log_head.c.id == 1).values(seq=seq, hash=digest))
    await _learn(session, index)
    return seq


async def _learn(session: AsyncSession, index: EntryIndex) -> None:
    """Remember a package's OPD and fiscal year, and a contract's package, for assignment scopes."""
    if index.package_id and (index.opd_id or index.fiscal_year is not None):
        known = (
            await session.execute(select(package_facts).where(package_facts.c.package_id == index.package_id))
        ).first()
        if known is None:
            await session.execute(
                insert(package_facts).values(
                    package_id=index.package_id, opd_id=index.opd_id, fiscal_year=index.fiscal_year
                )
            )
        else:
            changes = {}
            if index.opd_id and known.opd_id != index.opd_id:
                changes["opd_id"] = index.opd_id
            if index.fiscal_year is not None and known.fiscal_year != index.fiscal_year:
                changes["fiscal_year"] = index.fiscal_year
            if changes:
                await session.execute(
                    update(package_facts).where(package_facts.c.package_id == index.package_id).values(**changes)
                )
    if index.contract_id and index.package_id:
        known_pkg = await session.scalar(
            select(contract_packages.c.package_id).where(contract_packages.c.contract_id == index.contract_id)
        )
        if known_pkg is None:
            await session.execute(
                insert(contract_packages).values(contract_id=index.contract_id, package_id=index.package_id)
            )
