"""The public event feed paged through the gateway while events keep arriving: a reader that follows
`next_cursor` sees every public event once, in log order, and nothing later turns up behind its cursor.

The writer records purchases (pencatatan) as the dev PPK through the gateway: each is one
`tender.purchase_recorded.v1` on the public topic `eproc.tender.public`, keyed by the record id, so the
events spread over every partition and reach the audit log interleaved.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx

from eproc_shared.topics import load_topics

RunningStack = Any  # tests/conftest.py
FEED = "/api/audit/public/events"
PAGE = 7  # small pages: many cursor hand-overs while the log grows
WRITERS = 3
AT_LEAST = 45  # events the writers cause in all...
OVERLAP = 10  # ...and they go on until the reader has already paged through this many of them
AT_MOST = 150
DEADLINE_S = 35.0
PROOF = {"name": "kuitansi.pdf", "sha256": hashlib.sha256(b"kuitansi").hexdigest()}


def record_body(opd_id: str, serial: int) -> dict[str, Any]:
    year = datetime.now(UTC).year
    return {
        "kind": "non_tender",
        "method": "pengadaan_langsung",
        "package_name": f"Pengadaan ATK Sekretariat nomor {serial}",
        "opd_id": opd_id,
        "fiscal_year": year,
        "procurement_type": "barang",
        "kbli_codes": ["47611"],
        "pagu": 60_000_000,
        "realised_value": 57_500_000 + serial,
        "vendor_name": "CV Sumber Makmur",
        "start_date": f"{year}-01-05",
        "end_date": f"{year}-01-20",
        "proofs": [PROOF],
    }


def page(client: httpx.Client, cursor: str | None) -> dict[str, Any]:
    answer = client.get(FEED, params={"limit": PAGE, **({"cursor": cursor} if cursor else {})})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["next_cursor"], "the feed always hands back a cursor"
    return body


def is_record(event: dict[str, Any], record_ids: set[str]) -> bool:
    return event["type"] == "tender.purchase_recorded.v1" and event["data"]["record_id"] in record_ids


def read_to_end(client: httpx.Client, cursor: str | None) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    while True:
        body = page(client, cursor)
        items += body["items"]
        cursor = body["next_cursor"]
        if not body["items"]:
            return items, cursor


def test_a_reader_paging_while_events_arrive_sees_each_once_in_log_order(stack: RunningStack) -> None:
    started = time.monotonic()
    reader = httpx.Client(base_url=stack.base_url, timeout=30)  # anonymous: the feed is public
    ppk = stack.as_role("ppk")
    opd_id = stack.accounts["ppk"]["opd_id"]
    # Warm-up: one record all the way to the feed, so that the writers below race a running pipeline
    # (relay, broker, the audit log's consumer group), not its start.
    first = stack.client.post("/api/tender/recordings", json=record_body(opd_id, -1), headers=ppk)
    assert first.status_code == 201, first.text
    start: str | None = None
    while True:
        items, start = read_to_end(reader, start)
        if any(is_record(e, {first.json()["id"]}) for e in items):
            break
        assert time.monotonic() - started < 15, "the first record never reached the public feed"
        time.sleep(0.05)
    written: list[str] = []
    mine_seen = 0
    lock = threading.Lock()
    serials = itertools.count()

    def write() -> int:
        count = 0
        with httpx.Client(base_url=stack.base_url, timeout=30) as client:
            while True:
                with lock:
                    if len(written) >= AT_MOST or (len(written) >= AT_LEAST and mine_seen >= OVERLAP):
                        return count
                    serial = next(serials)
                answer = client.post("/api/tender/recordings", json=record_body(opd_id, serial), headers=ppk)
                assert answer.status_code == 201, answer.text
                with lock:
                    written.append(answer.json()["id"])
                count += 1

    seen: list[dict[str, Any]] = []
    cursor = start
    seen_while_writing = 0
    with ThreadPoolExecutor(WRITERS) as pool:
        writers = [pool.submit(write) for _ in range(WRITERS)]
        while True:
            assert time.monotonic() - started < DEADLINE_S, (
                f"feed not drained: {len(written)} written, {mine_seen} of them read"
            )
            body = page(reader, cursor)
            cursor = body["next_cursor"]
            seen += body["items"]
            with lock:
                ids = set(written)
                mine_seen = sum(1 for e in seen if is_record(e, ids))
                writing = not all(w.done() for w in writers)
            if writing:
                seen_while_writing = mine_seen
            elif mine_seen >= len(ids) and not body["items"]:
                break  # the writers stopped and the feed has given everything they caused
            if not body["items"]:
                time.sleep(0.05)  # at the head of the log: the next events are still on their way
        assert sum(w.result() for w in writers) == len(written)

    # The reader really paged while the log was growing.
    assert seen_while_writing >= OVERLAP
    # Log order, no repeats: sequence numbers strictly increase from page to page.
    seqs = [e["seq"] for e in seen]
    assert all(a < b for a, b in itertools.pairwise(seqs)), seqs
    assert len({(e["source"], e["id"]) for e in seen}) == len(seen)
    # Every event the writers caused, exactly once.
    mine = Counter(e["data"]["record_id"] for e in seen if e["type"] == "tender.purchase_recorded.v1")
    assert {record_id: mine[record_id] for record_id in written} == dict.fromkeys(written, 1)
    assert set(mine) == set(written)
    public = {name for name, spec in load_topics().items() if spec.visibility == "public"}
    assert {e["topic"] for e in seen} <= public
    # No gap: reading the same stretch again now, in one go, finds exactly what the live reader found,
    # so no entry committed later behind the reader's cursor.
    again, _ = read_to_end(reader, start)
    assert [(e["seq"], e["hash"]) for e in again[: len(seen)]] == [(e["seq"], e["hash"]) for e in seen]
    assert not [e for e in again[len(seen) :] if is_record(e, set(written))]
    reader.close()
    assert time.monotonic() - started < 40
