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


async def test_admin_edits_a_staff_profile_and_the_clinic(
    browser: Any, server: ServerProcess, api: Api, shot: Any
) -> None:
    page = await page_for(browser, server, ADMIN, "/admin")
    row = page.locator(f'tr[data-user="{NURSE[0]}"]')
    await row.get_by_role("button", name="Edit profile").click()
    form = page.locator("#profile-form")
    await form.locator("[name=given_name]").fill("Sam")
    await form.locator("[name=family_name]").fill("Patel")
    await form.locator("[name=credentials]").fill("RN")
    await form.locator("[name=phone]").fill("call me")
    await form.locator("[name=email]").fill("sam.patel@harbour.example")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#error")).to_contain_text("phone")  # the API names it
    await form.locator("[name=phone]").fill("+1 207 555 0100")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#notice")).to_contain_text("Sam Patel, RN")
    await expect(row.locator("[data-cell=signature]")).to_have_text("Sam Patel, RN")
    await expect(row).to_contain_text("sam.patel@harbour.example")

    await page.get_by_role("button", name="Clinic").click()
    await expect(page.get_by_test_id("clinic-zone")).to_have_text("UTC")
    clinic = page.locator("#clinic-form")
    for name, value in (
        ("name", "Harbour Mental Health Clinic"),
        ("address1", "12 Quay Street"),
        ("city", "Portland"),
        ("state", "ME"),
        ("zip", "04101"),
        ("vitals_interval_min", "10"),
    ):
        await clinic.locator(f"[name={name}]").fill(value)
    await clinic.locator("button[type=submit]").click()
    await expect(page.locator("#notice")).to_contain_text("clinic profile saved")
    await expect(page.locator("#clinic-updated")).to_contain_text("Last saved by admin")
    await shot(page, "admin-clinic.png")
    saved = (await api.http.get("/api/v1/clinic", headers=await api.auth())).json()
    assert (saved["name"], saved["zip"], saved["vitals_interval_min"]) == (
        "Harbour Mental Health Clinic",
        "04101",
        10,
    )
    users = (await api.http.get("/api/v1/users", headers=await api.auth(ADMIN))).json()
    nurse = next(u for u in users if u["username"] == NURSE[0])
    assert (nurse["given_name"], nurse["credentials"], nurse["phone"]) == (
        "Sam",
        "RN",
        "+1 207 555 0100",
    )
    assert page.problems == []  # type: ignore[attr-defined]
