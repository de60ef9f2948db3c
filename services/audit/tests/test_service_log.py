"""The running service: events of any type arrive over the real broker into the chain, replays change
nothing, checkpoints are signed, published and checkable with the public key, verification answers over
HTTP, and access follows real tokens."""

from __future__ import annotations

import asyncio
import json
import uuid

from aiokafka import AIOKafkaConsumer
from audit_test_support import Service
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text

from eproc_audit.signing import b64url_decode
from eproc_shared.db import create_engine
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types.identity import UserCreated
from eproc_shared.testing import eventually


async def test_every_internal_event_is_logged_once_and_the_log_verifies(service: Service) -> None:
    run = uuid.uuid4().hex[:6]
    known = Envelope.new(
        UserCreated(user_id=f"u-{run}", roles=["auditor"], created_by="admin-1", username="secret.name"),
        source="/eproc/gateway",
        key=f"u-{run}",
    )
    await service.producer.send_and_wait(
        "eproc.identity.internal", value=known.value(), key=known.key.encode(), headers=known.headers()
    )
    future = await service.send(
        "eproc.vendor.internal", "vendor.something_new.v4", {"x": [1, 2.5, "é"], "by": None}, key=f"V-{run}"
    )
    bid = await service.send(
        "eproc.tender.internal",
        "tender.bid_submitted.v1",
        {"package_id": f"P-{run}", "opd_id": "dinkes", "vendor_id": f"V-{run}", "submitted_by": "vendor-user"},
        key=f"P-{run}",
    )
    await service.send(  # the same event again: a producer retry
        "eproc.tender.internal", "tender.bid_submitted.v1", {"package_id": f"P-{run}"}, key=f"P-{run}", event_id=bid
    )
    announced = await service.send(
        "eproc.tender.public", "tender.announced.v1", {"package_id": f"P-{run}"}, key=f"P-{run}"
    )

    ids = (known.id, future, bid, announced)
    logged = await eventually(lambda: _all_logged(service, ids))
    by_id = {e["event_id"]: e for e in logged}
    assert by_id[known.id]["type"] == "identity.user_created.v1"
    assert by_id[known.id]["actor"] == "admin-1"
    assert by_id[known.id]["data"]["username"] == "secret.name"  # internal data is kept as it came
    assert by_id[future]["data"] == {"x": [1, 2.5, "é"], "by": None}
    assert by_id[future]["vendor_id"] == f"V-{run}"
    assert (by_id[bid]["package_id"], by_id[bid]["actor"]) == (f"P-{run}", "vendor-user")
    assert by_id[bid]["data"]["vendor_id"] == f"V-{run}"  # the first delivery, not the replay's payload
    everything = await service.entries()
    assert [e["seq"] for e in everything] == list(range(1, len(everything) + 1))
    assert sum(1 for e in everything if e["event_id"] == bid) == 1
    assert by_id[announced]["type"] == "tender.announced.v1", "public announcements are part of the record"
    assert not [e for e in everything if e["type"] == "audit.checkpoint_signed.v1"], "the log skips its own checkpoints"

    # The log also reads what other tests left on the shared broker's topics: let it settle first.
    everything = await _settled(service)
    report = (await service.client.get("/verify", headers=service.auditor())).json()
    assert report["ok"] is True, report
    assert report["entries_checked"] == len(everything)

    # Signing a checkpoint, once per head.
    signed = await service.client.post("/checkpoints", headers=service.admin)
    assert signed.status_code == 201, signed.text
    checkpoint = signed.json()
    again = await service.client.post("/checkpoints", headers=service.admin)
    assert (again.status_code, again.json()["seq"]) == (200, checkpoint["seq"])
    keys = (await service.client.get("/public/keys")).json()["keys"]
    jwk = next(k for k in keys if k["kid"] == checkpoint["key_id"])
    public = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    public.verify(b64url_decode(checkpoint["signature"]), checkpoint["signed_payload"].encode())
    assert json.loads(checkpoint["signed_payload"])["head_hash"] == checkpoint["head_hash"]
    pem = await service.client.get(f"/public/keys/{checkpoint['key_id']}.pem")
    loaded = serialization.load_pem_public_key(pem.text.encode())
    assert isinstance(loaded, Ed25519PublicKey)
    assert (await service.client.get("/public/checkpoints/latest")).json() == checkpoint

    # The checkpoint is published for anyone on the public topic.
    published = await _published_checkpoint(service, checkpoint["head_hash"])
    assert published["signature"] == checkpoint["signature"]
    assert published["seq"] == checkpoint["seq"]

    # Tampering shows at once.
    engine = create_engine(service.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE audit_log SET hash = :h WHERE seq = 2"), {"h": "00" * 32})
    finally:
        await engine.dispose()
    report = (await service.client.get("/verify", params={"mode": "chain_only"}, headers=service.admin)).json()
    assert report["ok"] is False
    assert report["first_bad"]["seq"] == 2
    assert report["first_bad"]["problem"] == "hash_mismatch"


async def test_access_to_integrity_routes_follows_real_tokens(service: Service) -> None:
    assert (await service.client.get("/verify")).status_code == 401
    vendor = service.auth("vendor-user", "vendor", vendor_id="V-1")
    assert (await service.client.get("/verify", headers=vendor)).status_code == 403
    assert (await service.client.post("/checkpoints", headers=service.auditor())).status_code == 403
    forged = service.admin["Authorization"][:-4] + "AAAA"
    assert (await service.client.get("/verify", headers={"Authorization": forged})).status_code == 401
    empty = await service.client.get("/public/checkpoints")
    assert empty.status_code == 200
    assert (await service.client.get("/public/keys/nope.pem")).status_code == 404


async def _all_logged(service: Service, ids: tuple[str, ...]) -> list[dict] | None:
    found = await service.logged(*ids)
    return found if len(found) == len(ids) else None


async def _published_checkpoint(service: Service, head_hash: str) -> dict:
    consumer = AIOKafkaConsumer(
        "eproc.audit.public",
        bootstrap_servers=service.settings.broker.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    try:

        async def find() -> dict | None:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    headers = dict(record.headers)
                    if headers["ce_type"] == b"audit.checkpoint_signed.v1":
                        data = json.loads(record.value)
                        if data["head_hash"] == head_hash:
                            return data
            return None

        return await eventually(find)
    finally:
        await consumer.stop()


async def _settled(service) -> list:
    """The log's entries once two reads half a second apart agree."""
    previous = await service.entries()
    for _ in range(60):
        await asyncio.sleep(0.5)
        current = await service.entries()
        if len(current) == len(previous):
            return current
        previous = current
    raise AssertionError("the log kept growing for 30 s")
