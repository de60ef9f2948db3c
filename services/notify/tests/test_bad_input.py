"""Bad input gets a precise problem+json 4xx naming the field; nobody reaches another's objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from notify_test_support import Issuer, Mailbox, Publisher, eligibility, running_service, uid

from eproc_shared.devstack.embedded_broker import free_port
from eproc_shared.events.types.vendor import VendorItemRef, VendorVerified
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import eventually


def _fields(r: httpx.Response) -> list[str]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return [e["field"] for e in r.json().get("errors", [])]


async def test_bad_input_is_answered_precisely(
    database_url: str, broker: BrokerSettings, auth_env: Issuer, mailbox: Mailbox
) -> None:
    async with running_service(database_url, broker, auth_env, mailbox.port) as svc:
        c = svc.client
        vendor = svc.vendor(uid("u"), uid("v"))

        # Subscriptions
        r = await c.post("/subscriptions", json={"kbli_codes": ["42101", "12A45"]}, headers=vendor)
        assert r.status_code == 422
        assert _fields(r) == ["kbli_codes.1"]
        r = await c.post("/subscriptions", json={"keywords": ["ok keyword", "x"]}, headers=vendor)
        assert r.status_code == 422
        assert _fields(r) == ["keywords.1"]
        r = await c.post("/subscriptions", json={"opd_ids": ["dinas kesehatan!"]}, headers=vendor)
        assert r.status_code == 422
        assert _fields(r) == ["opd_ids.0"]
        r = await c.post("/subscriptions", json={}, headers=vendor)
        assert r.status_code == 422
        assert _fields(r) == ["kbli_codes", "opd_ids", "keywords"]
        assert "at least one" in r.json()["detail"]
        r = await c.post("/subscriptions", json={"kbli": ["42101"]}, headers=vendor)
        assert r.status_code == 422
        assert _fields(r) == ["kbli"]
        r = await c.post("/subscriptions", json={"kbli_codes": ["42101"]}, headers=svc.auth(uid("ppk"), "ppk"))
        assert r.status_code == 403
        r = await c.post("/subscriptions", json={"kbli_codes": ["42101"]})
        assert r.status_code == 401
        r = await c.post("/subscriptions", json={"kbli_codes": ["42101"]}, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
        created = await c.post("/subscriptions", json={"kbli_codes": ["42101"]}, headers=vendor)
        assert created.status_code == 201
        other_vendor = svc.vendor(uid("u"), uid("v"))
        r = await c.delete(f"/subscriptions/{created.json()['id']}", headers=other_vendor)
        assert r.status_code == 404
        assert (await c.get("/subscriptions", headers=other_vendor)).json() == {"items": []}
        assert (await c.delete(f"/subscriptions/{created.json()['id']}", headers=vendor)).status_code == 204

        # Preferences
        r = await c.put("/preferences", json={"language": "jv"}, headers=vendor)
        assert r.status_code == 422
        assert _fields(r) == ["language"]
        r = await c.put("/preferences", json={"language": "id", "email": "not-an-address"}, headers=vendor)
        assert r.status_code == 422
        assert _fields(r) == ["email"]

        # Inbox
        r = await c.get("/inbox", params={"cursor": "garbage"}, headers=vendor)
        assert r.status_code == 400
        assert _fields(r) == ["cursor"]
        r = await c.get("/inbox", params={"limit": 0}, headers=vendor)
        assert r.status_code == 422
        assert _fields(r) == ["limit"]
        api_key = svc.auth("apikey:k1", kind="api_key", scope="public:read")
        assert (await c.get("/inbox", headers=api_key)).status_code == 403

        # Webhooks
        admin = svc.admin(uid("admin"))
        hook = {"url": "https://monitor.example.id/hook", "event_types": ["tender.announced.v1"]}
        r = await c.post("/webhooks", json=hook | {"url": "ftp://monitor.example.id/x"}, headers=admin)
        assert r.status_code == 422
        assert _fields(r) == ["url"]
        r = await c.post("/webhooks", json=hook | {"url": "https://user:pw@monitor.example.id/x"}, headers=admin)
        assert r.status_code == 422
        assert _fields(r) == ["url"]
        types = ["tender.announced.v1", "tender.objection_filed.v1", "no.such.v1"]
        r = await c.post("/webhooks", json=hook | {"event_types": types}, headers=admin)
        # Internal (private) event types are not offered to outside systems.
        assert r.status_code == 422
        assert _fields(r) == ["event_types.1", "event_types.2"]
        r = await c.post("/webhooks", json=hook | {"event_types": []}, headers=admin)
        assert r.status_code == 422
        assert _fields(r) == ["event_types"]
        r = await c.post("/webhooks", json=hook, headers=vendor)
        assert r.status_code == 403
        mine = await c.post("/webhooks", json=hook, headers=api_key)
        assert mine.status_code == 201
        assert mine.json()["secret"].startswith("whsec_")
        endpoint = mine.json()["id"]
        other_key = svc.auth("apikey:k2", kind="api_key", scope="public:read")
        assert (await c.get(f"/webhooks/{endpoint}", headers=other_key)).status_code == 404
        assert (await c.post(f"/webhooks/{endpoint}/rotate-secret", headers=other_key)).status_code == 404
        assert (await c.get(f"/webhooks/{endpoint}/deliveries", headers=other_key)).status_code == 404
        assert (await c.get("/webhooks", headers=other_key)).json() == {"items": []}
        assert (await c.get(f"/webhooks/{endpoint}", headers=admin)).status_code == 200  # an admin sees all
        r = await c.post(f"/webhooks/{endpoint}/rotate-secret", params={"overlap_s": -1}, headers=api_key)
        assert r.status_code == 422
        assert _fields(r) == ["overlap_s"]
        r = await c.patch(f"/webhooks/{endpoint}", json={"event_types": ["nope.v1"]}, headers=api_key)
        assert r.status_code == 422
        assert _fields(r) == ["event_types.0"]
        r = await c.post(f"/webhooks/{endpoint}/deliveries/999999/replay", headers=api_key)
        assert r.status_code == 404
        listed = (await c.get("/webhooks/event-types", headers=api_key)).json()["items"]
        assert "tender.announced.v1" in listed
        assert "tender.objection_filed.v1" not in listed
        assert (await c.delete(f"/webhooks/{endpoint}", headers=api_key)).status_code == 204
        assert (await c.get(f"/webhooks/{endpoint}", headers=api_key)).status_code == 404


async def test_the_development_sink_shows_what_was_sent(
    broker: BrokerSettings, auth_env: Issuer, tmp_path: Path
) -> None:
    vendor_id, contact = uid("v"), f"{uid('c')}@vendor.test"
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}"
    async with (
        Publisher(broker) as pub,
        running_service(
            database_url, broker, auth_env, 1, dev_smtp_sink=True, dev_smtp_sink_port=free_port("127.0.0.1")
        ) as svc,
    ):
        await pub.publish(
            VendorVerified(
                vendor_id=vendor_id,
                items=[VendorItemRef(kind="company", item_id="i1")],
                verified_by="verifier-1",
                verified_at=svc.clock(),
                facts=eligibility(vendor_id, "CV Sinar & Putra", svc.clock()),
                contact_email=contact,
            ),
            key=vendor_id,
            source="/eproc/vendor",
        )

        async def received() -> Any:
            items = (await svc.client.get("/dev/mail", params={"to": contact})).json()["items"]
            return items or None

        mails = await eventually(received, timeout_s=40)
        assert mails[0]["subject"] == "Data perusahaan terverifikasi"
        assert "CV Sinar & Putra" in mails[0]["text"]
        assert "CV Sinar &amp; Putra" in mails[0]["html"]
        page = await svc.client.get("/dev/mail/page")
        assert page.status_code == 200
        assert "Data perusahaan terverifikasi" in page.text
        assert "CV Sinar &amp; Putra" in page.text


async def test_without_the_sink_there_is_no_mail_page(broker: BrokerSettings, auth_env: Issuer, tmp_path: Path) -> None:
    async with running_service(f"sqlite+aiosqlite:///{tmp_path / 'n.db'}", broker, auth_env, 1) as svc:
        assert (await svc.client.get("/dev/mail")).status_code == 404
