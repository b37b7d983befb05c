"""The admin page and the phone's acknowledge page in a real Chromium: create a
webhook target, send a test and see it arrive at the test's receiver, build
the chain, then acknowledge an escalated alarm from the link."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, expect

from tests.notify.peers import Receiver, escalate, just
from tests.support import ADMIN, NURSE, Api, ServerProcess, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def backend() -> str:
    """The pages do not depend on the database: one backend is enough here."""
    return "sqlite"


async def test_targets_page_test_button_chain_and_ack_link(
    chromium: Browser,
    notify_server: ServerProcess,
    napi: Api,
    receivers: Callable[..., Awaitable[Receiver]],
) -> None:
    hook = await receivers(secret="b" * 40)
    page = await chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(notify_server.url + "/notify")
    await page.fill("#username", ADMIN[0])
    await page.fill("#password", ADMIN[1])
    await page.click("#login-form button[type=submit]")
    await expect(page.get_by_test_id("secondary-note")).to_contain_text("primary alarm")

    form = page.get_by_test_id("target-form")
    await form.locator("input[name=name]").fill("Bedside pager")
    await form.locator("select[name=kind]").select_option("webhook")
    await form.locator("input[name=address]").fill(hook.url)
    await form.locator("input[name=secret]").fill(str(hook.secret))
    await form.locator("input[name=user]").fill(NURSE[0])
    await form.locator("button[type=submit]").click()
    row = page.get_by_test_id("targets").locator("tr", has_text="Bedside pager")
    await expect(row).to_contain_text(NURSE[0])
    target_id = int(str(await row.get_attribute("data-testid")).split("-")[1])

    await page.get_by_test_id(f"test-{target_id}").click()
    await expect(page.get_by_test_id(f"test-result-{target_id}")).to_have_text(
        "Delivered: HTTP 200"
    )
    got = hook.accepted()
    assert len(got) == 1 and got[0].json()["type"] == "vitalwatch.test"

    await page.click("#chain-add")
    step = page.get_by_test_id("chain").locator(".chain-step").last
    await step.locator("select").select_option(str(target_id))
    await step.locator("input").fill("0")
    await page.click("#chain-save")
    await expect(page.get_by_test_id("chain-status")).to_have_text("Saved: 1 step.")
    r = await napi.http.get("/api/v1/notify/chain", headers=await napi.auth(ADMIN))
    assert [(s["target_id"], s["delay_s"]) for s in r.json()] == [(target_id, 0)]

    # An escalated alarm reaches the receiver; its link opens on a "phone".
    session, alarm, _ = await escalate(napi)
    await wait_for(lambda: just(len(hook.accepted()) == 2), timeout=5)
    link = hook.accepted()[1].json()["links"]["acknowledge"]
    phone = await chromium.new_page(viewport={"width": 390, "height": 844})
    phone.on("pageerror", lambda e: errors.append(str(e)))
    await phone.goto(link)
    await expect(phone.get_by_test_id("ack-message")).to_have_text(alarm["message"])
    await expect(phone.get_by_test_id("ack-status")).to_contain_text(f"as {NURSE[0]}")
    button = phone.get_by_test_id("ack-button")
    await expect(button).to_have_text(f"Acknowledge as {NURSE[0]}")
    await button.click()
    await expect(phone.get_by_test_id("ack-status")).to_contain_text(f"Acknowledged as {NURSE[0]}")
    r = await napi.http.get(
        "/api/v1/alarms", params={"session_id": session["id"]}, headers=await napi.auth()
    )
    now = next(a for a in r.json() if a["id"] == alarm["id"])
    assert now["state"] == "acknowledged" and now["acked_by"] == NURSE[0]
    # the clinic's clock with its zone named (the phone may be on another zone)
    acked = datetime.fromisoformat(now["acked_at"].replace("Z", "+00:00")).astimezone(UTC)
    await expect(phone.get_by_test_id("ack-status")).to_contain_text(f"at {acked:%H:%M:%S} (UTC)")
    await phone.reload()
    await expect(phone.get_by_test_id("ack-status")).to_contain_text("used already")
    await page.reload()
    await expect(page.get_by_test_id("outbox")).to_contain_text("Bedside pager")
    assert errors == []
