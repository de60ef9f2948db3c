"""Signed checkpoints of the log head: kept in the database, published on ``eproc.audit.public``."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eproc_audit.canonical import format_time
from eproc_audit.clock import Clock
from eproc_audit.models import checkpoints, log_head, signing_keys
from eproc_audit.signing import SigningKey
from eproc_shared.events.types.audit import AuditCheckpointSigned
from eproc_shared.outbox import Outbox

log = logging.getLogger(__name__)

AGGREGATE = "audit-log"


async def register_key(session: AsyncSession, key: SigningKey, now: datetime) -> None:
    """Keep every public key ever used, so old checkpoints stay checkable after a key change."""
    known = await session.scalar(select(signing_keys.c.key_id).where(signing_keys.c.key_id == key.key_id))
    if known is None:
        await session.execute(insert(signing_keys).values(key_id=key.key_id, public_jwk=key.jwk, first_used_at=now))


async def sign_checkpoint(
    session: AsyncSession, key: SigningKey, outbox: Outbox, now: datetime
) -> dict[str, Any] | None:
    """Sign the current head unless it is empty or already signed; returns the checkpoint."""
    head = (await session.execute(select(log_head.c.seq, log_head.c.hash).where(log_head.c.id == 1))).one()
    last = await session.scalar(select(func.max(checkpoints.c.seq)))
    if head.seq == 0 or (last is not None and last >= head.seq):
        return None
    signed_at = format_time(now)
    signature = key.sign_checkpoint(seq=head.seq, head_hash=head.hash, signed_at=signed_at)
    row = {"seq": head.seq, "head_hash": head.hash, "signed_at": signed_at, "key_id": key.key_id}
    await session.execute(insert(checkpoints).values(**row, signature=signature))
    event = AuditCheckpointSigned(**row, signature=signature)
    await outbox.add(session, event, key=AGGREGATE, subject=f"{AGGREGATE}/{head.seq}")
    return event.model_dump()


async def run_checkpoints(
    sessions: async_sessionmaker[AsyncSession], key: SigningKey, outbox: Outbox, clock: Clock, interval_s: float
) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            async with sessions() as session, session.begin():
                made = await sign_checkpoint(session, key, outbox, clock())
            if made:
                log.info("signed audit checkpoint at entry %s", made["seq"])
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not sign an audit checkpoint; retrying next interval")
