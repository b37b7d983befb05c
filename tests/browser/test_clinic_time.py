"""The pages keep the clinic's clock (issue 27 item 9): with the clinic in
Pacific/Auckland and the browser in America/New_York (16-18 h apart), the
station, the session page and the record show the clinic's times and name
its zone, and a clock time a nurse types (a dose's "Given at", a backdated
reading) is read as clinic time, landing at the right UTC instant."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from tests.support import Api, ServerProcess, SignIn, dosed_session, now_utc

pytestmark = pytest.mark.browser

CLINIC = ZoneInfo("Pacific/Auckland")
BROWSER = "America/New_York"


@pytest.fixture
async def auckland(new_server: Callable[..., ServerProcess]) -> AsyncIterator[ServerProcess]:
    server = new_server(VITALWATCH_CLINIC_TIMEZONE="Pacific/Auckland")
    server.start()
    yield server


def _at(iso: str, fmt: str = "%H:%M") -> str:
    return datetime.fromisoformat(iso).astimezone(CLINIC).strftime(fmt)


async def test_times_shown_and_typed_are_the_clinics(
    sign_in: SignIn, auckland: ServerProcess
) -> None:
    api = Api(auckland.url)
    try:
        _, session, _ = await dosed_session(
            api, minutes_ago=30, pre_bp=((114, 65), (115, 66)), pre_hr=(71, 72)
        )
        sid, h = session["id"], await api.auth()
        got = (await api.http.get(f"/api/v1/sessions/{sid}", headers=h)).json()
        until, started = _at(got["observation_until"]), _at(got["started_at"], "%d/%m/%Y %H:%M")
        assert _at(got["observation_until"]) != datetime.fromisoformat(
            got["observation_until"]
        ).astimezone(ZoneInfo(BROWSER)).strftime("%H:%M")

        page = await sign_in(auckland.url, 1280, 720, timezone_id=BROWSER)
        assert await page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == BROWSER
        await expect(page.get_by_test_id("clinic-zone")).to_have_text("Times in Pacific/Auckland")
        timing = page.locator(f"[data-testid=tile-{sid}] [data-testid=tile-timing]")
        await expect(timing).to_have_attribute("title", re.compile(f"until {until}"))

        await page.goto(f"{auckland.url}/sessions/{sid}")
        await expect(page.get_by_test_id("clinic-zone")).to_have_text("Times in Pacific/Auckland")
        summary = page.locator("#sv-summary")
        await expect(summary).to_contain_text(f"Started {started}")
        await expect(summary).to_contain_text(f"First dose {_at(got['first_dose_at'], '%H:%M:%S')}")
        await expect(summary).to_contain_text("Baseline BP 115/66 mmHg, HR 72/min, SpO2 98%")
        await expect(page.locator("#sv-observation")).to_contain_text(f"until {until}")
        # a reading typed in as taken at a clinic clock time 3 min ago
        typed = now_utc().replace(second=0, microsecond=0) - timedelta(minutes=3)
        entry = page.get_by_test_id("manual-entry")
        await entry.get_by_test_id("manual-hr").fill("77")
        await entry.get_by_test_id("manual-time").fill(typed.astimezone(CLINIC).strftime("%H:%M"))
        await entry.get_by_test_id("manual-submit").click()
        await expect(entry.get_by_test_id("manual-list")).to_contain_text("HR 77")
        manual = (await api.http.get(f"/api/v1/sessions/{sid}/manual-readings", headers=h)).json()
        assert [datetime.fromisoformat(m["ts"]) for m in manual] == [typed]

        # a dose "Given at" a clinic time lands at that instant
        await page.goto(f"{auckland.url}/sessions/{sid}/record")
        await expect(page.get_by_test_id("clinic-zone")).to_have_text("Times in Pacific/Auckland")
        given = now_utc().replace(second=0, microsecond=0) - timedelta(minutes=5)
        form = page.locator("#dose-form")
        await expect(page.locator("#doses li")).to_have_count(1)  # the record is drawn
        await expect(form).to_contain_text("Given at (Pacific/Auckland time; empty: now)")
        await form.locator("[name=amount]").fill("28")
        typed_at = given.astimezone(CLINIC).strftime("%Y-%m-%dT%H:%M")
        await form.get_by_test_id("dose-ts").fill(typed_at)
        await form.locator("button[type=submit]").click()
        await expect(page.locator("#doses li")).to_have_count(2)
        await expect(page.locator("#doses")).to_contain_text(_at(given.isoformat()))
        events = (await api.http.get(f"/api/v1/sessions/{sid}/events", headers=h)).json()
        doses = [datetime.fromisoformat(e["ts"]) for e in events if e["kind"] == "dose"]
        assert given in doses, doses
        assert page.errors == []
    finally:
        await api.aclose()
