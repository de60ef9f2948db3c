"""Keyset pagination: pages neither skip nor repeat rows while new rows arrive, and bad cursors get a 400."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert, select

from eproc_shared.db import create_engine, session_factory
from eproc_shared.pagination import PageParams, decode_cursor, encode_cursor, paginate
from eproc_shared.problems import ProblemError

metadata = MetaData()
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("name", String(20), nullable=False),
)


async def test_pages_cover_every_row_once_under_concurrent_inserts(database_url) -> None:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        # Equal timestamps in pairs: the id breaks ties, so no row falls between pages.
        for i in range(1, 26):
            await session.execute(
                insert(items).values(id=i, created_at=start + timedelta(minutes=i // 2), name=f"n{i}")
            )
    seen: list[int] = []
    params = PageParams(limit=7)
    next_id = 100
    readers = session_factory(engine, readonly=True)
    while True:  # one page per request, as an API client pages
        async with readers() as session:
            stmt = select(items.c.id, items.c.created_at, items.c.name)
            rows, cursor = await paginate(session, stmt, [items.c.created_at, items.c.id], params)
        seen.extend(row.id for row in rows)
        if cursor is None:
            break
        # A row arriving later in time while a reader pages must show up, once.
        async with sessions() as writer, writer.begin():
            await writer.execute(insert(items).values(id=next_id, created_at=start + timedelta(days=1), name="late"))
        next_id += 1
        params = PageParams(cursor=cursor, limit=7)
    await engine.dispose()
    assert seen[:25] == list(range(1, 26))
    assert seen[25:] == list(range(100, next_id))
    assert len(seen) == len(set(seen))


def test_cursor_round_trip_and_tampering() -> None:
    when = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    assert decode_cursor(encode_cursor([when, 42]), 2) == [when, 42]
    for bad in ("not-base64!!", encode_cursor([1]), "e30"):
        with pytest.raises(ProblemError) as caught:
            decode_cursor(bad, 2)
        assert caught.value.status == 400
        assert caught.value.errors
        assert caught.value.errors[0].field == "cursor"


async def test_descending_pages_run_newest_first_without_skips_or_repeats(database_url) -> None:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with session_factory(engine)() as session, session.begin():
        # Equal timestamps in pairs: the id breaks ties, descending too.
        for i in range(1, 12):
            await session.execute(
                insert(items).values(id=i, created_at=start + timedelta(minutes=i // 2), name=f"n{i}")
            )
    seen: list[int] = []
    params = PageParams(limit=4)
    while True:
        async with session_factory(engine, readonly=True)() as session:
            stmt = select(items.c.id, items.c.created_at)
            rows, cursor = await paginate(session, stmt, [items.c.created_at, items.c.id], params, descending=True)
        seen.extend(row.id for row in rows)
        if cursor is None:
            break
        params = PageParams(cursor=cursor, limit=4)
    await engine.dispose()
    assert seen == list(range(11, 0, -1))
