"""The plain domain rules: formatting for Indonesia, templates in both languages, retry and disable
rules, subscription matching, and Standard Webhooks signing against the specification's test vector."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from eproc_notify.domain import signing
from eproc_notify.domain.formatting import jakarta_date, jakarta_datetime, rupiah
from eproc_notify.domain.matching import Announcement, Criteria, keyword_matches, matches, normalise_keywords
from eproc_notify.domain.retry import DisablePolicy, RetryPolicy
from eproc_notify.rendering import Renderer
from eproc_notify.settings import NotifySettings

T0 = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)  # 10:00 WIB


def test_rupiah_is_written_the_indonesian_way() -> None:
    assert rupiah(1_500_000_000) == "Rp1.500.000.000"
    assert rupiah(999) == "Rp999"
    assert rupiah(1_000) == "Rp1.000"
    assert rupiah(0) == "Rp0"
    assert rupiah(-25_000) == "-Rp25.000"
    assert rupiah(None) == "-"
    with pytest.raises(TypeError):
        rupiah(1.5)  # type: ignore[arg-type]


def test_times_are_shown_in_jakarta_in_each_language() -> None:
    assert jakarta_datetime(T0, "id") == "2 Januari 2026 pukul 10.00 WIB"
    assert jakarta_datetime(T0, "en") == "2 January 2026, 10:00 WIB"
    # 20:30 UTC is already the next day in Jakarta.
    late = datetime(2026, 8, 16, 20, 30, tzinfo=UTC)
    assert jakarta_datetime(late, "id") == "17 Agustus 2026 pukul 03.30 WIB"
    assert jakarta_date(late, "en") == "17 August 2026"
    assert jakarta_date(date(2026, 12, 31), "id") == "31 Desember 2026"
    with pytest.raises(ValueError, match="timezone-aware"):
        jakarta_datetime(datetime(2026, 1, 1), "id")


PACKAGE = {
    "package_id": "pkg-1",
    "code": "TGR-2026-001",
    "name": "Pembangunan Jalan Lingkungan Cibodas",
    "opd_id": "dpupr",
    "pagu": 2_000_000_000,
    "hps": 1_500_000_000,
    "method": "tender",
}
CONTEXTS: dict[str, dict[str, object]] = {
    "tender.announced": {"package": PACKAGE, "registration_ends_at": T0, "submission_ends_at": T0 + timedelta(days=7)},
    "tender.amended": {
        "package_name": "Jalan",
        "addendum_number": 2,
        "reason": "Perubahan jadwal",
        "documents_changed": True,
        "schedule": [{"stage": "submission", "starts_at": T0, "ends_at": T0 + timedelta(days=3)}],
    },
    "tender.question_answered": {"package_name": "Jalan", "question": "Q?", "answer": "A."},
    "tender.bids_opened": {
        "package_name": "Jalan",
        "opened_at": T0,
        "bidders": ["v1"],
        "prices": [{"vendor_name": "PT A", "price": 1_400_000_000}],
    },
    "tender.winner_announced": {
        "package_name": "Jalan",
        "winner_name": "PT A",
        "winning_price": 1_400_000_000,
        "hps": 1_500_000_000,
        "objection_ends_at": T0,
        "is_winner": True,
    },
    "tender.objection_filed": {"package_name": "Jalan", "filed_at": T0, "answer_due_at": T0},
    "tender.objection_filed.official": {"package_name": "Jalan", "filed_at": T0, "answer_due_at": T0},
    "tender.objection_answered": {
        "package_name": "Jalan",
        "upheld": True,
        "consequence": "re_evaluate",
        "answer": "Ok",
    },
    "tender.awarded": {
        "package": PACKAGE,
        "sppbj_number": "027/SPPBJ/2026",
        "winner": {"legal_name": "PT A"},
        "awarded_price": 1_400_000_000,
        "for_ppk": True,
    },
    "tender.failed": {"package_name": "Jalan", "reason": "Tidak ada penawaran", "failed_at": T0},
    "tender.cancelled": {"package_name": "Jalan", "reason": "Anggaran", "cancelled_at": T0},
    "contract.completed": {
        "package_name": "Jalan",
        "contract_id": "c-1",
        "completed_on": date(2026, 6, 1),
        "final_value": 1_450_000_000,
    },
    "contract.terminated": {
        "package_name": "Jalan",
        "contract_id": "c-1",
        "terminated_on": date(2026, 6, 1),
        "reason": "Wanprestasi",
        "paid_value": 100_000_000,
    },
    "contract.vendor_rated": {
        "package_name": "Jalan",
        "contract_id": "c-1",
        "rated_on": date(2026, 6, 2),
        "scores": [{"criterion": "quality", "score": 4, "scale_max": 5}],
    },
    "contract.drafted": {
        "package_name": "Jalan",
        "contract_id": "c-1",
        "value": 1_400_000_000,
        "performance_guarantee_amount": 75_000_000,
        "for_ppk": False,
    },
    "contract.party_signed": {"package_name": "Jalan", "contract_id": "c-1", "signed_by": "vendor", "signed_at": T0},
    "tender.package_assigned": {
        "package_name": "Jalan",
        "package_code": "P-1",
        "method": "tender",
        "assigned_role": "pokja",
        "assigned_at": T0,
    },
    "contract.signed": {
        "package_name": "Jalan",
        "contract_number": "600/12/DPUPR/2026",
        "value": 1_400_000_000,
        "duration_days": 120,
        "signed_on": date(2026, 3, 2),
    },
    "contract.started": {
        "package_name": "Jalan",
        "contract_id": "c-1",
        "spmk_number": "SPMK-1",
        "start_date": date(2026, 3, 9),
        "planned_end": date(2026, 7, 6),
    },
    "tender.appeal_filed.official": {
        "package_name": "Jalan",
        "filed_at": T0,
        "answer_due_at": T0,
        "guarantee_amount": 15_000_000,
        "guarantee_required": 15_000_000,
    },
    "tender.appeal_answered": {
        "package_name": "Jalan",
        "upheld": False,
        "guarantee_forfeited": True,
        "answer": "Ditolak",
    },
    "vendor.submitted_for_verification": {
        "vendor_name": "PT A",
        "items": [{"kind": "kbli", "item_id": "i1"}],
        "resubmission": False,
        "submitted_at": T0,
    },
    "vendor.verified": {
        "vendor_name": "PT A",
        "items": [{"kind": "company", "item_id": "i1"}],
        "verified_at": T0,
        "eligible": False,
        "reasons": ["tax status missing"],
    },
    "vendor.rejected": {"vendor_name": "PT A", "rejections": [{"kind": "kbli", "reason": "bukti"}], "rejected_at": T0},
    "vendor.licence_expired": {
        "vendor_name": "PT A",
        "licence_kind": "nib",
        "number": "912",
        "valid_until": date(2026, 1, 1),
        "effective_on": date(2026, 1, 2),
    },
    "vendor.blacklisted": {
        "vendor_name": "PT A",
        "starts_on": date(2026, 1, 1),
        "ends_on": date(2026, 12, 31),
        "reason": "Wanprestasi",
        "legal_basis": "Perpres 16/2018",
    },
    "webhook.disabled": {
        "url": "https://x.example/hook",
        "disabled_at": T0,
        "failures": 20,
        "failing_since": T0 - timedelta(days=1),
        "last_error": "HTTP 500",
    },
}


def test_every_template_exists_in_both_languages_and_renders() -> None:
    renderer = Renderer()
    assert renderer.kinds("id") == renderer.kinds("en") == sorted(CONTEXTS)
    for kind, context in CONTEXTS.items():
        indonesian = renderer.render(kind, "id", context)
        english = renderer.render(kind, "en", context)
        assert indonesian.subject, kind
        assert english.subject, kind
        assert indonesian.subject != english.subject, kind
        assert indonesian.body != english.body, kind


def test_templates_format_money_and_time_per_language() -> None:
    renderer = Renderer()
    context = CONTEXTS["tender.announced"]
    indonesian = renderer.render("tender.announced", "id", context, link="http://portal/tender/pkg-1")
    english = renderer.render("tender.announced", "en", context)
    assert indonesian.subject == "Paket baru: Pembangunan Jalan Lingkungan Cibodas"
    assert "HPS: Rp1.500.000.000" in indonesian.body
    assert "Pendaftaran ditutup: 2 Januari 2026 pukul 10.00 WIB" in indonesian.body
    assert "Batas pemasukan penawaran: 9 Januari 2026 pukul 10.00 WIB" in indonesian.body
    assert "Owner's estimate (HPS): Rp1.500.000.000" in english.body
    assert "Registration closes: 2 January 2026, 10:00 WIB" in english.body
    assert "Buka: http://portal/tender/pkg-1" in indonesian.text()
    assert "&lt;" not in indonesian.html()
    assert "<p>" in indonesian.html()


def test_a_drafted_contract_tells_the_vendor_what_waits_on_it() -> None:
    message = Renderer().render("contract.drafted", "id", CONTEXTS["contract.drafted"])
    assert message.subject == "Rancangan kontrak siap: Jalan"
    assert "nilai Rp1.400.000.000" in message.body
    assert "Jaminan pelaksanaan yang disyaratkan: Rp75.000.000." in message.body
    assert "Periksa rancangan dan tandatangani kontrak." in message.body


def test_html_escapes_what_came_from_events() -> None:
    renderer = Renderer()
    context = {"package_name": "<script>x</script>", "question": "a & b", "answer": "ok"}
    message = renderer.render("tender.question_answered", "en", context)
    assert "<script>" not in message.html()
    assert "&lt;script&gt;" in message.html()
    assert "<script>x</script>" in message.text()  # the plain text is as written


def test_a_template_missing_a_value_fails_loudly() -> None:
    with pytest.raises(Exception, match="package_name"):
        Renderer().render("tender.failed", "id", {"reason": "x", "failed_at": T0})


def test_retries_back_off_exponentially_within_a_day() -> None:
    policy = RetryPolicy(base_s=10, factor=3, max_delay_s=6 * 3600, window_s=86400)
    delays = [policy.delay_after(n).total_seconds() for n in range(1, 10)]
    assert delays == [10, 30, 90, 270, 810, 2430, 7290, 21600, 21600]
    queued = T0
    now, failures, schedule = T0, 0, []
    while True:
        failures += 1
        nxt = policy.next_attempt(queued, now, failures)
        if nxt is None:
            break
        schedule.append(nxt)
        now = nxt
    assert schedule[-1] <= queued + timedelta(days=1) < schedule[-1] + timedelta(hours=6)
    assert len(schedule) == 10  # eleven attempts in all, the last within the day
    with pytest.raises(ValueError, match="starts at 1"):
        policy.delay_after(0)


def test_an_endpoint_is_disabled_only_after_enough_failures_over_enough_time() -> None:
    policy = DisablePolicy(after_failures=5, after_s=3600)
    assert not policy.should_disable(4, T0, T0 + timedelta(hours=2))
    assert not policy.should_disable(5, T0, T0 + timedelta(minutes=59))
    assert policy.should_disable(5, T0, T0 + timedelta(hours=1))
    assert not policy.should_disable(50, None, T0)


def test_subscriptions_match_on_every_criterion_they_set() -> None:
    road = Announcement(name="Pembangunan Jalan Lingkungan Cibodas", opd_id="dpupr", kbli_codes=frozenset({"42101"}))
    assert matches(Criteria(frozenset({"42101", "41011"}), frozenset(), ()), road)
    assert not matches(Criteria(frozenset({"41011"}), frozenset(), ()), road)
    assert matches(Criteria(frozenset(), frozenset({"dpupr"}), ("jalan",)), road)
    assert not matches(Criteria(frozenset(), frozenset({"dinkes"}), ("jalan",)), road)
    assert not matches(Criteria(frozenset({"42101"}), frozenset(), ("gedung",)), road)
    assert keyword_matches("JALAN lingk", road.name)
    assert keyword_matches("pembangunan", "PEMBANGUNAN")
    assert keyword_matches("cafe", "Renovasi Café Taman")
    assert not keyword_matches("jalan", "Biaya Perjalanan Dinas")
    assert not keyword_matches("lingkungan jalan", road.name)  # a phrase keeps its order
    assert normalise_keywords(["  alat  kesehatan ", "Alat Kesehatan", "obat"]) == ("alat kesehatan", "obat")


def test_signatures_reproduce_the_standard_webhooks_test_vector() -> None:
    # The vector published with the Standard Webhooks reference libraries.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    when = datetime.fromtimestamp(1614265330, UTC)
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert signing.signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", when, '{"test": 2432232314}') == expected
    # The same by the specification's definition, so a library change cannot move us off it.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}', hashlib.sha256).digest()
    assert expected == "v1," + base64.b64encode(digest).decode()


def test_during_a_rotation_both_secrets_sign_and_either_verifies() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    assert old.startswith("whsec_")
    assert len(base64.b64decode(old[6:])) == 32
    assert old != new
    now = datetime.now(UTC).replace(microsecond=0)
    in_use = signing.secrets_in_use(new, old, now + timedelta(hours=1), now)
    assert in_use == [new, old]
    assert signing.secrets_in_use(new, old, now, now) == [new]  # the overlap has ended
    body = '{"a":1}'
    headers = signing.headers(in_use, "evt-1", now, body)
    assert headers["webhook-id"] == "evt-1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"a": 1}
    with pytest.raises(Exception, match="signature"):
        Webhook(signing.new_secret()).verify(body, headers)


def test_the_development_sink_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPROC_ENV", "production")
    with pytest.raises(ValueError, match="refused in production"):
        NotifySettings(dev_smtp_sink=True)
    assert NotifySettings().webhook_allow_http is False
    monkeypatch.setenv("EPROC_ENV", "development")
    dev = NotifySettings(dev_smtp_sink=True, dev_smtp_sink_port=2525, smtp_host="smtp.example", smtp_port=587)
    assert (dev.smtp_host, dev.smtp_port, dev.smtp_tls) == ("127.0.0.1", 2525, "none")
