"""Sealed bids through the real stack: before opening, no role (nor anonymous, nor the other bidder) reading
any route of any service, no event on any topic, no log line of any process and no database row of any
service reveals a bid's price, its item descriptions or its documents' names and content. After the
deadline the opening shows them, which proves the searches below would have found them."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
import tomllib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from eproc_shared.auth import Role

TOPICS = Path(__file__).resolve().parents[1] / "shared/src/eproc_shared/topics.toml"


def _secrets(price: int, tag: str) -> list[bytes]:
    grouped = f"{price:,}"
    return [
        str(price).encode(),
        grouped.encode(),  # 761,234,567
        grouped.replace(",", ".").encode(),  # 761.234.567 as shown in Indonesia
        f"Beton-rahasia-{tag}".encode(),  # an item description
        f"penawaran-{tag}.pdf".encode(),  # a document's name
        f"ISI-DOKUMEN-RAHASIA-{tag}".encode(),  # a document's content
    ]


def _get(client: httpx.Client, path: str, headers: dict[str, str]) -> bytes:
    with client.stream("GET", path, headers=headers, timeout=15) as answer:
        if answer.headers.get("content-type", "").startswith("text/event-stream"):
            return b""
        return answer.read()


def _database_leaks(db: Path, secrets: list[bytes]) -> list[str]:
    found = []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    raw = value if isinstance(value, bytes) else str(value).encode()
                    found += [f"{db.name}:{table}: {s.decode()}" for s in secrets if s in raw]
    return found


@pytest.mark.slow
def test_before_opening_nothing_reveals_a_sealed_bid(stack: Any) -> None:
    client = stack.client
    tag = uuid.uuid4().hex[:8]
    prices = [761_234_567, 752_345_679]
    bidders = stack.eligible_vendors(3, prefix="seal")  # two bid, the third only watches
    deadline = datetime.now(UTC) + timedelta(seconds=15)
    package_id = stack.announced_package(deadline)
    secrets: list[bytes] = []
    for vendor, price in zip(bidders, prices, strict=False):
        stack.join(package_id, vendor["headers"])
        content = f"%PDF-1.7 ISI-DOKUMEN-RAHASIA-{tag} harga {price}".encode()
        upload = client.post(
            f"/api/tender/packages/{package_id}/bid-documents",
            params={"name": f"penawaran-{tag}.pdf"},
            content=content,
            headers={**vendor["headers"], "Content-Type": "application/pdf"},
        )
        assert upload.status_code == 201, upload.text
        bid = client.post(
            f"/api/tender/packages/{package_id}/bids",
            headers=vendor["headers"],
            json={
                "price": price,
                "items": [{"description": f"Beton-rahasia-{tag}", "quantity": 1, "unit_price": price}],
                "declaration": True,
                "price_document_ids": [upload.json()["document_id"]],
            },
        )
        assert bid.status_code in (200, 201), bid.text
        secrets += _secrets(price, tag)
        # The plaintext's hash would let anyone holding it test guesses of a templated price sheet.
        secrets.append(hashlib.sha256(content).hexdigest().encode())
    stack.join(package_id, bidders[2]["headers"])

    # Every GET route of every service, as every role, anonymous, each bidder and the watching vendor.
    document = client.get("/openapi.json").json()
    ids = {"package": package_id, "vendor": bidders[1]["vendor_id"], "kind": "package", "ident": package_id}
    reads = [
        re.sub(r"\{([^}]+)\}", lambda m: next((v for k, v in ids.items() if k in m.group(1)), package_id), path)
        for path, item in document["paths"].items()
        if path.startswith("/api/") and "get" in item
    ]
    callers = {"anonymous": {}} | {role.value: stack.as_role(role.value) for role in Role}
    callers |= {f"bidder{i}": v["headers"] for i, v in enumerate(bidders)}
    leaks: list[str] = []
    for who, headers in callers.items():
        for path in reads:
            body = _get(client, path, headers)
            leaks += [f"{who} GET {path}: {s.decode()}" for s in secrets if s in body]
    assert not leaks, "\n".join(leaks)
    # The officials see that two vendors bid, and nothing more.
    seen = client.get(f"/api/tender/packages/{package_id}", headers=stack.as_role("pokja")).json()
    assert seen.get("opened_prices") in (None, [])

    # Every topic of the platform and every DLQ, headers and values.
    topics = list(tomllib.loads(TOPICS.read_text())["topics"])
    topics += [f"{group}.dlq" for group in ("tender", "vendor", "contract", "audit-log", "notify")]
    for topic in topics:
        for record in stack.read_topic(topic):
            raw = (record.value or b"") + b"".join(v for _, v in record.headers)
            leaks += [f"topic {topic}: {s.decode()}" for s in secrets if s in raw]
    # Every log line of every process, and every row of every service's database (files on disk too).
    logs = "".join(stack.output).encode()
    leaks += [f"log: {s.decode()}" for s in secrets if s in logs]
    for db in sorted(stack.var.glob("*.db")):
        leaks += _database_leaks(db, secrets)
    for path in stack.var.rglob("*"):
        if path.is_file() and path.suffix not in (".db", ".db-wal", ".db-shm") and path.stat().st_size < 10**7:
            raw = path.read_bytes()
            leaks += [f"file {path.name}: {s.decode()}" for s in secrets if s in raw]
    assert not leaks, "\n".join(leaks)

    # After the deadline the Pokja opens the bids: the prices were there all along, sealed.
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 0.5)
    pokja = stack.as_role("pokja")
    opened = client.post(f"/api/tender/packages/{package_id}/opening", headers=pokja)
    for _ in range(50):
        if opened.status_code == 200:
            break
        time.sleep(0.2)
        opened = client.post(f"/api/tender/packages/{package_id}/opening", headers=pokja)
    assert opened.status_code == 200, opened.text
    assert sorted(p["price"] for p in opened.json()["opened_prices"]) == sorted(prices)
