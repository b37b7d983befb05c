"""The device admin page in a real Chromium: "SDC monitors found" lists a real
provider discovered on `lo`, and the Bind button binds it to a monitor."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.admin.test_admin_page import page_for
from tests.sdc.conftest import StartProvider, found
from tests.sdc.test_consumer import series
from tests.support import ADMIN, Api, ServerProcess, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_admin_binds_a_discovered_sdc_monitor(
    browser: Any, sdc_server: ServerProcess, sdc_api: Api, start_provider: StartProvider
) -> None:
    p = start_provider("SDC-PAGE", "--bed", "3")
    await found(sdc_api, p.epr)
    device, session = await sdc_api.monitored()
    page = await page_for(browser, sdc_server, ADMIN, "/admin")
    await page.click('[data-tab="devices"]')
    section = page.get_by_test_id("sdc-found")
    await expect(section).to_contain_text("SDC monitors found")
    row = section.locator(f'tr[data-epr="{p.epr}"]')
    await expect(row).to_contain_text("VitalWatch Simulators")
    await expect(row).to_contain_text("SDC-PAGE")
    await expect(row).to_contain_text("bed 3")
    await row.get_by_test_id("sdc-device-SDC-PAGE").select_option(str(device["id"]))
    await row.get_by_test_id("sdc-bind-SDC-PAGE").click()
    await expect(page.locator("#notice")).to_contain_text("SDC monitor SDC-PAGE bound to")
    await expect(row).to_contain_text(f"bound to {device['name']}")
    await expect(row).to_contain_text("connected", timeout=20_000)
    assert await wait_for(lambda: series(sdc_api, session["id"], "hr"), timeout=20)
    assert page.problems == []  # type: ignore[attr-defined]
    await page.close()
