"""One observation clock (issue 27 item 1): a ketamine IV infusion's
observation counts from the infusion's stop, and the tile, the session page,
the record and the report all say the same "until"; a session ended before
it is flagged on each of them; on the wall, the laptop and the tablet."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.nurses_ward import VIEWPORTS
from tests.support import Api, ServerProcess, SignIn, dosed_session, iso, now_utc

pytestmark = pytest.mark.browser

IV_DOSE = {"amount": 0.5, "unit": "mg/kg", "weight_kg": 80, "lot_number": "K-9"}
UNTIL = re.compile(r"until (\d\d:\d\d)")


async def _until_in(page: Page, selector: str, title: bool = False) -> str:
    """The "until HH:MM" an element says (in its text, or its title)."""
    el = page.locator(selector).first
    if title:
        await expect(el).to_have_attribute("title", UNTIL)
        text = await el.get_attribute("title") or ""
    else:
        await expect(el).to_contain_text(UNTIL)
        text = await el.inner_text()
    found = UNTIL.search(text)
    assert found, text
    return found.group(1)


async def _session(api: Api, sid: int) -> dict[str, Any]:
    r = await api.http.get(f"/api/v1/sessions/{sid}", headers=await api.auth())
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
async def test_an_iv_infusion_is_observed_from_its_stop_on_every_page(
    sign_in: SignIn, server: ServerProcess, api: Api, width: int, height: int
) -> None:
    # dosed 70 min ago, the infusion stopped 35 min later: observed until
    # stop + 60 min (25 min from now), not first dose + 60 min (10 min ago)
    _, session, dosed = await dosed_session(api, "ketamine-iv", minutes_ago=70, dose=IV_DOSE)
    sid, h = session["id"], await api.auth()
    events = (await api.http.get(f"/api/v1/sessions/{sid}/events", headers=h)).json()
    dose = next(e for e in events if e["kind"] == "dose")
    stop = dosed + timedelta(minutes=35)
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/doses/{dose['id']}/stop", json={"ts": iso(stop)}, headers=h
    )
    assert r.status_code == 200, r.text
    expected = stop + timedelta(minutes=60)
    got = await _session(api, sid)
    for until in (got["observation_until"], got["readiness"]["observation_until"]):
        assert abs(datetime.fromisoformat(until) - expected) < timedelta(milliseconds=1)
    hm = expected.astimezone(UTC).strftime("%H:%M")  # the test server's clinic and browser: UTC

    page = await sign_in(server.url, width, height)
    tile = f"[data-testid=tile-{sid}] [data-testid=tile-timing]"
    assert await _until_in(page, tile, title=True) == hm
    await expect(page.locator(tile)).to_contain_text("min left")
    await page.locator(tile).scroll_into_view_if_needed()
    await expect(page.locator(tile)).to_be_in_viewport()  # the tile's clock reads on this layout
    assert await page.locator(tile).evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    await page.goto(f"{server.url}/sessions/{sid}")  # the sign-in is kept in the tab
    assert await _until_in(page, "#sv-observation") == hm
    await page.goto(f"{server.url}/sessions/{sid}/record")
    assert await _until_in(page, "[data-testid=readiness]") == hm
    await page.goto(f"{server.url}/sessions/{sid}/report")
    assert await _until_in(page, "[data-testid=report]") == hm

    # ended now, 25 min before the observation time is over: flagged everywhere
    r = await api.http.post(f"/api/v1/sessions/{sid}/end", headers=h)
    assert r.status_code == 200, r.text
    assert (await _session(api, sid))["ended_early"] is True
    await page.goto(f"{server.url}/sessions/{sid}/report")
    await expect(page.get_by_test_id("report")).to_contain_text("ended before the observation time")
    await page.goto(f"{server.url}/sessions/{sid}/record")
    await expect(page.locator("#rec-facts")).to_contain_text("before the observation time was over")
    await page.goto(f"{server.url}/sessions/{sid}")
    await expect(page.locator("#sv-ended")).to_contain_text("before the observation time was over")
    pdf = await api.http.get(f"/api/v1/sessions/{sid}/report.pdf", headers=h)
    assert pdf.status_code == 200
    assert page.errors == []
    assert now_utc() < expected
