"""The outbox and inbox tables that every service keeps in its own database.

Defined once here; a service adds them to its metadata with :func:`messaging_tables` and its
first migration creates them with :func:`create_messaging_tables`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Connection

# BIGINT autoincrement on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "eproc_outbox",
        metadata,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("type", String(200), nullable=False),
        Column("headers", JSON, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Index("ix_eproc_outbox_unsent", "sent_at", "id"),
    )
    inbox = Table(
        "eproc_inbox",
        metadata,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("consumer", String(200), nullable=False),
        Column("source", String(500), nullable=False),
        Column("event_id", String(200), nullable=False),
        Column("type", String(200), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("status", String(20), nullable=False),  # handled | dead_lettered
        Column("processed_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("consumer", "source", "event_id", name="uq_eproc_inbox_event"),
    )
    return MessagingTables(outbox=outbox, inbox=inbox)


def create_messaging_tables(connection: Connection) -> None:
    """Create both tables (first migration of a service)."""
    metadata = MetaData()
    tables = messaging_tables(metadata)
    metadata.create_all(connection, tables=[tables.outbox, tables.inbox])


def drop_messaging_tables(connection: Connection) -> None:
    metadata = MetaData()
    tables = messaging_tables(metadata)
    metadata.drop_all(connection, tables=[tables.outbox, tables.inbox])
