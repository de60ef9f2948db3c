"""The baseline of the deadline rush: a bare FastAPI endpoint that inserts the same row (a bid: ids, time,
two sealed envelopes of the same size, a receipt hash) into SQLite, nothing else. Run by deadline_rush.py
with uvicorn exactly as the launcher runs a service."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import aiosqlite
from fastapi import FastAPI
from pydantic import BaseModel

DB = os.environ.get("BARE_DB", "bare.db")


class Item(BaseModel):
    description: str
    quantity: int
    unit_price: int


class BidIn(BaseModel):
    price: int
    items: list[Item] = []
    declaration: bool


def create_app() -> FastAPI:
    state: dict[str, aiosqlite.Connection] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        conn = await aiosqlite.connect(DB)
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bids (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, package_id TEXT, "
            "vendor_id TEXT, withdrawn INTEGER, round INTEGER, received_at TEXT, technical_sealed BLOB, "
            "price_sealed BLOB, receipt_sha256 TEXT)"
        )
        await conn.commit()
        state["db"] = conn
        yield
        await conn.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/packages/{package_id}/bids", status_code=201)
    async def submit(package_id: str, bid: BidIn) -> dict[str, str]:
        body = bid.model_dump_json().encode()
        technical, price = os.urandom(len(body) + 60), os.urandom(120)  # the sizes of sealed envelopes
        receipt = hashlib.sha256(technical + price).hexdigest()
        received = datetime.now(UTC).isoformat()
        db = state["db"]
        await db.execute(
            "INSERT INTO bids (id, package_id, vendor_id, withdrawn, round, received_at, technical_sealed, "
            "price_sealed, receipt_sha256) VALUES (?, ?, ?, 0, 1, ?, ?, ?, ?)",
            (str(uuid.uuid4()), package_id, "vendor", received, technical, price, receipt),
        )
        await db.commit()
        return {"receipt_sha256": receipt, "received_at": received}

    @app.get("/count")
    async def count() -> dict[str, int]:
        async with state["db"].execute("SELECT count(*) FROM bids") as cursor:
            row = await cursor.fetchone()
        return {"bids": int(row[0]) if row else 0}

    return app
