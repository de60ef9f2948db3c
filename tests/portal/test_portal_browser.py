"""The portal in headless Chromium (Debian's /usr/bin/chromium driven by Playwright) on the real stack:
search, open a package, switch language, watch a red flag arrive live on the dashboard, reach the search
field by keyboard; screenshots of the main pages at phone and desktop widths."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from portal_data import announced_tender, join_and_bid, open_after_deadline, verified_vendor

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)", allow_module_level=True)

RunningStack = Any


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def tender(stack: RunningStack) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    vendor = verified_vendor(stack, f"PT Browser Makmur {tag}")
    package = announced_tender(stack, f"Renovasi Pasar Browser {tag}", deadline_in_s=14)
    join_and_bid(stack, package, vendor, 780_000_000)
    return {"tag": tag, "vendor": vendor, "package": package}


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_search_open_switch_language_and_live_red_flag(
    stack: RunningStack, browser: Any, tender: dict[str, Any]
) -> None:
    package = tender["package"]
    context = browser.new_context(base_url=stack.base_url, viewport=DESKTOP, locale="id-ID")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/portal")
    shoot(page, "home-desktop")
    page.get_by_label("Cari paket pengadaan").fill(tender["tag"])
    page.get_by_role("button", name="Cari").click()
    page.wait_for_url("**/portal/pengumuman?q=*")
    shoot(page, "announcements-desktop")
    page.get_by_role("link", name=package.name).click()
    page.wait_for_url(f"**/portal/pengumuman/{package.package_id}")
    assert page.locator("h1").inner_text() == package.name
    assert page.locator("html").get_attribute("lang") == "id"
    assert "Rp 800.000.000" in page.get_by_test_id("hps").inner_text()
    shoot(page, "package-desktop")

    page.get_by_test_id("lang-switch").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Schedule", exact=True).is_visible()
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Dashboard").click()
    page.wait_for_url("**/portal/dasbor")
    assert page.locator("html").get_attribute("lang") == "en", "the language is kept by the cookie"
    page.get_by_test_id("lang-switch").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "id"

    opd = stack.accounts["ppk"]["opd_id"]
    page.goto(f"/portal/dasbor?year={datetime.now(UTC).year}&opd_id={opd}")
    page.wait_for_selector("section.live-flags[data-live='on']")  # the EventSource is connected
    assert page.locator("svg.chart").count() >= 3
    shoot(page, "dashboard-desktop")
    open_after_deadline(stack, package)  # one bid only: the audit service raises a single-bidder flag
    arrived = page.locator(f"li[data-flag-id]:has(a[href='/portal/pengumuman/{package.package_id}'])")
    arrived.wait_for(timeout=20_000)
    assert "Penawar tunggal" in arrived.inner_text()
    context.close()


def test_keyboard_reaches_the_search_field_with_visible_focus(stack: RunningStack, browser: Any) -> None:
    context = browser.new_context(base_url=stack.base_url, viewport=DESKTOP)
    page = context.new_page()
    page.goto("/portal/pengumuman")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip", "the skip link comes first"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    assert page.evaluate("document.activeElement.id") == "q", "the search field is reachable by keyboard"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid", "focus is visible"
    page.keyboard.type("Pasar")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=Pasar*")
    context.close()


def test_pages_fit_a_phone(stack: RunningStack, browser: Any, tender: dict[str, Any]) -> None:
    context = browser.new_context(base_url=stack.base_url, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    pages = {
        "home": "/portal",
        "announcements": f"/portal/pengumuman?q={tender['tag']}",
        "package": f"/portal/pengumuman/{tender['package'].package_id}",
        "vendor": f"/portal/penyedia/{tender['vendor'].vendor_id}",
        "dashboard": f"/portal/dasbor?year={datetime.now(UTC).year}",
        "audit": "/portal/audit",
    }
    for name, path in pages.items():
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, f"{name}: {response.status}"
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} scrolls sideways on a phone by {overflow}px"
        shoot(page, f"{name}-phone")
    context.close()
