"""Database helpers: async engines for SQLite (WAL) and PostgreSQL, sessions, migrations at start-up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_only


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


SQLITE_BUSY_TIMEOUT_S = 30.0


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An engine tuned for the backend.

    SQLite: WAL so readers never block the writer, and ``BEGIN IMMEDIATE`` so a transaction takes the
    write lock up front rather than failing when it upgrades from read to write half way through.
    Connections are pooled (each aiosqlite connection is a thread; opening one per transaction cost
    three quarters of a write's time), and write transactions of this process queue on one
    :class:`SqliteWriteGate` instead of polling in SQLite's busy handler, which sleeps up to 100 ms a
    try and lets late writers overtake early ones. Other processes on the same file still meet the
    busy timeout.
    """
    if is_sqlite(url):
        database = make_url(url).database
        if not database or database == ":memory:":
            engine = create_async_engine(url, echo=echo, poolclass=NullPool)
            _configure_sqlite(engine, None)
            return engine
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            echo=echo,
            pool_size=min(pool_size, 5),
            max_overflow=pool_size,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S},
        )
        _configure_sqlite(engine, SqliteWriteGate(SQLITE_BUSY_TIMEOUT_S))
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800
    )


class SqliteWriteGate:
    """One write transaction at a time per engine, queued first come first served in asyncio.

    Taken before ``BEGIN IMMEDIATE`` and given back after the driver's commit or rollback, so the
    next writer's BEGIN never meets a lock this process still holds.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._holder: int | None = None

    def enter(self, dbapi_connection: Any) -> None:
        """Called inside SQLAlchemy's greenlet, where awaiting is allowed through ``await_only``.

        Connections may come as the pool's proxy or as the driver's own object: both count as one.
        """
        try:
            await_only(asyncio.wait_for(self._lock.acquire(), self.timeout_s))
        except TimeoutError as exc:
            raise OperationalError(
                "BEGIN IMMEDIATE", None, TimeoutError(f"no write slot within {self.timeout_s:.0f} s")
            ) from exc
        self._holder = id(_driver_level(dbapi_connection))

    def leave(self, dbapi_connection: Any) -> None:
        if self._holder is not None and self._holder == id(_driver_level(dbapi_connection)):
            self._holder = None
            self._lock.release()


def _driver_level(connection: Any) -> Any:
    return getattr(connection, "dbapi_connection", connection)


def _configure_sqlite(engine: AsyncEngine, gate: SqliteWriteGate | None) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Read-only work takes a plain (deferred) snapshot so it never holds the write lock.
        if connection.get_execution_options().get(READONLY_OPTION, False):
            connection.exec_driver_sql("BEGIN")
            return
        dbapi_connection = connection.connection
        if gate is not None:
            gate.enter(dbapi_connection)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if gate is not None:
                gate.leave(dbapi_connection)
            raise

    if gate is None:
        return
    dialect = engine.sync_engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    # The engine's "commit" event fires before the driver commits; releasing there would let the next
    # writer's BEGIN IMMEDIATE run into our still-held lock. So the gate wraps the dialect's own calls,
    # which the pool's reset-on-return also goes through.
    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            gate.leave(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            gate.leave(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    @event.listens_for(engine.sync_engine, "close")
    def _on_close(dbapi_connection: Any, _record: Any) -> None:
        gate.leave(dbapi_connection)

    @event.listens_for(engine.sync_engine, "invalidate")
    def _on_invalidate(dbapi_connection: Any, _record: Any, _exc: Any) -> None:
        gate.leave(dbapi_connection)


READONLY_OPTION = "eproc_readonly"


def session_factory(engine: AsyncEngine, *, readonly: bool = False) -> async_sessionmaker[AsyncSession]:
    """Sessions for units of work; ``readonly=True`` for queries that must not block writers on SQLite."""
    bind = engine.execution_options(**{READONLY_OPTION: True}) if readonly else engine
    return async_sessionmaker(bind, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any error."""
    async with sessions() as session, session.begin():
        yield session


async def ping(engine: AsyncEngine) -> None:
    async with engine.execution_options(**{READONLY_OPTION: True}).connect() as conn:
        await conn.execute(text("SELECT 1"))


async def upgrade(engine: AsyncEngine, script_location: str | Path, revision: str = "head") -> None:
    """Apply Alembic migrations on this engine's database (used at start-up and by tests)."""

    def _run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(script_location))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out on every backend; SQLite would otherwise hand back naive datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
