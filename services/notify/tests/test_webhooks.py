"""Webhooks to a real HTTP receiver that verifies Standard Webhooks signatures: retries with backoff on the
service's clock, the delivery log, replay, secret rotation, disabling a failing endpoint and telling its
owner, and a slow receiver that holds up nobody else."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from notify_test_support import (
    Issuer,
    Mailbox,
    Publisher,
    Receiver,
    Service,
    announced,
    ensure_all_topics,
    receiving,
    running_service,
    uid,
)

from eproc_shared.events.types.identity import VendorUserRegistered
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import eventually

TYPE = "tender.announced.v1"


async def _register(svc: Service, receiver: Receiver, owner: dict[str, str], **extra: Any) -> dict[str, Any]:
    r = await svc.client.post("/webhooks", json={"url": receiver.url, "event_types": [TYPE], **extra}, headers=owner)
    assert r.status_code == 201, r.text
    receiver.secrets.append(r.json()["secret"])
    return r.json()  # type: ignore[no-any-return]


async def _calls(receiver: Receiver, message_id: str, count: int) -> list[Any]:
    async def check() -> Any:
        calls = receiver.of(message_id)
        return calls if len(calls) >= count else None

    return await eventually(check)  # type: ignore[no-any-return]


async def test_webhooks_are_signed_retried_logged_replayed_rotated_and_disabled(
    database_url: str, broker: BrokerSettings, auth_env: Issuer, mailbox: Mailbox
) -> None:
    flaky, dead, slow = Receiver(fail_first=2), Receiver(always_fail=True), Receiver(gate=asyncio.Event())
    admin_id = uid("admin")
    contact = f"{uid('ops')}@pemantau.example.id"
    vendor_id, user_id = uid("v"), uid("u")
    keyword = uid("kw").replace("-", "")
    await ensure_all_topics(broker)
    async with (
        receiving(flaky),
        receiving(dead),
        receiving(slow),
        Publisher(broker) as pub,
        running_service(
            database_url,
            broker,
            auth_env,
            mailbox.port,
            webhook_disable_after_failures=3,
            webhook_disable_after_s=30,
            webhook_timeout_s=60,
        ) as svc,
    ):
        admin = svc.admin(admin_id)
        flaky_ep = await _register(svc, flaky, admin, description="monitor")
        dead_ep = await _register(svc, dead, admin, contact_email=contact)
        await _register(svc, slow, svc.auth("apikey:key-1", kind="api_key", scope="public:read"))

        # A vendor subscribed by mail: its mail must not wait for the slow receiver.
        registered = await pub.publish(
            VendorUserRegistered(
                user_id=user_id,
                vendor_id=vendor_id,
                company_name="PT Cepat",
                username=user_id,
                email=f"{user_id}@v.test",
            ),
            key=user_id,
            source="/eproc/gateway",
        )
        await svc.wait_consumed(registered)
        r = await svc.client.post(
            "/subscriptions", json={"keywords": [keyword]}, headers=svc.vendor(user_id, vendor_id)
        )
        assert r.status_code == 201, r.text

        package_id = uid("pkg")
        event = await pub.publish(
            announced(package_id, f"Rehabilitasi Gedung {keyword}", svc.clock()), key=package_id, source="/eproc/tender"
        )
        await svc.wait_consumed(event)

        # First attempts: the flaky and the dead receivers fail, the slow one holds its call open.
        first = await _calls(flaky, event.id, 1)
        await _calls(dead, event.id, 1)
        assert first[0].status == 500
        assert first[0].verified_with == [flaky_ep["secret"]]
        payload = json.loads(first[0].body)
        assert payload["type"] == TYPE
        assert payload["id"] == event.id
        assert payload["specversion"] == "1.0"
        assert payload["data"]["package"]["package_id"] == package_id
        await eventually(lambda: _async(len(mailbox.to(f"{user_id}@v.test")) == 1))  # not held up by `slow`

        async def attempts_of(endpoint_id: str) -> int:
            rows = await svc.rows(endpoint_id=endpoint_id, event_id=event.id)
            return rows[0]["attempts"] if rows else 0

        await eventually(lambda: _is(attempts_of(flaky_ep["id"]), 1))
        # Nothing is retried before its time; after 10 s (the first pause) it is, then after 30 s more.
        svc.clock.advance(seconds=9)
        await asyncio.sleep(0.3)  # several worker rounds at 0.05 s: the delivery must stay put
        assert len(flaky.of(event.id)) == 1
        svc.clock.advance(seconds=1)
        await _calls(flaky, event.id, 2)
        svc.clock.advance(seconds=30)
        calls = await _calls(flaky, event.id, 3)
        assert [c.status for c in calls] == [500, 500, 204]
        assert len({c.message_id for c in calls}) == 1  # the same webhook-id on every retry
        assert all(c.verified_with == [flaky_ep["secret"]] for c in calls)

        # The delivery log of the flaky endpoint.
        log = await eventually(lambda: _delivered(svc, flaky_ep["id"], event.id))
        assert log["attempts"] == 3
        assert log["last_status_code"] == 204
        assert log["last_latency_ms"] is not None
        detail = (await svc.client.get(f"/webhooks/{flaky_ep['id']}/deliveries/{log['id']}", headers=admin)).json()
        assert [a["status_code"] for a in detail["attempt_log"]] == [500, 500, 204]
        assert [a["ok"] for a in detail["attempt_log"]] == [False, False, True]
        assert all(a["latency_ms"] >= 0 for a in detail["attempt_log"])

        # The dead endpoint failed three times over at least 30 s: it is disabled and its owner told.
        # (Its failures may include other tests' announcements: the consumer reads the topic from the start.)
        async def disabled() -> Any:
            body = (await svc.client.get(f"/webhooks/{dead_ep['id']}", headers=admin)).json()
            return body if body["enabled"] is False else None

        dead_now = await eventually(disabled)
        assert "HTTP 500" in dead_now["disabled_reason"]
        owner_inbox = (await svc.client.get("/inbox", headers=admin)).json()["items"]
        assert [i["subject"] for i in owner_inbox] == [f"Webhook dinonaktifkan: {dead.url}"]
        assert "kali gagal berturut-turut" in owner_inbox[0]["body"]
        await eventually(lambda: _async(len(mailbox.to(contact)) == 1))
        assert mailbox.to(contact)[0]["Subject"] == f"Webhook dinonaktifkan: {dead.url}"
        # A disabled endpoint is not called any more.
        calls_before = len(dead.calls)
        svc.clock.advance(seconds=60)
        await asyncio.sleep(0.3)
        assert len(dead.calls) == calls_before

        # Replay on demand: the same message again.
        r = await svc.client.post(f"/webhooks/{flaky_ep['id']}/deliveries/{log['id']}/replay", headers=admin)
        assert r.status_code == 202, r.text
        assert r.json()["replay_of"] == log["id"]
        assert r.json()["message_id"] == event.id
        await _calls(flaky, event.id, 4)

        # Rotation: during the overlap both the new and the old secret sign. (The clock moves little in
        # this test: receivers accept a timestamp only within five minutes of their own time.)
        r = await svc.client.post(f"/webhooks/{flaky_ep['id']}/rotate-secret", params={"overlap_s": 60}, headers=admin)
        assert r.status_code == 200, r.text
        new_secret = r.json()["secret"]
        flaky.secrets.append(new_secret)
        await svc.client.post(f"/webhooks/{flaky_ep['id']}/deliveries/{log['id']}/replay", headers=admin)
        rotated = (await _calls(flaky, event.id, 5))[-1]
        assert set(rotated.verified_with) == {flaky_ep["secret"], new_secret}
        assert len(rotated.signatures.split(" ")) == 2
        # After the overlap only the new secret signs.
        svc.clock.advance(seconds=61)
        await svc.client.post(f"/webhooks/{flaky_ep['id']}/deliveries/{log['id']}/replay", headers=admin)
        after = (await _calls(flaky, event.id, 6))[-1]
        assert after.verified_with == [new_secret]
        assert len(after.signatures.split(" ")) == 1

        # The slow receiver held only its own queue; released, it gets its call.
        assert slow.of(event.id) == []
        slow.gate.set()  # type: ignore[union-attr]
        await _calls(slow, event.id, 1)

        # The owner enables the dead endpoint again once fixed; what waited for it goes at once.
        dead.always_fail = False
        r = await svc.client.patch(f"/webhooks/{dead_ep['id']}", json={"enabled": True}, headers=admin)
        assert r.status_code == 200
        assert r.json()["enabled"] is True
        assert r.json()["consecutive_failures"] == 0
        await eventually(lambda: _async(any(c.status == 204 for c in dead.of(event.id))))


async def _delivered(svc: Service, endpoint_id: str, event_id: str) -> Any:
    r = await svc.client.get(f"/webhooks/{endpoint_id}/deliveries", params={"status": "delivered"}, headers=svc.admin())
    for item in r.json()["items"]:
        if item["event_id"] == event_id and item["replay_of"] is None:
            return item
    return None


async def _is(value: Any, expected: Any) -> bool:
    return (await value) == expected


async def _async(value: Any) -> Any:
    return value
