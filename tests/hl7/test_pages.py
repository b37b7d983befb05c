"""The pages in a real Chromium: typed-in vitals (js/manual-entry.js on /manual)
and the unassigned HL7 monitors (/admin/hl7)."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from simulators.hl7 import Identity, MllpClient, ack_code, oru_r01

from tests.support import ADMIN, NURSE, Api, ServerProcess, iso, mllp_port, now_utc, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"  # the pages do not depend on the database


@pytest.fixture
async def api(hl7_server: ServerProcess) -> AsyncIterator[Api]:
    client = Api(hl7_server.url)
    yield client
    await client.aclose()


async def page_as(browser: Browser, url: str, who: tuple[str, str]) -> Page:
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    await page.fill('[data-testid="signin"] [name="username"]', who[0])
    await page.fill('[data-testid="signin"] [name="password"]', who[1])
    await page.press('[data-testid="signin"] [name="password"]', "Enter")
    return page


async def alarms(api: Api, session_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(
        "/api/v1/alarms", params={"session_id": session_id}, headers=await api.auth()
    )
    return list(r.json())


async def test_a_typed_bp_raises_the_same_alarm_as_a_devices(
    browser: Browser, api: Api, hl7_server: ServerProcess
) -> None:
    device, by_device = await api.monitored()
    _, typed = await api.monitored()
    r = await api.post(device["token"], [{"ts": iso(now_utc()), "seq": 1, "sbp": 204, "dbp": 122}])
    assert r.status_code == 202
    page = await page_as(browser, f"{hl7_server.url}/manual?session={typed['id']}", NURSE)
    bp = page.get_by_test_id("manual-bp")
    await expect(bp).to_be_focused()
    # Keystrokes: the values, Tab between fields, Enter saves.
    await page.keyboard.type("204/122")
    await page.keyboard.press("Tab")
    await page.keyboard.type("88")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("manual-status")).to_contain_text("Saved: BP 204/122 · HR 88")
    await expect(page.get_by_test_id("manual-list")).to_contain_text("typed in by nurse")
    mine, theirs = await alarms(api, typed["id"]), await alarms(api, by_device["id"])
    key = [(a["rule"], a["priority"], a["metric"], a["value"], a["message"]) for a in mine]
    assert key and key == [
        (a["rule"], a["priority"], a["metric"], a["value"], a["message"]) for a in theirs
    ]
    # An impossible value: the device's wording, at the field; nothing stored.
    await bp.fill("120/80")
    await page.get_by_test_id("manual-spo2").fill("130")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("manual-error-spo2")).to_contain_text("must be at most 100")
    await bp.fill("12080")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("manual-error-bp")).to_contain_text("120/80")
    # Strike out the typed BP: kept, marked.
    entries = (
        await api.http.get(
            f"/api/v1/sessions/{typed['id']}/manual-readings", headers=await api.auth()
        )
    ).json()
    assert len(entries) == 1
    await page.get_by_test_id(f"strike-{entries[0]['id']}").click()
    await page.get_by_test_id("strike-reason").fill("typo")
    await page.get_by_test_id("strike-confirm").click()
    await expect(page.get_by_test_id(f"manual-entry-{entries[0]['id']}")).to_contain_text(
        "struck by nurse: typo"
    )
    assert page.errors == []  # type: ignore[attr-defined]


async def test_unassigned_monitors_are_listed_and_registered_from_the_page(
    browser: Browser, api: Api, hl7_server: ServerProcess
) -> None:
    who = Identity("0012A5FFFEABCDEF", "WARD^^BED9")
    port = mllp_port(hl7_server)
    t = int(time.time()) - 5
    async with MllpClient("127.0.0.1", port) as c:
        assert (
            ack_code(await c.send(oru_r01("ihe", who, "1", t, {"hr": 70, "spo2": 97})))[0] == "AE"
        )
    page = await page_as(browser, f"{hl7_server.url}/admin/hl7", ADMIN)
    row = page.locator(f'tr[data-identifier="{who.eui64}"]')
    await expect(row).to_be_visible(timeout=10_000)
    await expect(row).to_contain_text("WARD^^BED9")
    await expect(row).to_contain_text("150456^MDC_PULS_OXIM_SAT_O2^MDC")
    await row.get_by_test_id("register-name").fill("Bed 9 monitor")
    await row.get_by_test_id("register").click()
    await expect(page.locator("#hl7-status")).to_contain_text("Registered Bed 9 monitor")
    await expect(row).to_have_count(0)
    devices = (await api.http.get("/api/v1/devices", headers=await api.auth())).json()
    device = next(d for d in devices if d["name"] == "Bed 9 monitor")
    assert device["hl7_ids"] == [who.eui64]
    await api.session([device["id"]])
    async with MllpClient("127.0.0.1", port) as c:
        assert ack_code(await c.send(oru_r01("ihe", who, "2", t + 1, {"hr": 71})))[0] == "AA"

    async def stored() -> Any:
        return await hl7_server.sql("SELECT hr FROM readings WHERE device_id=:d", d=device["id"])

    assert await wait_for(stored) == [(71.0,)]
    assert page.errors == []  # type: ignore[attr-defined]
