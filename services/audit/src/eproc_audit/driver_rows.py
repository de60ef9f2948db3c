"""Rows of a Core statement as plain tuples straight from the database driver, for the verifier's hot loop.

Verifying the chain costs one SHA-256 of about 800 bytes per entry; building SQLAlchemy ``Row``
objects and running result processors costs about as much again. The statement is still built with
Core and compiled for the connection's dialect; only the fetch skips the result layer: aiosqlite's
cursor hands back tuples, asyncpg's ``fetch`` hands back Records (built in C, unpacked like tuples),
both after one round trip per statement. Any other driver, or a statement whose parameters would
need a bind processor, goes through SQLAlchemy's result as usual.

Use it only for columns that need no result conversion either: integers, text and binary come back
from both drivers as ``int``, ``str`` and ``bytes``; dates and JSON would not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection

_PLAIN = (int, str, bytes)


async def fetch_rows(conn: AsyncConnection, stmt: Select[Any]) -> Sequence[Sequence[Any]]:
    """Every row of ``stmt`` (so keep it bounded, e.g. by a key range), each a plain sequence of values."""
    compiled = stmt.compile(dialect=conn.dialect)
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    driver = conn.dialect.driver
    if driver in ("aiosqlite", "asyncpg") and all(isinstance(p, _PLAIN) for p in params):
        raw = (await conn.get_raw_connection()).driver_connection
        if driver == "aiosqlite":
            cursor = await raw.execute(compiled.string, params)
            try:
                return await cursor.fetchall()  # type: ignore[no-any-return]
            finally:
                await cursor.close()
        return await raw.fetch(compiled.string, *params)  # type: ignore[no-any-return]
    return (await conn.execute(stmt)).all()
