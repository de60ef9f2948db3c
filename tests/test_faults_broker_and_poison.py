"""Faults against the real `make run` stack (tests/conftest.py): the broker frozen during writes through the
gateway, and a poison event in a real service's topic."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest


@pytest.mark.slow
def test_writes_succeed_while_the_broker_is_frozen_and_every_event_arrives_after(stack: Any) -> None:
    client = stack.client
    tag = uuid.uuid4().hex[:6]
    stack.as_role("ppk"), stack.as_role("pokja")  # sign in before the outage: sign-in itself needs no Kafka
    stack.broker.pause()
    try:
        frozen_at = time.monotonic()
        vendor_ids: list[str] = []
        for index in range(5):
            # Answered 201 all the same: the gateway's outbox keeps the event.
            email = f"frozen{index}@vendor.example"
            vendor_ids.append(stack.register_vendor(f"frozen-{tag}-{index}", f"CV Beku {tag} {index}", email=email))
        package_ids = [stack.announced_package(datetime.now(UTC) + timedelta(days=2)) for _ in range(3)]
        elapsed = time.monotonic() - frozen_at
        assert elapsed < 20, f"writes must not wait for Kafka: {elapsed:.1f}s for 5 registrations and 3 packages"
        time.sleep(max(0.0, 3 - elapsed))  # frozen a while longer than the writes took: relays are retrying
    finally:
        stack.broker.resume()

    # Gateway -> Kafka -> vendor service: each registration became a vendor record there.
    owner = stack.sign_in(f"frozen-{tag}-0", "a-long-password-1")
    stack.eventually(lambda: client.get(f"/api/vendor/vendors/{vendor_ids[0]}", headers=owner).status_code == 200, 60)
    registered = {json.loads(r.value).get("vendor_id") for r in stack.read_topic("eproc.identity.internal")}
    assert set(vendor_ids) <= registered, "every registration event was published after the outage"
    # Tender -> Kafka: each announcement is on the public topic, once.
    announced = [
        json.loads(r.value)["package"]["package_id"]
        for r in stack.read_topic("eproc.tender.public")
        if dict(r.headers).get("ce_type") == b"tender.announced.v1"
    ]
    assert all(announced.count(p) == 1 for p in package_ids), (package_ids, announced)


@pytest.mark.slow
def test_a_poison_award_goes_to_the_dlq_and_the_partition_keeps_moving(stack: Any) -> None:
    """A record claiming to be tender.awarded.v1 whose payload is not one, then a good award with the same
    key (so the same partition): the contract service dead-letters the first and drafts the second."""
    client = stack.client
    key = f"pkg-poison-{uuid.uuid4().hex[:8]}"
    good = stack.award(
        key,
        name="Pengadaan Ambulans",
        winner_id="vendor-x",
        winner_name="PT Menang",
    )
    poison_headers = [(k, v if k != "ce_id" else f"poison-{key}".encode()) for k, v in good.headers()]
    stack.publish_raw(good.topic, b'{"package": "not an object", "offered_price": -1', key, poison_headers)
    stack.publish([(good, key)])

    drafted = stack.eventually(lambda: stack.drafted_contracts(key), 60)
    assert len(drafted) == 1, "the good award behind the poison one is handled"
    dead = [r for r in stack.read_topic("contract.dlq") if r.key == key.encode()]
    assert len(dead) == 1, "the poison event is in the DLQ, once"
    headers = dict(dead[0].headers)
    assert headers["ce_id"] == f"poison-{key}".encode()
    assert headers.get("x-eproc-error"), "the DLQ record says what went wrong"
    # The audit log (every topic) is not stuck on it either: it logged the good award.
    auditor = stack.as_role("admin")
    stack.eventually(lambda: key in client.get(f"/api/audit/timelines/package/{key}", headers=auditor).text, 30)
