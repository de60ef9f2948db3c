"""SQLite write transactions of one process queue in asyncio, and a failed one never keeps the queue."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from eproc_shared.db import create_engine, session_factory


@pytest.fixture
async def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE counter (n INTEGER PRIMARY KEY)"))
    yield engine
    await engine.dispose()


async def test_concurrent_read_then_write_transactions_never_collide(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)

    async def next_number() -> None:
        async with sessions() as session, session.begin():
            top = await session.scalar(text("SELECT coalesce(max(n), 0) FROM counter"))
            await asyncio.sleep(0)  # give every other writer the chance to interleave
            await session.execute(text("INSERT INTO counter (n) VALUES (:n)"), {"n": top + 1})

    await asyncio.gather(*(next_number() for _ in range(64)))
    async with sessions() as session:
        numbers = (await session.scalars(text("SELECT n FROM counter ORDER BY n"))).all()
    assert numbers == list(range(1, 65))


async def test_failed_and_abandoned_transactions_give_the_write_slot_back(engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(text("INSERT INTO counter (n) VALUES (1)"))
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO counter (n) VALUES (1)"))
    # A session closed without commit or rollback: the pool's reset must hand the slot back.
    session = sessions()
    await session.execute(text("INSERT INTO counter (n) VALUES (2)"))
    await session.close()
    async with asyncio.timeout(5):
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO counter (n) VALUES (3)"))
    async with sessions() as session:
        assert (await session.scalars(text("SELECT n FROM counter ORDER BY n"))).all() == [1, 3]


async def test_readers_do_not_wait_for_an_open_write_transaction(engine) -> None:  # type: ignore[no-untyped-def]
    writer, reader = session_factory(engine), session_factory(engine, readonly=True)
    async with writer() as session, session.begin():
        await session.execute(text("INSERT INTO counter (n) VALUES (7)"))
        async with asyncio.timeout(2), reader() as other:
            # The reader sees the last committed state, not the open transaction, and does not block.
            assert await other.scalar(text("SELECT count(*) FROM counter")) == 0
    async with reader() as other:
        assert await other.scalar(text("SELECT count(*) FROM counter")) == 1
