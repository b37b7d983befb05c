"""Acknowledge clicks land: a person's 150 ms press, 50 times, while alarms and
vitals stream to the page at full demo rate; a failed request is shown."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Page, Route, expect

from tests.support import Api, ServerProcess, SignIn, iso, now_utc, samples

pytestmark = pytest.mark.browser

ROOMS = 17  # 17 rooms x 3 latched high alarms (HR, SpO2, RR) = 51 to acknowledge
CHURN = 6  # rooms whose SBP goes 170/120 on every post: medium alarms come and go


async def _ward(api: Api) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    rooms = [await api.monitored() for _ in range(ROOMS)]
    t0 = now_utc() - timedelta(seconds=40)
    for device, _ in rooms:  # 30 s of measured history: every alarm raised at once
        r = await api.post(
            device["token"], samples(t0, 30, hr=150, spo2=84, rr=34, sbp=120, dbp=80)
        )
        assert r.status_code == 202, r.text
    return rooms


async def _stream(api: Api, rooms: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """Every room posts a sample every 250 ms with moving values, as the demo does."""
    seq = itertools.count(1000)
    rng = random.Random(7)
    tick = 0
    while True:
        tick += 1
        ts = iso(now_utc())
        posts = []
        for i, (device, _) in enumerate(rooms):
            value = {"hr": 150 + rng.randint(-5, 5), "spo2": 84, "rr": 34}
            if i < CHURN:
                value.update(sbp=170 if tick % 2 else 120, dbp=80)
            posts.append(api.post(device["token"], [{"ts": ts, "seq": next(seq), **value}]))
        await asyncio.gather(*posts)
        await asyncio.sleep(0.25)


async def _press(page: Page, testid: str) -> None:
    """Aim, then press for 150 ms as a person does."""
    button = page.get_by_test_id(testid)
    await button.scroll_into_view_if_needed()
    box = await button.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=3)
    box = await button.bounding_box()  # where it is now that the pointer is over the list
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await page.wait_for_timeout(150)
    await page.mouse.up()


async def test_fifty_slow_clicks_each_acknowledge_while_alarms_stream(
    sign_in: SignIn, server: ServerProcess, api: Api
) -> None:
    rooms = await _ward(api)
    ids = {s["id"] for _, s in rooms}
    page = await sign_in(server.url, 1600, 1000)
    acks: list[str] = []
    page.on("request", lambda r: acks.append(r.url) if r.url.endswith("/ack") else None)
    streaming = asyncio.create_task(_stream(api, rooms))
    try:
        alarms = [
            a
            for a in (
                await api.http.get(
                    "/api/v1/alarms", params={"state": "active"}, headers=await api.auth()
                )
            ).json()
            if a["session_id"] in ids and a["priority"] == "high"
        ]
        assert len(alarms) >= 50
        targets = alarms[:50]
        await expect(page.get_by_test_id(f"ack-{targets[-1]['id']}")).to_be_visible()
        await page.wait_for_timeout(1500)  # churn and vitals frames under way
        for alarm in targets:
            await _press(page, f"ack-{alarm['id']}")
            await expect(page.get_by_test_id(f"ack-{alarm['id']}")).to_have_attribute(
                "data-state", "done"
            )
    finally:
        streaming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await streaming
    assert len(acks) == 50  # one request per press, none lost, none doubled
    after = {
        a["id"]: a
        for a in (
            await api.http.get("/api/v1/alarms", params={"limit": 5000}, headers=await api.auth())
        ).json()
    }
    assert all(after[a["id"]]["state"] == "acknowledged" for a in targets)
    assert all(after[a["id"]]["acked_by"] == "nurse" for a in targets)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_pending_then_a_failed_acknowledge_is_shown_and_can_be_retried(
    sign_in: SignIn, server: ServerProcess, api: Api
) -> None:
    device, session = await api.monitored()
    t0 = now_utc() - timedelta(seconds=20)
    await api.post(device["token"], samples(t0, 17, spo2=84, hr=80))
    alarm = (
        await api.http.get(
            "/api/v1/alarms", params={"session_id": session["id"]}, headers=await api.auth()
        )
    ).json()[0]
    page = await sign_in(server.url)
    button = page.get_by_test_id(f"ack-{alarm['id']}")
    release = asyncio.Event()

    async def slow_failure(route: Route) -> None:
        await release.wait()  # fault injected on purpose: the service does not answer
        await route.fulfill(status=503, json={"detail": "Service unavailable"})

    await page.route("**/ack", slow_failure)
    await button.click()
    await expect(button).to_have_text("Acknowledging…")
    await expect(button).to_have_attribute("data-state", "pending")
    await expect(button).to_be_disabled()
    release.set()
    await expect(page.get_by_test_id(f"alarm-error-{alarm['id']}")).to_have_text(
        "Not acknowledged: Service unavailable. Try again."
    )
    await expect(button).to_be_enabled()
    await page.unroute("**/ack")
    await button.click()
    await expect(button).to_have_text("Acknowledged ✓")
    await expect(page.get_by_test_id(f"alarm-error-{alarm['id']}")).to_have_text("")
