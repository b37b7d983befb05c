"""The dashboard in a real Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect

from tests.support import NURSE, Api, ServerProcess, Shot, SignIn, now_utc, samples

pytestmark = pytest.mark.browser


async def test_wrong_password_is_shown(browser: Browser, server: ServerProcess) -> None:
    page = await browser.new_page()
    await page.goto(server.url + "/")
    await page.fill("#username", NURSE[0])
    await page.fill("#password", "wrong-password")
    await page.click("button[type=submit]")
    await expect(page.locator("#login-error")).to_contain_text("Incorrect username or password")


async def test_tile_updates_alarm_appears_and_is_acknowledged(
    sign_in: SignIn, server: ServerProcess, api: Api, shot: Shot
) -> None:
    device, session = await api.monitored("esketamine-in")
    page = await sign_in(server.url)
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
    await expect(tile.get_by_test_id("spo2")).to_contain_text("85")  # next vitals frame
    assert await page.locator("#chrome").evaluate(
        "el => [...el.childNodes].every((n) => n.nodeType === 1)"
    ), "stray text in the page frame"
    await shot(page, "dashboard.png")

    await page.get_by_test_id(f"ack-{alarm['id']}").click()
    await expect(row).to_contain_text("acknowledged by nurse")
    await expect(page.get_by_test_id(f"ack-{alarm['id']}")).to_have_text("Acknowledged ✓")
    state = (
        await api.http.get(
            "/api/v1/alarms", params={"session_id": session["id"]}, headers=await api.auth()
        )
    ).json()[0]
    assert state["state"] == "acknowledged" and state["acked_by"] == "nurse"

    # silence from the page: the countdown is visible
    await page.get_by_test_id(f"silence-{alarm['id']}").click()
    await expect(row).to_contain_text("audio paused")

    # the session page: charts, timeline, limits; the ward stays in its strip
    await tile.click()
    await expect(page).to_have_url(f"{server.url}/sessions/{session['id']}")
    await expect(page.locator("#sv-charts .uplot")).to_have_count(4)
    await expect(page.get_by_test_id(f"chip-{session['id']}")).to_contain_text("HIGH")
    # every chart draws every limit in force, inside its range (DBP and MAP too)
    expected = {
        "hr": "HR 40,HR 50,HR 120,HR 140",
        "bp": "SBP 80,SBP 90,SBP 160,SBP 180,DBP 100,DBP 110,MAP 60,MAP 65",
        "spo2": "SpO2 88,SpO2 92",
        "rr": "RR 6,RR 8,RR 24,RR 30",
    }
    for key, limits in expected.items():
        chart = page.get_by_test_id(f"chart-{key}")
        await expect(chart).to_have_attribute("data-limits", limits)
        await expect(chart).to_have_attribute("data-limits-drawn", limits)
    # 24-hour clock times whatever the browser's locale; protocols in words
    times = await page.evaluate(
        """() => import('/static/js/format.js').then((f) => {
             const t = new Date(2026, 0, 1, 15, 4, 5);
             return [f.clock(t), f.clock(t, false)];
        })"""
    )
    assert times == ["15:04:05", "15:04"]
    await expect(page.locator("#sv-summary")).to_contain_text("Esketamine nasal spray")
    await shot(page, "session-view.png")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_threshold_error_is_shown_next_to_the_field_in_words(
    sign_in: SignIn, server: ServerProcess, api: Api, shot: Shot
) -> None:
    _, session = await api.monitored()
    page = await sign_in(server.url)
    await page.get_by_test_id(f"tile-{session['id']}").click()
    field = page.locator('input[name="hr.high"]')
    await field.fill("150")  # above critical_high 140
    await page.get_by_test_id("save-limits").click()
    error = page.get_by_test_id("limits-error")
    await expect(error).to_have_text(
        "Heart rate: high limit (150) must be below high-priority high limit (140)"
    )
    await expect(field).to_have_class("invalid")
    await shot(page, "limit-error.png")


async def test_start_session_from_the_page(
    sign_in: SignIn, server: ServerProcess, api: Api
) -> None:
    device = await api.device("Bay 12 monitor")
    page = await sign_in(server.url)
    await page.click("#new-session")
    await page.fill("#start-form input[name=ref]", "MRN-PAGE-1")
    await page.fill("#start-form input[name=display_name]", "J. Page")
    await page.fill("#start-form input[name=room]", "Room 12")
    await page.check(f"#free-devices input[value='{device['id']}']")
    await page.click("#start-form button[type=submit]")
    await expect(page.locator(".tile", has_text="Room 12")).to_contain_text("J. Page")


async def test_connection_lost_banner_when_the_server_stops(
    sign_in: SignIn, new_server: Callable[..., ServerProcess]
) -> None:
    server = new_server()
    server.start()
    page = await sign_in(server.url)
    banner = page.get_by_test_id("connection-banner")
    await expect(banner).to_be_hidden()
    server.stop()
    await expect(banner).to_be_visible(timeout=10_000)
    await expect(banner).to_contain_text("alarms are NOT being received")
    server.start()  # it comes back: the page reconnects by itself
    await expect(banner).to_be_hidden(timeout=15_000)
    await expect(page.get_by_test_id("link-status")).to_have_text("live")
