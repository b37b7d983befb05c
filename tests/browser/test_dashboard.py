"""The dashboard in a real Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support import NURSE, Api, ServerProcess, now_utc, samples

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Screenshots for the README are refreshed only on request, so a test run
#: leaves the tree as it was: VITALWATCH_UPDATE_SCREENSHOTS=1 make unit
DOCS = Path(__file__).resolve().parents[2] / "docs"
UPDATE_SCREENSHOTS = os.environ.get("VITALWATCH_UPDATE_SCREENSHOTS") == "1"


async def screenshot(page: Page, name: str, tmp: Path) -> None:
    await page.screenshot(path=str((DOCS if UPDATE_SCREENSHOTS else tmp) / name))


pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def backend() -> str:
    """The page does not depend on the database: one backend is enough here."""
    return "sqlite"


async def signed_in(browser: Browser, url: str) -> Page:
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(url + "/")
    await page.fill("#username", NURSE[0])
    await page.fill("#password", NURSE[1])
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("link-status")).to_have_text("live")
    return page


async def test_wrong_password_is_shown(browser: Browser, server: ServerProcess) -> None:
    page = await browser.new_page()
    await page.goto(server.url + "/")
    await page.fill("#username", NURSE[0])
    await page.fill("#password", "wrong-password")
    await page.click("button[type=submit]")
    await expect(page.locator("#login-error")).to_contain_text("Incorrect username or password")


async def test_tile_updates_alarm_appears_and_is_acknowledged(
    browser: Browser, server: ServerProcess, api: Api, tmp_path: Path
) -> None:
    device, session = await api.monitored("esketamine-in")
    page = await signed_in(browser, server.url)
    tile = page.get_by_test_id(f"tile-{session['id']}")
    await expect(tile).to_be_visible()

    t0 = now_utc() - timedelta(seconds=30)
    await api.post(device["token"], samples(t0, 5, hr=76, spo2=97, rr=14))
    await expect(tile.get_by_test_id("hr")).to_contain_text("76")
    await expect(tile.get_by_test_id("spo2")).to_contain_text("97")
    await expect(tile.get_by_test_id("alarm-label")).to_have_text("OK")

    # desaturation for 16 s: a high-priority alarm on the tile and in the list
    await api.post(device["token"], samples(t0 + timedelta(seconds=5), 17, seq0=5, spo2=85, hr=80))
    await expect(tile.get_by_test_id("alarm-label")).to_have_text("HIGH ALARM")
    alarm = (
        await api.http.get(
            "/api/v1/alarms", params={"session_id": session["id"]}, headers=await api.auth()
        )
    ).json()[0]
    row = page.get_by_test_id(f"alarm-{alarm['id']}")
    await expect(row).to_contain_text("SpO2 85% below 88%")
    await screenshot(page, "dashboard.png", tmp_path)

    await page.get_by_test_id(f"ack-{alarm['id']}").click()
    await expect(row).to_contain_text("acknowledged by nurse")
    state = (
        await api.http.get(
            "/api/v1/alarms", params={"session_id": session["id"]}, headers=await api.auth()
        )
    ).json()[0]
    assert state["state"] == "acknowledged" and state["acked_by"] == "nurse"

    # silence from the page: the countdown is visible
    await page.get_by_test_id(f"silence-{alarm['id']}").click()
    await expect(row).to_contain_text("audio paused")

    # the session view: charts, timeline, limits
    await tile.click()
    await expect(page.locator("#sv-charts .uplot")).to_have_count(4)
    await screenshot(page, "session-view.png", tmp_path)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_threshold_error_is_shown_next_to_the_field(
    browser: Browser, server: ServerProcess, api: Api
) -> None:
    _, session = await api.monitored()
    page = await signed_in(browser, server.url)
    await page.get_by_test_id(f"tile-{session['id']}").click()
    field = page.locator('input[name="hr.high"]')
    await field.fill("150")  # above critical_high 140
    await page.click("#thresholds-form button[type=submit]")
    await expect(page.locator("#thresholds-error")).to_contain_text("must be below")
    await expect(field).to_have_class("invalid")


async def test_start_session_from_the_page(
    browser: Browser, server: ServerProcess, api: Api
) -> None:
    device = await api.device("Bay 12 monitor")
    page = await signed_in(browser, server.url)
    await page.click("#new-session")
    await page.fill("#start-form input[name=ref]", "MRN-PAGE-1")
    await page.fill("#start-form input[name=display_name]", "J. Page")
    await page.fill("#start-form input[name=room]", "Room 12")
    await page.check(f"#free-devices input[value='{device['id']}']")
    await page.click("#start-form button[type=submit]")
    await expect(page.locator(".tile", has_text="Room 12")).to_contain_text("J. Page")


async def test_connection_lost_banner_when_the_server_stops(
    browser: Browser, new_server: Callable[..., ServerProcess]
) -> None:
    server = new_server()
    server.start()
    page = await signed_in(browser, server.url)
    banner = page.get_by_test_id("connection-banner")
    await expect(banner).to_be_hidden()
    server.stop()
    await expect(banner).to_be_visible(timeout=10_000)
    await expect(banner).to_contain_text("alarms are NOT being received")
    server.start()  # it comes back: the page reconnects by itself
    await expect(banner).to_be_hidden(timeout=15_000)
    await expect(page.get_by_test_id("link-status")).to_have_text("live")
