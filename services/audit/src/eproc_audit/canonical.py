"""The canonical form of a log entry and the chain hash.

An entry's *document* is a JSON object built from the record as it arrived (see
:func:`entry_document`). Its canonical bytes are the RFC 8785 JSON Canonicalization Scheme
(JCS) serialisation of that object, UTF-8: keys sorted by UTF-16 code units, no insignificant
whitespace, ECMAScript number formatting, minimal string escaping. These bytes are stored
verbatim in the ``canonical`` column, so the chain is checked over exactly the bytes that were
hashed and nothing is re-serialised at verification time.

The hash of entry ``seq`` is::

    SHA-256( prev_hash (32 raw bytes) || seq (8 bytes, unsigned big-endian) || canonical )

with ``prev_hash`` = 32 zero bytes for entry 1. Binding ``seq`` means that renumbering rows breaks
the chain even where the contents are intact.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import rfc8785

GENESIS = bytes(32)
GENESIS_HEX = GENESIS.hex()


def canonical_bytes(document: Any) -> bytes:
    """RFC 8785 bytes; raises ValueError for values JCS cannot represent (NaN, integers beyond 2^53...)."""
    try:
        return rfc8785.dumps(document)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise ValueError(f"not canonicalisable as RFC 8785 JSON: {exc}") from exc


def entry_hash(prev: bytes, seq: int, canonical: bytes) -> bytes:
    return hashlib.sha256(prev + seq.to_bytes(8, "big") + canonical).digest()


def format_time(when: datetime) -> str:
    """RFC 3339 UTC with microseconds, as written into documents (one spelling, so one hash)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_document(
    *,
    attributes: dict[str, str],
    data: Any,
    value: bytes | None,
    key: str | None,
    topic: str,
    partition: int,
    offset: int,
    received_at: datetime,
) -> dict[str, Any]:
    """What is hashed: the CloudEvent in structured form (attributes exactly as received, the JSON
    payload as ``data``), the record key, where it was read from and when it arrived.

    A payload JCS cannot represent (an integer beyond 2^53, NaN) is kept as ``data_base64`` of the
    record's bytes instead, as CloudEvents' structured mode does for binary data: every event is
    logged, none is refused for its numbers.
    """
    event: dict[str, Any] = {**attributes, "data": data}
    try:
        canonical_bytes(data)
    except ValueError:
        event = {**attributes, "data_base64": base64.b64encode(value or b"").decode()}
    return {
        "event": event,
        "key": key,
        "kafka": {"topic": topic, "partition": partition, "offset": offset},
        "received_at": format_time(received_at),
    }
