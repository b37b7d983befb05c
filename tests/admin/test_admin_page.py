"""The administration page in a real Chromium: admin only, staff, monitors,
audit log; no CSP violation on it or on the central station."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.support import ADMIN, NURSE, Api, ServerProcess, login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


async def page_for(browser: Any, server: ServerProcess, who: tuple[str, str], path: str) -> Page:
    page: Page = await browser.new_page(viewport={"width": 1500, "height": 1000})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("dialog", lambda d: d.accept())
    page.problems = problems  # type: ignore[attr-defined]
    await page.goto(server.url + path)
    await page.fill("#username", who[0])
    await page.fill("#password", who[1])
    await page.click("#login-form button[type=submit]")
    return page


async def test_a_nurse_is_turned_away(browser: Any, server: ServerProcess) -> None:
    page = await page_for(browser, server, NURSE, "/admin")
    await expect(page.get_by_test_id("forbidden")).to_contain_text("needs the admin role")
    await expect(page.locator("#app-view")).to_be_hidden()


async def test_admin_manages_staff_monitors_and_reads_the_audit_log(
    browser: Any, server: ServerProcess, api: Api
) -> None:
    page = await page_for(browser, server, ADMIN, "/admin")
    await expect(page.locator("#whoami")).to_have_text("admin (admin)")

    # staff: create (the policy speaks), disable
    form = page.locator("#user-form")
    await form.locator("[name=username]").fill("night.nurse")
    await form.locator("[name=password]").fill("Night.Nurse1")  # mostly the user name
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#error")).to_contain_text("Password refused")
    await form.locator("[name=password]").fill("Lantern-harbour-81")
    await form.locator("button[type=submit]").click()
    row = page.locator('tr[data-user="night.nurse"]')
    await expect(row).to_contain_text("active")
    assert (await login(api, ("night.nurse", "Lantern-harbour-81"))).status_code == 200
    await row.get_by_role("button", name="Disable").click()
    await expect(row).to_contain_text("disabled")
    assert (await login(api, ("night.nurse", "Lantern-harbour-81"))).status_code == 401

    # monitors: register (token shown once), rename, retire
    await page.get_by_role("button", name="Monitors").click()
    await page.locator("#device-form [name=name]").fill("Bay 21 monitor")
    await page.locator("#device-form button[type=submit]").click()
    await expect(page.get_by_test_id("device-token")).to_contain_text("vwd_")
    token = await page.get_by_test_id("device-token").text_content()
    assert token is not None
    await page.locator("#token-done").click()
    await expect(page.get_by_test_id("device-token")).to_be_hidden()
    device_row = page.locator("#devices tr", has_text="in service").last
    device_id = await device_row.get_attribute("data-device")
    await device_row.locator("input").fill("Bay 21 (window)")
    await device_row.get_by_role("button", name="Rename").click()
    await expect(page.locator("#notice")).to_contain_text("renamed to Bay 21 (window)")
    row = page.locator(f'tr[data-device="{device_id}"]')
    await row.get_by_role("button", name="Retire").click()
    await expect(page.locator("#notice")).to_contain_text("retired")
    await expect(row).to_be_hidden()
    r = await api.post(token, [{"seq": 1, "hr": 70}])
    assert r.status_code == 401

    # the audit log, filtered
    await page.get_by_role("button", name="Audit log").click()
    await page.locator("#audit-form [name=action]").fill("device.")
    await page.locator("#audit-form button[type=submit]").click()
    await expect(page.locator('#audit tr[data-action="device.retire"]')).to_have_count(1)
    await expect(page.locator('#audit tr[data-action="user.create"]')).to_have_count(0)
    async with page.expect_download() as download:
        await page.locator("#audit-csv").click()
    path = await (await download.value).path()
    assert "device.retire" in path.read_text()
    assert page.problems == []  # type: ignore[attr-defined]


async def test_the_central_station_runs_under_the_csp(browser: Any, server: ServerProcess) -> None:
    page = await page_for(browser, server, NURSE, "/")
    await expect(page.get_by_test_id("link-status")).to_have_text("live")
    assert page.problems == []  # type: ignore[attr-defined]
