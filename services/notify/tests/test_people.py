"""People hear of events over the real broker: inbox items and mails received by a real SMTP server,
in each recipient's language, once per event, recipient and channel, across redelivery and restart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from notify_test_support import (
    Clock,
    Issuer,
    Mailbox,
    Publisher,
    announced,
    eligibility,
    ensure_all_topics,
    running_service,
    text_of,
    uid,
)

from eproc_shared.events.types.identity import UserCreated, VendorUserRegistered
from eproc_shared.events.types.tender import (
    TenderAmended,
    TenderObjectionFiled,
    TenderParticipantRegistered,
    TenderQuestionAnswered,
    TenderStageWindow,
)
from eproc_shared.events.types.vendor import VendorItemRef, VendorSubmittedForVerification, VendorVerified
from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import eventually


async def test_events_reach_inbox_and_mail_once_across_redelivery_and_restart(
    database_url: str, broker: BrokerSettings, auth_env: Issuer, mailbox: Mailbox
) -> None:
    vendor_id, user_id, verifier_id, pokja_id = uid("v"), uid("u"), uid("verifier"), uid("pokja")
    opd = uid("opd")
    company = f"PT Maju Jaya {uid('co')}"
    address = f"{user_id}@vendor.test"
    keyword = uid("kw").replace("-", "")
    package_id, unrelated_id = uid("pkg"), uid("pkg")
    await ensure_all_topics(broker)
    async with Publisher(broker) as pub, running_service(database_url, broker, auth_env, mailbox.port) as svc:
        now = svc.clock()
        vendor_headers = svc.vendor(user_id, vendor_id)
        people = [
            await pub.publish(
                VendorUserRegistered(
                    user_id=user_id,
                    vendor_id=vendor_id,
                    company_name=company,
                    username=user_id,
                    email=address,
                ),
                key=user_id,
                source="/eproc/gateway",
            ),
            await pub.publish(
                UserCreated(user_id=verifier_id, roles=["verifier"], username=verifier_id),
                key=verifier_id,
                source="/eproc/gateway",
            ),
            await pub.publish(
                UserCreated(user_id=pokja_id, roles=["pokja"], opd_id=opd, username=pokja_id),
                key=pokja_id,
                source="/eproc/gateway",
            ),
        ]
        await svc.wait_consumed(*people)

        # The vendor user reads in English and follows road works with its keyword.
        r = await svc.client.put("/preferences", json={"language": "en"}, headers=vendor_headers)
        assert r.status_code == 200, r.text
        assert r.json()["account_email"] == address
        r = await svc.client.post(
            "/subscriptions", json={"kbli_codes": ["42101"], "keywords": [f"jalan {keyword}"]}, headers=vendor_headers
        )
        assert r.status_code == 201, r.text

        first = [
            await pub.publish(
                announced(package_id, f"Pembangunan Jalan {keyword} Cibodas", now, opd_id=opd),
                key=package_id,
                source="/eproc/tender",
            ),
            await pub.publish(
                announced(unrelated_id, f"Pengadaan Obat {keyword}", now, kbli=("21012",)),
                key=unrelated_id,
                source="/eproc/tender",
            ),
            await pub.publish(
                VendorSubmittedForVerification(
                    vendor_id=vendor_id,
                    items=[VendorItemRef(kind="company", item_id="i1"), VendorItemRef(kind="kbli", item_id="i2")],
                    submitted_at=now,
                    resubmission=False,
                ),
                key=vendor_id,
                source="/eproc/vendor",
            ),
        ]
        await svc.wait_consumed(*first)
        mails = await eventually(lambda: _async(mailbox.to(address)))
        assert len(mails) == 1
        assert mails[0]["Subject"] == f"New package: Pembangunan Jalan {keyword} Cibodas"
        assert mails[0]["Content-Language"] == "en"
        body = text_of(mails[0])
        assert "Owner's estimate (HPS): Rp1.500.000.000" in body
        when = now.astimezone(_jakarta()) + timedelta(days=7)
        assert f"Bid deadline: {when.day} {when.strftime('%B')} {when.year}, {when:%H:%M} WIB" in body
        assert f"/tender/{package_id}" in body

        inbox = (await svc.client.get("/inbox", headers=vendor_headers)).json()
        assert [i["subject"] for i in inbox["items"]] == [f"New package: Pembangunan Jalan {keyword} Cibodas"]
        # An official hears of what waits on it, in the default language (Bahasa Indonesia).
        verifier_headers = svc.auth(verifier_id, "verifier")
        # (Every verifier hears of every queue item: other tests' vendors may be in the queue too.)
        queue = await _items_about(svc, verifier_headers, company)
        assert [i["subject"] for i in queue] == [f"Antrian verifikasi: {company}"]
        assert "mengajukan 2 bagian data" in queue[0]["body"]
        unread = (await svc.client.get("/inbox/unread-count", headers=verifier_headers)).json()["unread"]
        r = await svc.client.post(f"/inbox/{queue[0]['id']}/read", headers=verifier_headers)
        assert r.status_code == 200
        assert r.json()["read_at"] is not None
        assert (await svc.client.get("/inbox/unread-count", headers=verifier_headers)).json() == {"unread": unread - 1}
        # Someone else's item is not there for the vendor.
        r = await svc.client.post(f"/inbox/{queue[0]['id']}/read", headers=vendor_headers)
        assert r.status_code == 404

        # Participants hear of addenda, objections and answers; officials of the objection that waits on them.
        window = TenderStageWindow(stage="submission", starts_at=now, ends_at=now + timedelta(days=10))
        amended = TenderAmended(
            package_id=package_id,
            addendum_number=1,
            reason="Perpanjangan",
            schedule=[window],
            documents_changed=False,
            amended_at=now,
        )
        joined = await pub.publish(
            TenderParticipantRegistered(
                package_id=package_id, vendor_id=vendor_id, vendor_name=company, registered_at=now
            ),
            key=package_id,
            source="/eproc/tender",
        )
        # The objection travels on the internal topic: no order with the public one, as in production,
        # where an objection comes days after the registration.
        await svc.wait_consumed(joined)
        second = [
            joined,
            await pub.publish(amended, key=package_id, source="/eproc/tender"),
            await pub.publish(
                TenderObjectionFiled(
                    package_id=package_id,
                    opd_id=opd,
                    objection_id="obj-1",
                    vendor_id=uid("other"),
                    reason="Evaluasi keliru",
                    filed_at=now,
                    answer_due_at=now + timedelta(days=3),
                ),
                key=package_id,
                source="/eproc/tender",
            ),
        ]
        await svc.wait_consumed(*second)
        pokja_items = (await svc.client.get("/inbox", headers=svc.auth(pokja_id, "pokja", opd_id=opd))).json()["items"]
        assert [i["subject"] for i in pokja_items] == [
            f"Sanggah masuk, menunggu jawaban: Pembangunan Jalan {keyword} Cibodas"
        ]

        # Redelivery: the same events (same ids) arrive again, then one new event on the same partition.
        await pub.send(second[1])
        await pub.send(first[0])
        sentinel = await pub.publish(
            TenderQuestionAnswered(
                package_id=package_id, question_id="q1", question="Apakah?", answer="Ya.", answered_at=now
            ),
            key=package_id,
            source="/eproc/tender",
        )
        await svc.wait_consumed(sentinel)
        await eventually(lambda: _async(len(mailbox.to(address)) == 4))
        subjects = sorted(m["Subject"] for m in mailbox.to(address))
        assert subjects == sorted(
            [
                f"New package: Pembangunan Jalan {keyword} Cibodas",
                f"Addendum 1: Pembangunan Jalan {keyword} Cibodas",
                f"Objection filed: Pembangunan Jalan {keyword} Cibodas",
                f"Clarification answered: Pembangunan Jalan {keyword} Cibodas",
            ]
        )

        # Cursor paging, newest first.
        page1 = (await svc.client.get("/inbox", params={"limit": 3}, headers=vendor_headers)).json()
        assert len(page1["items"]) == 3
        assert page1["next_cursor"]
        page2 = (
            await svc.client.get("/inbox", params={"limit": 3, "cursor": page1["next_cursor"]}, headers=vendor_headers)
        ).json()
        assert [i["subject"] for i in page2["items"]] == [f"New package: Pembangunan Jalan {keyword} Cibodas"]
        assert page2["next_cursor"] is None
        ids = [i["id"] for i in page1["items"] + page2["items"]]
        assert ids == sorted(ids, reverse=True)
        assert (await svc.client.get("/inbox/unread-count", headers=vendor_headers)).json() == {"unread": 4}

    # A restart under a new consumer group reads every event again: nothing is delivered twice.
    async with (
        Publisher(broker) as pub,
        running_service(database_url, broker, auth_env, mailbox.port, consumer_group=uid("notify-again")) as again,
    ):
        await again.wait_consumed(*people, *first, *second, sentinel)
        closing = await pub.publish(
            TenderQuestionAnswered(
                package_id=package_id, question_id="q2", question="Lagi?", answer="Tidak.", answered_at=again.clock()
            ),
            key=package_id,
            source="/eproc/tender",
        )
        await again.wait_consumed(closing)
        await eventually(lambda: _async(len(mailbox.to(address)) == 5))
        vendor_items = (await again.client.get("/inbox", headers=vendor_headers)).json()["items"]
        assert len(vendor_items) == 5
        assert len(await _items_about(again, svc.auth(verifier_id, "verifier"), company)) == 1
        assert len(await again.rows(channel="email", address=address)) == 5
    assert len(mailbox.to(address)) == 5


async def test_mail_waits_in_the_database_and_is_retried_after_a_restart(
    database_url: str, broker: BrokerSettings, auth_env: Issuer
) -> None:
    vendor_id, contact = uid("v"), f"{uid('contact')}@vendor.test"
    box = Mailbox()  # not listening yet: the SMTP server is down
    clock = Clock()
    await ensure_all_topics(broker)
    async with Publisher(broker) as pub, running_service(database_url, broker, auth_env, box.port, clock) as svc:
        verified = await pub.publish(
            VendorVerified(
                vendor_id=vendor_id,
                items=[VendorItemRef(kind="company", item_id="i1")],
                verified_by="verifier-1",
                verified_at=clock(),
                facts=eligibility(vendor_id, "CV Sinar Terang", clock()),
                contact_email=contact,
            ),
            key=vendor_id,
            source="/eproc/vendor",
        )
        await svc.wait_consumed(verified)
        failed_once = await eventually(lambda: _first_with(svc.rows(channel="email", address=contact), attempts=1))
        assert failed_once["status"] == "pending"
        assert failed_once["next_attempt_at"] == clock() + timedelta(seconds=10)
        assert "Connect" in (failed_once["last_error"] or "") or "refused" in (failed_once["last_error"] or "")
    await box.start()
    try:
        clock.advance(seconds=10)
        async with running_service(database_url, broker, auth_env, box.port, clock, consumer_group=svc.group) as again:
            await eventually(lambda: _async(len(box.to(contact)) == 1))
            assert box.to(contact)[0]["Subject"] == "Data perusahaan terverifikasi"
            assert "CV Sinar Terang" in text_of(box.to(contact)[0])
            row = await eventually(lambda: _first_with(again.rows(channel="email", address=contact), attempts=2))
            assert row["status"] == "delivered"
        assert len(box.to(contact)) == 1
    finally:
        await box.stop()


async def _items_about(svc: Any, headers: dict[str, str], text: str) -> list[dict[str, Any]]:
    items = (await svc.client.get("/inbox", params={"limit": 500}, headers=headers)).json()["items"]
    return [i for i in items if text in i["subject"]]


async def _async(value: Any) -> Any:
    return value


async def _first_with(rows_awaitable: Any, **expected: Any) -> Any:
    rows = await rows_awaitable
    for row in rows:
        if all(row[k] == v for k, v in expected.items()):
            return row
    return None


def _jakarta() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Jakarta")
