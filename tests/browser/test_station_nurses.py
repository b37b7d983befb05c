"""The station as two nurses met it (issue 27, items 3-9), on a 1920x1080 wall, a
1280x720 laptop and a 768x1024 tablet: acknowledged alarms steady and
unanswered ones flashing, an alarm switched off readable from afar, every
value whole in its box, stale and typed values saying their age, colours that
mean something, the ward on every page a nurse charts on, links and lists
that lead somewhere, and a nurse's words."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.nurses_ward import VIEWPORTS, NursesWard, alarms_of, make_ward, sending
from tests.support import NURSE, Api, ServerProcess, Shot, SignIn, iso, now_utc, samples, staff_user

pytestmark = pytest.mark.browser

HIGH_OFF = "rgb(100, 10, 14)"  # --high-off: an acknowledged high alarm's steady colour
VIOLET = "rgb(180, 75, 224)"  # --off: an alarm switched off
WHITE = "rgb(242, 245, 248)"  # --value: a value not in alarm


@pytest.fixture(scope="module")
async def nurses(server: ServerProcess) -> AsyncIterator[NursesWard]:
    api = Api(server.url)
    try:
        ward = await make_ward(api)
        async with sending(api, ward.monitors):
            yield ward
    finally:
        await api.aclose()


async def _ward(sign_in: SignIn, server: ServerProcess, nurses: NursesWard, w: int, h: int) -> Page:
    page = await sign_in(server.url, w, h)
    await expect(page.locator(".tile")).to_have_count(len(nurses.rooms))
    for room in nurses.rooms:  # values in every room (typed ones included)
        await expect(page.get_by_test_id(f"value-hr-{room['id']}")).to_have_text(re.compile(r"\d"))
    return page


def _tile(page: Page, session: dict[str, Any]) -> Any:
    return page.get_by_test_id(f"tile-{session['id']}")


async def _style(locator: Any, prop: str) -> str:
    return str(await locator.evaluate(f"el => getComputedStyle(el).{prop}"))


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(x) for x in re.findall(r"[\d.]+", css)[:3])


def _contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS colours."""

    def lum(css: str) -> float:
        c = [v / 255 for v in _rgb(css)]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# -- 3. acknowledged: steady; unanswered: flashing ---------------------------------------


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
async def test_an_acknowledged_high_alarm_is_steady_and_an_unanswered_one_flashes(
    sign_in: SignIn, server: ServerProcess, nurses: NursesWard, shot: Shot, width: int, height: int
) -> None:
    page = await _ward(sign_in, server, nurses, width, height)
    acked, unanswered = _tile(page, nurses.acked), _tile(page, nurses.unanswered)
    await expect(acked).to_have_attribute("data-alarm", "high")
    await expect(acked).to_have_attribute("data-answered", "true")
    await expect(acked.get_by_test_id("alarm-label")).to_have_text("HIGH ✓ ACKNOWLEDGED")
    await expect(unanswered.get_by_test_id("alarm-label")).to_have_text("HIGH ALARM")
    assert await acked.evaluate("el => el.getAnimations().length") == 0
    assert await _style(acked, "animationName") == "none"
    assert await unanswered.evaluate("el => el.getAnimations().map(a => a.animationName)") == [
        "flash-high"
    ]
    # the same colour at every moment (a 2 Hz flash would change within 300 ms)
    seen = set()
    for _ in range(4):
        seen.add(await _style(acked, "backgroundColor"))
        await page.wait_for_timeout(130)
    assert seen == {HIGH_OFF}, seen
    # still red from across the room: the border keeps the priority's colour
    assert await _style(acked, "borderTopColor") == "rgb(255, 59, 59)"
    await shot(page, f"station-acknowledged-{width}x{height}.png")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_the_ward_strip_and_the_alarm_list_show_acknowledged_alarms_steady(
    sign_in: SignIn, server: ServerProcess, nurses: NursesWard
) -> None:
    page = await sign_in(server.url, path=f"/sessions/{nurses.calm['id']}")
    chip = page.get_by_test_id(f"chip-{nurses.acked['id']}")
    await expect(chip).to_have_attribute("data-answered", "true")
    await expect(chip).to_contain_text("HIGH ✓")
    assert await chip.evaluate("el => el.getAnimations().length") == 0
    flashing = page.get_by_test_id(f"chip-{nurses.unanswered['id']}")
    assert await flashing.evaluate("el => el.getAnimations().map(a => a.animationName)") == [
        "flash-high"
    ]
    await page.goto(server.url + "/")
    for alarm in await _alarms(server, nurses.acked):
        row = page.get_by_test_id(f"alarm-{alarm['id']}")
        await expect(row).to_have_attribute("data-state", "acknowledged")
        assert await row.evaluate("el => el.getAnimations().length") == 0


async def _alarms(server: ServerProcess, session: dict[str, Any]) -> list[dict[str, Any]]:
    api = Api(server.url)
    try:
        return await alarms_of(api, session["id"])
    finally:
        await api.aclose()


# -- 4. an alarm switched off reads at 3 m ------------------------------------------------


async def _whole(locator: Any, *within: Any, text: bool = True) -> None:
    """`locator` shows all its text (nothing cut inside it, when `text`) and lies
    inside each of `within`."""
    if text:
        assert await locator.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), (
            await locator.text_content()
        )
    box = await locator.bounding_box()
    assert box is not None
    for outer in within:
        o = await outer.bounding_box()
        assert o is not None
        assert box["x"] >= o["x"] - 1 and box["x"] + box["width"] <= o["x"] + o["width"] + 1, (
            await locator.text_content(),
            box,
            o,
        )
        assert box["y"] >= o["y"] - 1 and box["y"] + box["height"] <= o["y"] + o["height"] + 1, (
            await locator.text_content(),
            box,
            o,
        )


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
async def test_an_alarm_switched_off_reads_from_afar_on_every_layout(
    sign_in: SignIn, server: ServerProcess, nurses: NursesWard, shot: Shot, width: int, height: int
) -> None:
    page = await _ward(sign_in, server, nurses, width, height)
    sid = nurses.off["id"]
    tile = _tile(page, nurses.off)
    await expect(tile.get_by_test_id("alarm-label")).to_have_text("ALARM OFF")
    assert "OK" not in await tile.get_by_test_id("alarm-label").inner_text()
    assert await _style(tile, "borderTopColor") == VIOLET
    assert await _style(tile.get_by_test_id("alarm-label"), "backgroundColor") == VIOLET
    await expect(tile.get_by_test_id("tile-alarm")).to_contain_text("Alarm off: SpO2")
    badge = page.get_by_test_id(f"alarm-off-spo2-{sid}")
    await expect(badge).to_be_visible()
    await expect(badge).to_have_text("off")
    await _whole(badge, tile.get_by_test_id("spo2"), tile)
    await shot(page, f"alarm-off-{width}x{height}.png")
    # the ward strip of the other pages: never "Room off OK"
    await page.goto(f"{server.url}/sessions/{nurses.calm['id']}")
    chip = page.get_by_test_id(f"chip-{sid}")
    await expect(chip).to_contain_text("ALARM OFF")
    assert await _style(chip, "borderTopColor") == VIOLET
    await _whole(chip, page.get_by_test_id("ward-strip"))


# -- 5. every value whole in its box -------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
async def test_no_value_is_cut_off_in_its_tile(
    sign_in: SignIn, server: ServerProcess, nurses: NursesWard, width: int, height: int
) -> None:
    page = await _ward(sign_in, server, nurses, width, height)
    a, t = nurses.acked["id"], nurses.typed["id"]
    await expect(page.get_by_test_id(f"value-hr-{a}")).to_have_text("152")
    await expect(page.get_by_test_id(f"value-bp-{a}")).to_have_text("188/120")
    await expect(page.get_by_test_id(f"value-hr-{t}")).to_have_text("84")
    await expect(page.get_by_test_id(f"value-bp-{t}")).to_have_text("168/100")
    await expect(page.get_by_test_id(f"value-spo2-{t}")).to_have_text("96")
    checked = 0
    for room in nurses.rooms:
        tile = _tile(page, room)
        for kind in ("hr", "bp", "spo2", "rr"):
            cell = tile.get_by_test_id(kind)
            await _whole(page.get_by_test_id(f"value-{kind}-{room['id']}"), cell, tile)
            # and the marks beside the name: typed, its age, alarm off
            for mark in await cell.locator(".name > span:not([hidden])").all():
                await _whole(mark, cell, tile)
            checked += 1
        # nothing of the tile falls off its bottom either
        for part in (".t-alarm", ".vitals", ".t-foot"):
            await _whole(tile.locator(part), tile, text=False)
        if await tile.locator(".t-stale:not(:empty)").count():  # "No monitor", "no data 34 s"
            await _whole(tile.locator(".t-stale"), tile)
    assert checked == 4 * len(nurses.rooms)
    assert page.errors == []  # type: ignore[attr-defined]


# -- 6. stale and typed values say so; colours mean something --------------------------------


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
async def test_typed_and_old_values_show_their_age_and_colours_mean_something(
    sign_in: SignIn, server: ServerProcess, nurses: NursesWard, shot: Shot, width: int, height: int
) -> None:
    page = await _ward(sign_in, server, nurses, width, height)
    typed = _tile(page, nurses.typed)
    t = nurses.typed["id"]
    # a room with no monitor keeps saying so while its typed values alarm
    await expect(typed).to_have_attribute("data-alarm", "medium")
    await expect(typed.locator(".t-stale")).to_have_text("No monitor")
    for kind in ("hr", "bp", "spo2", "rr"):
        await expect(page.get_by_test_id(f"typed-{kind}-{t}")).to_have_text(
            re.compile(r"^✎typed \d+ (s|min)$")
        )
    # a cuff value of 5 min ago says how old it is; live HR says nothing
    o = nurses.oldbp["id"]
    await expect(page.get_by_test_id(f"age-bp-{o}")).to_have_text(re.compile(r"^([5-9]|1\d) min$"))
    await expect(page.get_by_test_id(f"age-hr-{o}")).to_be_hidden()
    # values are white unless in alarm: BP is not orange in a calm room
    calm = nurses.calm["id"]
    for kind in ("hr", "bp", "spo2", "rr"):
        assert await _style(page.get_by_test_id(f"value-{kind}-{calm}"), "color") == WHITE, kind
    assert await _style(page.get_by_test_id(f"value-hr-{nurses.medium['id']}"), "color") == (
        "rgb(255, 210, 31)"
    )
    # the foot's words on a badge of their own, readable on any tile
    for badge in (typed.locator(".t-stale"), _tile(page, nurses.unanswered).locator(".t-news2")):
        colour, background = await _style(badge, "color"), await _style(badge, "backgroundColor")
        assert background.startswith("rgba(0, 0, 0, 0.85"), background
        assert _contrast(colour, "rgb(0, 0, 0)") >= 4.5, colour
    if width == 1920:
        await shot(page, "station-typed-values.png")
    # a low alarm does not tint the tile the yellow of a medium one
    calm_tile = _tile(page, nurses.calm)
    await page.evaluate(
        """(sid) => { const w = window.vitalwatch.ward;
            const a = {id: 990001, session_id: sid, priority: 'low', kind: 'physiological',
                       state: 'active', condition_active: true, metric: 'rr', rule: 'rr_high',
                       message: 'RR 21/min above 20/min', raised_at: new Date().toISOString()};
            w.setAlarm(a); w.emit('alarm', a, null); }""",
        calm,
    )
    await expect(calm_tile).to_have_attribute("data-alarm", "low")
    assert await _style(calm_tile, "backgroundColor") == "rgb(20, 27, 36)"  # the panel's
    assert await _style(calm_tile, "borderTopStyle") == "dashed"
    assert await calm_tile.evaluate("el => el.getAnimations().length") == 0


# -- 7. the ward on every page; one sign-in for the browser's tabs -------------------------


async def _signed_in_tab(
    chromium: Any, server: ServerProcess, who: tuple[str, str]
) -> tuple[Any, Page]:
    """A browser context of its own (its tabs share a sign-in) with one tab signed in."""
    context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(server.url + "/")
    await page.fill("#username", who[0])
    await page.fill("#password", who[1])
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("link-status")).to_have_text("live", timeout=15_000)
    return context, page


async def test_the_record_page_keeps_the_ward_and_a_new_tab_is_signed_in(
    chromium: Any, server: ServerProcess, nurses: NursesWard, shot: Shot
) -> None:
    context, page = await _signed_in_tab(chromium, server, NURSE)
    sid = nurses.calm["id"]
    other = await context.new_page()
    await other.goto(f"{server.url}/sessions/{sid}")
    await expect(other.get_by_test_id("link-status")).to_have_text("live", timeout=15_000)
    await expect(other.locator("#username")).to_have_count(0)
    await other.goto(f"{server.url}/sessions/{sid}/record")
    strip = other.get_by_test_id("ward-strip")
    await expect(strip.locator(".chip")).to_have_count(len(nurses.rooms))
    await expect(other.get_by_test_id(f"chip-{nurses.unanswered['id']}")).to_contain_text("HIGH")
    await expect(other.get_by_test_id(f"chip-{sid}")).to_have_attribute("aria-current", "page")
    await expect(other.get_by_test_id("sound-banner")).to_contain_text("Sound is OFF")
    await expect(other.get_by_test_id("link-status")).to_have_text("live", timeout=15_000)
    assert await other.get_by_test_id("connection-banner").count() == 1
    await expect(other.get_by_test_id("checklist").locator("li").first).to_be_visible()
    await shot(other, "record-ward-strip.png")
    # signing out in one tab signs every tab of the browser out
    await other.locator("#logout").click()
    await expect(page.locator("#username")).to_be_visible(timeout=10_000)
    assert await page.evaluate("() => localStorage.getItem('vitalwatch.token')") is None
    await context.close()


async def test_sign_out_everywhere_still_ends_the_kept_sign_in(
    chromium: Any, server: ServerProcess
) -> None:
    api = Api(server.url)
    try:
        _, who = await staff_user(api)
        context, page = await _signed_in_tab(chromium, server, who)
        second = await context.new_page()  # signed in by the first tab's sign-in
        await second.goto(f"{server.url}/sessions")
        await expect(second.get_by_test_id("link-status")).to_have_text("live", timeout=15_000)
        r = await api.http.post("/api/v1/auth/sign-out-everywhere", headers=await api.auth(who))
        assert r.status_code == 204
        # the service refuses the kept token: both tabs are back at the sign-in form
        await expect(page.locator("#username")).to_be_visible(timeout=10_000)
        await expect(second.locator("#username")).to_be_visible(timeout=10_000)
        # a new tab finds no sign-in kept
        fresh = await context.new_page()
        await fresh.goto(f"{server.url}/sessions")
        await expect(fresh.locator("#username")).to_be_visible()
        await context.close()
    finally:
        await api.aclose()


# -- 8. links and lists --------------------------------------------------------------------


async def test_an_ended_session_links_to_its_record_and_offers_no_changes(
    sign_in: SignIn, server: ServerProcess, api: Api
) -> None:
    device, session = await api.monitored()
    sid = session["id"]
    await api.post(device["token"], samples(now_utc() - timedelta(seconds=4), 3, hr=70, spo2=97))
    typed = await api.http.post(
        f"/api/v1/sessions/{sid}/readings", json={"hr": 71}, headers=await api.auth()
    )
    assert typed.status_code == 201, typed.text
    head = await api.http.head(f"/sessions/{sid}/record")
    assert head.status_code == 200, head.status_code
    r = await api.http.post(f"/api/v1/sessions/{sid}/end", headers=await api.auth())
    assert r.status_code == 200, r.text
    page = await sign_in(server.url, path=f"/sessions/{sid}")
    await expect(page.get_by_test_id("sv-ended")).to_contain_text("Session ended")
    await expect(page.get_by_test_id("sv-record-link")).to_have_attribute(
        "href", f"/sessions/{sid}/record"
    )
    await expect(page.get_by_test_id("sv-manual")).to_contain_text("71")
    await expect(page.get_by_test_id("limits-note")).to_contain_text("The session has ended")
    assert "Observation continues" not in await page.locator("#sv-observation").inner_text()
    await expect(page.get_by_test_id("save-limits")).to_have_count(0)
    await expect(page.get_by_role("button", name="Strike out")).to_have_count(0)
    await page.goto(f"{server.url}/sessions?day=")
    await expect(page.get_by_test_id(f"record-{sid}")).to_have_attribute(
        "href", f"/sessions/{sid}/record"
    )


async def test_start_session_offers_monitors_heard_lately_first(
    sign_in: SignIn, server: ServerProcess, api: Api
) -> None:
    dead = await api.device("Bay dead monitor")
    never = await api.device("Bay never monitor")
    live = await api.device("Bay live monitor")
    long_ago = now_utc() - timedelta(days=3)
    for device, heard in ((dead, long_ago), (live, now_utc())):
        await server.sql(
            "UPDATE devices SET last_seen = :t WHERE id = :id", t=heard, id=device["id"]
        )
    page = await sign_in(server.url)
    await page.click("#new-session")
    for device in (dead, never, live):  # the list is filled once the free monitors are read
        await expect(page.locator("#free-devices")).to_contain_text(device["name"])
    names = await page.locator("#free-devices label").all_inner_texts()
    order = [next(n for n in names if name in n) for name in ("live", "dead", "never")]
    assert [names.index(n) for n in order] == sorted(names.index(n) for n in order), names
    await expect(page.get_by_test_id(f"heard-{live['id']}")).to_contain_text("sending now")
    await expect(page.get_by_test_id(f"heard-{dead['id']}")).to_contain_text(
        f"last heard {long_ago.astimezone():%d/%m/%Y}"
    )
    await expect(page.get_by_test_id(f"heard-{never['id']}")).to_contain_text("never heard")


async def test_the_tablet_alarm_list_says_how_many_alarms_are_below(
    sign_in: SignIn, server: ServerProcess, nurses: NursesWard, shot: Shot
) -> None:
    page = await _ward(sign_in, server, nurses, 768, 1024)
    below = page.get_by_test_id("alarm-list-below")
    await expect(below).to_be_visible()
    await expect(below).to_have_text(re.compile(r"^▼ \d+ more alarms? below — show$"))
    await shot(page, "station-alarms-below.png")
    for _ in range(10):  # a panel further down each time, until none is below
        if not await below.is_visible():
            break
        await below.click()
    await expect(below).to_be_hidden()
    last = page.get_by_test_id("alarm-list").locator("li").last
    await expect(last).to_be_in_viewport()
    await expect(page.get_by_test_id("alarm-list-empty")).to_be_hidden()


async def test_an_empty_alarm_list_says_no_active_alarms(
    sign_in: SignIn, own_server: tuple[ServerProcess, Api]
) -> None:
    server, _ = own_server
    page = await sign_in(server.url)
    await page.get_by_test_id("sound-enable").click()  # no "no dashboard watching" alarm
    await expect(page.get_by_test_id("alarm-list-empty")).to_have_text("No active alarms")
    await expect(page.get_by_test_id("alarm-list-below")).to_be_hidden()


# -- 9. a nurse's words --------------------------------------------------------------------

#: an internal name: snake_case words such as "no_monitor", "moaa_s_low", "iv_infusion"
INTERNAL = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


async def test_the_pages_speak_a_nurses_words(
    sign_in: SignIn, server: ServerProcess, nurses: NursesWard, api: Api
) -> None:
    page = await _ward(sign_in, server, nurses, 1920, 1080)
    # the "no dashboard watching" technical alarm (sound is off) is in the list
    await expect(page.get_by_test_id("alarm-list")).to_contain_text("No dashboard is watching")
    assert INTERNAL.findall(await page.locator("body").inner_text()) == []
    # the timeline: "Alarm off: SpO2 ...", not "Alarm off alarm off: SpO2 ..."
    await page.goto(f"{server.url}/sessions/{nurses.off['id']}")
    events = page.get_by_test_id("sv-events")
    await expect(events).to_contain_text("Alarm off: SpO2 high-priority low, SpO2 low")
    assert "alarm off: " not in (await events.inner_text()).lower().replace("alarm off: spo2", "")
    assert INTERNAL.findall(await page.locator("body").inner_text()) == []
    # dates in the clinic's locale (en-GB by default), whatever the browser's
    started = datetime.fromisoformat(nurses.off["started_at"]).astimezone()
    await expect(page.locator("#sv-summary")).to_contain_text(f"Started {started:%d/%m/%Y %H:%M}")
    # the record: the dose's route in words
    sid = nurses.calm["id"]
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/events",
        json={
            "kind": "dose",
            "dose": {"drug": "ketamine", "amount": 35, "unit": "mg", "route": "iv_infusion"},
            "override_reason": "test",
        },
        headers=await api.auth(),
    )
    assert r.status_code == 201, r.text
    await page.goto(f"{server.url}/sessions/{sid}/record")
    await expect(page.locator("#doses")).to_contain_text("ketamine 35 mg, IV infusion")
    assert INTERNAL.findall(await page.locator("#page").inner_text()) == []


async def test_charts_of_one_point_and_one_session_have_sensible_axes(
    sign_in: SignIn, server: ServerProcess, api: Api, shot: Shot
) -> None:
    device, session = await api.monitored()
    sid = session["id"]
    r = await api.post(device["token"], [{"ts": iso(now_utc()), "seq": 0, "sbp": 114, "dbp": 65}])
    assert r.status_code == 202
    page = await sign_in(server.url, path=f"/sessions/{sid}")
    bp = page.get_by_test_id("chart-bp")
    await expect(bp).to_have_attribute("data-x-span", re.compile(r"^\d+$"))
    assert 600 <= int(await bp.get_attribute("data-x-span") or 0) <= 3600  # not "00:00 00:00"
    await expect(page.locator("#sv-summary")).to_contain_text("Baseline")
    # the patient's course of one session: days around it, not three years
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/events",
        json={
            "kind": "dose",
            "dose": {"drug": "ketamine", "amount": 35},
            "override_reason": "test",
        },
        headers=await api.auth(),
    )
    assert r.status_code == 201, r.text
    await page.goto(f"{server.url}/patients/{session['patient']['id']}")
    chart = page.get_by_test_id("series-chart")
    await expect(chart).to_have_attribute("data-x-span", re.compile(r"^\d+$"))
    assert 86400 <= int(await chart.get_attribute("data-x-span") or 0) <= 8 * 86400
    # the course's own legend (dashes and markers, readable in print too)
    legend = page.get_by_test_id("series-legend").locator("li").first
    behind = await legend.evaluate(
        """el => { for (let e = el; e; e = e.parentElement) {
            const c = getComputedStyle(e).backgroundColor;
            if (c && c !== "rgba(0, 0, 0, 0)" && c !== "transparent") return c; }
          return "rgb(255, 255, 255)"; }"""
    )
    assert _contrast(await _style(legend, "color"), behind) >= 4.5
    await shot(page, "patient-series.png")
