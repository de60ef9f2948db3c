"""The portal's pages over HTTP, on the real stack, with data created through the gateway."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from portal_data import (
    WAIT_S,
    announced_tender,
    join_and_bid,
    open_after_deadline,
    signed_contract_with_amendment,
    verified_vendor,
)

RunningStack = Any


@pytest.fixture(scope="module")
def world(stack: RunningStack) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    client, pokja = stack.client, stack.as_role("pokja")
    vendor = verified_vendor(stack, f"CV Portal Jaya {tag}")
    first = announced_tender(stack, f"Pembangunan Jembatan Portal {tag}", deadline_in_s=10)
    second = announced_tender(stack, f"Perbaikan Jalan Portal {tag}", deadline_in_s=3600)
    join_and_bid(stack, first, vendor, 700_000_000)
    base = f"/api/tender/packages/{first.package_id}"
    asked = client.post(
        f"{base}/questions", json={"question": f"Apakah mutu beton K-300 {tag}?"}, headers=vendor.headers
    )
    assert asked.status_code in (200, 201), asked.text
    answered = client.post(
        f"{base}/questions/{asked.json()['id']}/answer", json={"answer": f"Ya, mutu K-300 {tag}."}, headers=pokja
    )
    assert answered.status_code in (200, 201), answered.text
    later = {
        s: stack.window(*(datetime.fromisoformat(w[k]) + timedelta(days=1) for k in ("starts_at", "ends_at")))
        for s, w in first.extra["stages"].items()
        if s in ("evaluation", "winner_announcement")
    }
    later["evaluation"]["starts_at"] = first.extra["stages"]["evaluation"]["starts_at"]
    amended = client.post(
        f"{base}/addenda", json={"reason": f"Evaluasi diperpanjang {tag}", "stages": later}, headers=pokja
    )
    assert amended.status_code in (200, 201), amended.text
    contract = signed_contract_with_amendment(stack, vendor, f"Pengadaan Ambulans Portal {tag}")
    open_after_deadline(stack, first)
    return {"tag": tag, "vendor": vendor, "first": first, "second": second, "contract": contract}


def html(stack: RunningStack, path: str, status: int = 200, **kwargs: Any) -> str:
    answer = stack.client.get(path, **kwargs)
    assert answer.status_code == status, answer.text[-2000:]
    assert answer.headers["content-type"].startswith("text/html")
    assert "Traceback" not in answer.text
    return answer.text


def test_announcements_search_filters_and_cursor_paging(stack: RunningStack, world: dict[str, Any]) -> None:
    tag = world["tag"]
    page = html(stack, "/portal/pengumuman", params={"q": tag})
    assert '<html lang="id">' in page
    assert world["first"].name in page
    assert world["second"].name in page
    assert f'href="/portal/pengumuman/{world["first"].package_id}"' in page
    assert "Rp 800.000.000" in page, "HPS in Indonesian grouping"
    assert world["first"].name not in html(stack, "/portal/pengumuman", params={"q": tag, "method": "seleksi"})
    assert world["first"].name in html(stack, "/portal/pengumuman", params={"q": tag, "method": "tender",
        "procurement_type": "pekerjaan_konstruksi", "opd_id": stack.accounts["ppk"]["opd_id"],
        "fiscal_year": str(datetime.now(UTC).year)})  # fmt: skip
    closed = html(stack, "/portal/pengumuman", params={"q": tag, "status": "announced"})
    assert world["second"].name in closed

    first_page = html(stack, "/portal/pengumuman", params={"q": tag, "limit": "1"})
    following = re.search(r'href="([^"]*cursor=[^"]*)" rel="next"', first_page)
    assert following, "a next-page link carries the cursor"
    second_page = html(stack, unquote(following.group(1).replace("&amp;", "&")))
    names = {world["first"].name, world["second"].name}
    assert {n for n in names if n in first_page.split("search.results")[-1]} != set()
    assert any(n in second_page for n in names)
    assert 'rel="next"' not in second_page, "two packages, one per page"
    assert "Halaman pertama" in second_page

    bad = html(stack, "/portal/pengumuman", 400, params={"fiscal_year": "abc"})
    assert "Tahun anggaran harus angka" in bad
    short = html(stack, "/portal/pengumuman", 400, params={"q": "x"})
    assert 'aria-invalid="true"' in short


def test_package_page_shows_schedule_changes_participants_qa_prices_and_flags(
    stack: RunningStack, world: dict[str, Any]
) -> None:
    tag, first, vendor = world["tag"], world["first"], world["vendor"]
    page = html(stack, f"/portal/pengumuman/{first.package_id}")
    assert first.name in page
    assert "Pembukaan penawaran" in page
    assert "WIB" in page, "stages labelled in Bahasa, times in Jakarta"
    assert f"Evaluasi diperpanjang {tag}" in page, "the addendum and its reason"
    assert f'href="/portal/penyedia/{vendor.vendor_id}"' in page
    assert vendor.name in page
    assert f"Apakah mutu beton K-300 {tag}?" in page
    assert f"Ya, mutu K-300 {tag}." in page
    assert "Rp 700.000.000" in page
    assert "87,50 %" in page, "the opened price and its share of HPS"
    assert "Rp 950.000.000" in page, "pagu"
    ocds = re.search(r'href="(/api/audit/public/ocds/records/[^"]+)"', page)
    assert ocds, "a link to the OCDS record"
    # The audit service learns of the opening over Kafka: the single-bidder flag shows once it is raised.
    flagged = stack.eventually(
        lambda: "Penawar tunggal" in (p := html(stack, f"/portal/pengumuman/{first.package_id}")) and p, WAIT_S
    )
    assert "Red flag" in flagged
    assert ocds.group(1).endswith(first.package_id)
    assert stack.eventually(lambda: stack.client.get(ocds.group(1)).status_code == 200, WAIT_S)


def test_language_switch_by_query_and_cookie(stack: RunningStack, world: dict[str, Any]) -> None:
    path = f"/portal/pengumuman/{world['first'].package_id}"
    browser = httpx.Client(base_url=stack.base_url, timeout=30)  # a cookie jar of its own
    answer = browser.get(path, params={"lang": "en"})
    assert answer.status_code == 200
    assert '<html lang="en">' in answer.text
    assert "Bid opening" in answer.text
    assert "portal_lang=en" in answer.headers["set-cookie"]
    assert 'href="/portal/pengumuman/' in answer.text
    assert "lang=id" in answer.text, "the switch back"
    again = browser.get("/portal/dasbor")
    assert '<html lang="en">' in again.text
    assert "Governance dashboard" in again.text
    browser.cookies.set("portal_lang", "xx")
    assert '<html lang="id">' in browser.get("/portal/dasbor").text, "an unknown language falls back to Bahasa"
    browser.close()


def test_unknown_ids_and_paths_are_html_404s(stack: RunningStack, world: dict[str, Any]) -> None:
    missing = ("/portal/pengumuman/no-such-package", "/portal/penyedia/no-such-vendor", "/portal/kontrak/no-such-one",
               "/portal/no-such-page", "/portal/static/..%2FREADME.md")  # fmt: skip
    for path in missing:
        page = html(stack, path, 404)
        assert "404" in page
        assert "tidak ditemukan" in page


def test_vendor_profile_search_and_blacklist(stack: RunningStack, world: dict[str, Any]) -> None:
    vendor = world["vendor"]
    profile = stack.eventually(
        lambda: (r := stack.client.get(f"/portal/penyedia/{vendor.vendor_id}")).status_code == 200 and r, WAIT_S
    )
    assert vendor.name in profile.text
    assert "Tidak masuk daftar hitam" in profile.text
    assert "41011" in profile.text
    assert "vendor.example" not in profile.text, "contacts are private"
    found = html(stack, "/portal/penyedia", params={"q": vendor.name})
    assert f'href="/portal/penyedia/{vendor.vendor_id}"' in found
    assert "Daftar hitam penyedia" in html(stack, "/portal/daftar-hitam", params={"include_past": "1"})


def test_contract_page_value_progress_and_amendments(stack: RunningStack, world: dict[str, Any]) -> None:
    contract_id = world["contract"]["contract_id"]
    path = f"/portal/kontrak/{contract_id}"
    page = stack.eventually(lambda: (r := stack.client.get(path)).status_code == 200 and r, WAIT_S).text
    assert "Rp 900.000.000" in page
    assert "Rp 945.000.000" in page
    assert "Tambahan peralatan medis" in page
    assert "5,00 %" in page, "the amendment, 5 % of the original value"
    assert "Mulai kerja (SPMK)" in page
    assert 'value="40"' in page, "the milestone's latest progress report"
    assert "Unit pertama tiba" not in page, "progress notes stay with the parties"
    listing = html(stack, "/portal/kontrak", params={"opd_id": stack.accounts["ppk"]["opd_id"], "limit": "100"})
    assert f'href="/portal/kontrak/{contract_id}"' in listing


def test_dashboard_per_opd_and_year_with_charts_and_flags(stack: RunningStack, world: dict[str, Any]) -> None:
    opd, year = stack.accounts["ppk"]["opd_id"], datetime.now(UTC).year
    page = stack.eventually(
        lambda: (
            "Penawar tunggal" in (p := stack.client.get("/portal/dasbor", params={"year": year, "opd_id": opd}).text)
            and p
        ),
        WAIT_S,
    )
    assert 'role="img"' in page
    assert "<svg" in page, "server-rendered charts"
    assert "Efisiensi terhadap HPS" in page
    assert "Tender" in page
    assert 'data-stream="/api/audit/public/red-flags/stream?after=' in page
    city = html(stack, "/portal/dasbor", params={"year": year})
    assert f"opd_id={opd}" in city
    assert "Belum ada data" in html(stack, "/portal/dasbor", 404, params={"year": 2001, "opd_id": "nowhere"})


def test_audit_page_checkpoint_key_and_how_to_verify(stack: RunningStack, world: dict[str, Any]) -> None:
    signed = stack.client.post("/api/audit/checkpoints", headers=stack.as_role("admin"))
    assert signed.status_code in (200, 201), signed.text
    checkpoint = signed.json()
    page = html(stack, "/portal/audit")
    assert checkpoint["head_hash"] in page
    assert checkpoint["key_id"] in page
    assert f"/api/audit/public/keys/{checkpoint['key_id']}.pem" in page
    assert "make verify-audit" in page
    assert "/api/audit/verify" in page


def test_home_and_open_data_link_ocds_and_asyncapi(stack: RunningStack, world: dict[str, Any]) -> None:
    home = html(stack, "/portal")
    assert 'class="skip" href="#main"' in home
    assert 'id="main"' in home
    assert 'href="/asyncapi.json"' in home
    assert 'href="/api/audit/public/ocds/records"' in home
    data = html(stack, "/portal/data")
    assert "/api/audit/public/ocds/releases" in data
    assert "/api/audit/public/events" in data
    css = stack.client.get("/portal/static/portal.css")
    assert css.status_code == 200
    assert "immutable" in css.headers["cache-control"]
