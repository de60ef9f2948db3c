"""The portal inside the gateway: language, error pages with the right status, and its formatting rules.
Pages with real data are tested on the real stack in tests/portal/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from eproc_gateway.portal import charts, formatting, i18n


def test_money_is_integer_rupiah_with_indonesian_grouping() -> None:
    assert formatting.rupiah(1_250_000) == "Rp 1.250.000"
    assert formatting.rupiah(0) == "Rp 0"
    assert formatting.rupiah(-45_000_000) == "\u2212Rp 45.000.000"
    assert formatting.rupiah(12.5) == "\u2013", "a float is never shown as money"
    assert formatting.rupiah(None) == "\u2013"


def test_shares_in_basis_points_per_language() -> None:
    assert formatting.share_bp(700_000_000, 800_000_000) == 8750
    assert formatting.share_bp(1, 3) == 3333
    assert formatting.share_bp(2, 3) == 6667, "half away from zero"
    assert formatting.share_bp(5, 0) is None
    assert formatting.basis_points(1580, "id") == "15,80 %"
    assert formatting.basis_points(1580, "en") == "15.80%"
    assert formatting.basis_points(-5, "id") == "\u22120,05 %"


def test_times_are_shown_in_asia_jakarta() -> None:
    instant = datetime(2025, 3, 12, 7, 5, tzinfo=UTC)
    assert formatting.jakarta_time(instant, "id") == "12 Mar 2025 14:05 WIB"
    assert formatting.jakarta_time("2025-08-31T20:30:00Z", "id") == "1 Sep 2025 03:30 WIB", "next day in Jakarta"
    assert formatting.jakarta_time("2025-05-01T00:00:00+00:00", "en") == "1 May 2025 07:00 WIB"
    assert formatting.iso_jakarta("2025-05-01T00:00:00+00:00") == "2025-05-01T07:00:00+07:00"
    assert formatting.calendar_date("2026-08-17", "id") == "17 Agu 2026"
    assert formatting.jakarta_time("not a time", "id") == "\u2013"


def test_both_languages_have_every_string() -> None:
    assert set(i18n.ID) == set(i18n.EN)
    assert all(i18n.ID[k] and i18n.EN[k] for k in i18n.ID)
    for kind in i18n.CODES.values():
        assert all(len(pair) == 2 and all(pair) for pair in kind.values())
    assert i18n.pick(None, None) == "id", "Bahasa Indonesia first"
    assert i18n.pick("en", "id") == "en"
    assert i18n.pick(None, "en") == "en"
    assert i18n.pick("fr", None) == "id"
    assert i18n.labeller("en")("method", "pengadaan_langsung") == "Direct procurement"
    assert i18n.labeller("id")("status", "some_new_status") == "some_new_status", "unknown codes show as sent"


def test_charts_are_accessible_svg_with_escaped_labels() -> None:
    svg = charts.bar_chart("Nilai <per> metode", [charts.Bar("<script>x</script>", (5, 0))], series=("A", "B"))
    assert isinstance(svg, Markup)
    assert 'role="img"' in svg
    assert "<title" in svg
    assert "<desc" in svg
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


async def test_language_by_query_and_cookie_with_a_switch_link(make_stack: Any) -> None:
    stack = await make_stack()
    first = await stack.client.get("/portal/data")
    assert first.status_code == 200
    assert '<html lang="id">' in first.text
    assert 'href="/portal/data?lang=en"' in first.text
    english = await stack.client.get("/portal/data", params={"lang": "en"})
    assert '<html lang="en">' in english.text
    assert "portal_lang=en" in english.headers["set-cookie"]
    assert english.headers["content-language"] == "en"
    assert "Cookie" in english.headers["vary"]
    again = await stack.client.get("/portal/data")  # the client keeps the cookie
    assert '<html lang="en">' in again.text
    assert 'href="/asyncapi.json"' in again.text


async def test_upstream_errors_become_html_pages_with_their_status(make_stack: Any) -> None:
    stack = await make_stack(breaker_failure_threshold=2)
    # The test service answers anything with a small JSON object: not a package, so the service is at fault.
    garbled = await stack.client.get("/portal/pengumuman/some-package")
    assert garbled.status_code == 503
    assert garbled.headers["content-type"].startswith("text/html")
    unknown = await stack.client.get("/portal/no/such/page")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")
    bad = await stack.client.get("/portal/pengumuman", params={"fiscal_year": "20x5"})
    assert bad.status_code == 400
    assert "Tahun anggaran" in bad.text

    await stack.upstreams["tender"].stop()
    for _ in range(3):  # unreachable twice, then the open circuit answers at once: a 503 page each time
        down = await stack.client.get("/portal/pengumuman")
        assert down.status_code == 503
        assert down.headers["content-type"].startswith("text/html")
        assert down.headers["retry-after"]
        assert "tender" in down.text
        assert "Traceback" not in down.text
    assert stack.app.state.proxy.upstreams["tender"].breaker.state == "open"


async def test_static_files_are_served_with_long_caching_and_nothing_else(make_stack: Any) -> None:
    stack = await make_stack()
    css = await stack.client.get("/portal/static/portal.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"]
    assert (await stack.client.get("/portal/static/..%2Fpages.py")).status_code == 404
    assert (await stack.client.get("/portal/static/pages.py")).status_code == 404
