"""tender.bid_submitted.v2 tells the audit service where a bid came from and a keyed digest of each document,
so identical files from different vendors of a package show without anything being opened, while nobody
reading the database or the internal topic can test a guessed file against a bare SHA-256."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import ValidationError
from sqlalchemy import inspect
from tender_test_support import Tender, announced_package, at, bid, ok, register


def keyed_digest(t: Tender, package_id: str, content: bytes) -> str:
    """What the event's description promises, computed here from the documented construction."""
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"eproc-tender-document-digest-v1|" + package_id.encode()
    ).derive(t.settings.kek_bytes())
    return hmac.new(key, hashlib.sha256(content).digest(), hashlib.sha256).hexdigest()


async def every_stored_value(t: Tender) -> list[bytes]:
    """Every value of every row of every table of the service's database, as raw bytes."""
    async with t.runtime.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    values = []
    for table in tables:
        for row in await t.sql(f'SELECT * FROM "{table}"'):
            values += [v if isinstance(v, bytes) else json.dumps(v, default=str).encode() for v in row]
    return values


async def test_the_event_carries_the_client_address_and_a_keyed_digest_of_each_document(tender: Tender) -> None:
    t = tender
    package_id = await announced_package(t)
    other_package = await announced_package(t, name="Pembangunan Puskesmas Karawaci")
    await register(t, package_id, "v1", "v2")
    await register(t, other_package, "v3")
    t.at(at(2, 10))
    shared_file = b"%PDF metode pelaksanaan yang sama persis " * 3000
    own_file = b"%PDF daftar harga v1 " * 100

    async def upload(vendor_id: str, content: bytes, package: str = package_id) -> dict[str, str]:
        client = t.vendor(vendor_id)
        url = f"/packages/{package}/bid-documents"
        return ok(await client.post(url, params={"name": "dok.pdf"}, content=content), 201)  # type: ignore[no-any-return]

    v1_same, v1_price = await upload("v1", shared_file), await upload("v1", own_file)
    v2_same = await upload("v2", shared_file)
    v3_same = await upload("v3", shared_file, other_package)
    # The uploader's own receipt names its file's SHA-256; the ciphertexts differ (a fresh data key each).
    assert v1_same["plain_sha256"] == v2_same["plain_sha256"] == hashlib.sha256(shared_file).hexdigest()
    assert len({v1_same["cipher_sha256"], v2_same["cipher_sha256"], v3_same["cipher_sha256"]}) == 3

    # Through the gateway: it appended the address it saw (its peer) after what a client claimed.
    via_gateway = {"x-forwarded-for": "203.0.113.7, 198.51.100.20"}
    body = bid(900_000_000, technical_document_ids=[v1_same["document_id"]])
    first = ok(
        await t.vendor("v1").post(
            f"/packages/{package_id}/bids",
            json={**body, "price_document_ids": [v1_price["document_id"]]},
            headers=via_gateway,
        ),
        201,
    )
    ok(
        await t.vendor("v2").post(
            f"/packages/{package_id}/bids", json=bid(910_000_000, technical_document_ids=[v2_same["document_id"]])
        ),
        201,
    )
    ok(
        await t.vendor("v3").post(
            f"/packages/{other_package}/bids", json=bid(905_000_000, technical_document_ids=[v3_same["document_id"]])
        ),
        201,
    )
    # Behind a trusted load balancer the hop it appended is skipped: the caller is the one before it.
    t.settings.trusted_proxies = ["198.51.100.0/24"]
    second = ok(
        await t.vendor("v1").post(f"/packages/{package_id}/bids", json=bid(890_000_000), headers=via_gateway), 201
    )

    events = await t.events("tender.bid_submitted.v2")
    assert not await t.events("tender.bid_submitted.v1")
    by_bid = {e["bid_id"]: e for e in events}
    v1_event = by_bid[first["bid_id"]]
    v2_event, v3_event = (next(e for e in events if e["vendor_id"] == v) for v in ("v2", "v3"))
    assert v1_event["submitter_address"] == "198.51.100.20"
    assert v1_event["round"] == 1
    assert v1_event["receipt_sha256"] == first["receipt_sha256"]
    assert v2_event["submitter_address"] == "127.0.0.1"  # called directly: the socket peer
    # Technical then price documents, each as HMAC-SHA256 of its plaintext SHA-256 under the package's key.
    shared_digest = keyed_digest(t, package_id, shared_file)
    assert v1_event["document_digests"] == [shared_digest, keyed_digest(t, package_id, own_file)]
    # Identical bytes within the package: identical digests, so the audit service sees the shared file.
    assert v2_event["document_digests"] == [shared_digest]
    # The same bytes in another package: another key, another digest; nothing to compare across packages.
    assert v3_event["document_digests"] == [keyed_digest(t, other_package, shared_file)]
    assert v3_event["document_digests"] != [shared_digest]
    replaced = by_bid[second["bid_id"]]
    assert replaced["submitter_address"] == "203.0.113.7"
    assert (replaced["document_digests"], replaced["replaces_bid_id"]) == ([], first["bid_id"])

    # Only the keyed digest rests beside the sealed document, computed while it was sealed.
    stored = await t.sql("SELECT plain_digest FROM bid_documents WHERE id = :d", d=v2_same["document_id"])
    assert stored[0][0] == shared_digest
    # No row of any table (events in the outbox included) holds a document's bare SHA-256, in any spelling.
    bare = [hashlib.sha256(content).digest() for content in (shared_file, own_file)]
    spellings = [s for d in bare for s in (d.hex().encode(), d.hex().upper().encode(), base64.b64encode(d), d)]
    values = await every_stored_value(t)
    assert any(shared_digest.encode() in v for v in values)  # the search does see what is stored
    leaks = [s for s in spellings for v in values if s in v]
    assert not leaks


def test_a_trusted_proxy_that_is_not_an_address_or_network_is_refused_at_start_up() -> None:
    from eproc_tender.settings import TenderSettings

    networks = ["10.0.0.0/8", "2001:db8::1"]
    assert TenderSettings(trusted_proxies=networks).trusted_proxies == networks
    with pytest.raises(ValidationError, match="trusted_proxies"):
        TenderSettings(trusted_proxies=["load-balancer"])
