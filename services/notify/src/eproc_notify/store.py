"""Database helpers of the notify service: idempotent inserts and upserts on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _insert(session: AsyncSession, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def insert_once(session: AsyncSession, table: Table, values: dict[str, Any], unique: Sequence[str]) -> bool:
    """Insert unless a row with the same ``unique`` columns exists; answers whether it inserted."""
    stmt = _insert(session, table).values(**values).on_conflict_do_nothing(index_elements=list(unique))
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def upsert(session: AsyncSession, table: Table, values: dict[str, Any], key: Sequence[str]) -> None:
    """Insert, or update the non-key columns given when a row with this key exists."""
    stmt = _insert(session, table).values(**values)
    changes = {name: stmt.excluded[name] for name in values if name not in key}
    if changes:
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=changes)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    await session.execute(stmt)
