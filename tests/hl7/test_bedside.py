"""The station in a real Chromium against a real server with its MLLP listener:
vitals typed in on a room tile and in the session view (js/bedside-entry.js
reusing js/manual-entry.js), and the monitor's own alarms (ORU^R40 sent by a
real MLLP client) on the tile and the session timeline."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import expect
from simulators.hl7 import oru_r01

from tests.support import (
    LEAD_OFF,
    RR_HIGH,
    Api,
    ServerProcess,
    Shot,
    SignIn,
    hl7_monitored,
    iso,
    now_utc,
    r40,
)
from tests.support import mllp_send as send


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"  # the pages do not depend on the database


#: A page's colour variable (`await page.evaluate(_CSS_COLOUR, "--tech")`) as computed.
_CSS_COLOUR = (
    "v => { const s = document.createElement('span'); s.style.color = "
    "getComputedStyle(document.documentElement).getPropertyValue(v); "
    "document.body.append(s); const c = getComputedStyle(s).color; s.remove(); return c; }"
)


async def alarms(api: Api, session_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(
        "/api/v1/alarms", params={"session_id": session_id}, headers=await api.auth()
    )
    return list(r.json())


async def typed_in(api: Api, session_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(
        f"/api/v1/sessions/{session_id}/manual-readings", headers=await api.auth()
    )
    return list(r.json())


@pytest.mark.browser
async def test_a_bp_typed_on_the_tile_raises_the_devices_alarm_and_is_marked_typed(
    sign_in: SignIn, hl7_api: Api, hl7_server: ServerProcess, shot: Shot
) -> None:
    device, by_device = await hl7_api.monitored()
    _, typed = await hl7_api.monitored()
    r = await hl7_api.post(
        device["token"], [{"ts": iso(now_utc()), "seq": 1, "sbp": 204, "dbp": 122}]
    )
    assert r.status_code == 202
    page = await sign_in(hl7_server.url)
    tile = page.get_by_test_id(f"tile-{typed['id']}")
    await expect(tile).to_have_attribute("data-alarm", "none")
    # Keyboard only: focus the tile's action, Enter opens the form on BP.
    await tile.get_by_test_id(f"type-vitals-{typed['id']}").focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_test_id("bedside-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text(typed["room"])
    await expect(dialog.get_by_test_id("manual-bp")).to_be_focused()
    assert page.url.endswith("/")  # Enter on the action did not open the session page
    # An impossible value: the device's 422, at its field, nothing stored.
    await page.keyboard.type("120/80")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.type("130")
    await page.keyboard.press("Enter")
    await expect(dialog.get_by_test_id("manual-error-spo2")).to_contain_text("must be at most 100")
    assert await alarms(hl7_api, typed["id"]) == []
    # Two keystrokes a field: the value, Tab; Enter saves.
    await dialog.get_by_test_id("manual-spo2").fill("")
    await dialog.get_by_test_id("manual-bp").fill("")
    await dialog.get_by_test_id("manual-bp").focus()
    await page.keyboard.type("204/122")
    await page.keyboard.press("Tab")
    await page.keyboard.type("88")
    await page.keyboard.press("Enter")
    await expect(dialog.get_by_test_id("manual-status")).to_contain_text(
        "Saved: BP 204/122 · HR 88"
    )
    await expect(dialog.get_by_test_id("manual-list")).to_contain_text("typed in by nurse")
    await shot(page, "station-type-vitals.png")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    # The same alarm a device's BP raised, and the tile says it in the same way.
    mine, theirs = await alarms(hl7_api, typed["id"]), await alarms(hl7_api, by_device["id"])
    key = [(a["rule"], a["priority"], a["metric"], a["value"], a["message"]) for a in mine]
    assert key and key == [
        (a["rule"], a["priority"], a["metric"], a["value"], a["message"]) for a in theirs
    ]
    await expect(tile).to_have_attribute("data-alarm", "high")
    await expect(tile.get_by_test_id("tile-alarm")).to_have_text(mine[0]["message"])
    await expect(tile.get_by_test_id("bp")).to_contain_text("204/122")
    marker = tile.get_by_test_id(f"typed-bp-{typed['id']}")
    await expect(marker).to_be_visible()
    assert "Typed in by nurse" in (await marker.get_attribute("title") or "")
    await expect(tile.get_by_test_id(f"typed-hr-{typed['id']}")).to_be_visible()
    await expect(tile.get_by_test_id(f"typed-spo2-{typed['id']}")).to_be_hidden()
    # The device's tile is not marked typed.
    await expect(page.get_by_test_id(f"typed-bp-{by_device['id']}")).to_be_hidden()
    # A station opened afterwards marks it too (asked of the service on load).
    other = await sign_in(hl7_server.url)
    await expect(other.get_by_test_id(f"typed-bp-{typed['id']}")).to_be_visible()
    await expect(other.get_by_test_id(f"typed-bp-{by_device['id']}")).to_be_hidden()
    r = await hl7_api.http.get(
        "/api/v1/manual-readings",
        params={"session_id": [typed["id"], by_device["id"]]},
        headers=await hl7_api.auth(),
    )
    assert [(e["session_id"], e["sbp"], e["hr"]) for e in r.json()] == [(typed["id"], 204, 88)]
    await other.close()
    # The session's trends mark the typed values.
    await page.goto(f"{hl7_server.url}/sessions/{typed['id']}")
    chart = page.get_by_test_id("chart-bp")
    await expect(chart).to_have_attribute("data-manual", "2")  # SBP and DBP (MAP derived)
    await expect(chart).to_have_attribute("data-manual-drawn", "2")
    await expect(page.get_by_test_id("chart-hr")).to_have_attribute("data-manual-drawn", "1")
    await expect(page.get_by_test_id("chart-spo2")).to_have_attribute("data-manual", "0")
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.browser
async def test_a_wrong_reading_is_struck_out_from_the_session_view(
    sign_in: SignIn, hl7_api: Api, hl7_server: ServerProcess
) -> None:
    _, session = await hl7_api.monitored()
    page = await sign_in(hl7_server.url, path=f"/sessions/{session['id']}")
    section = page.get_by_test_id("sv-manual")
    await expect(section).to_be_visible()
    await section.get_by_test_id("manual-bp").focus()
    await page.keyboard.type("210/80")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.type("97")
    await page.keyboard.press("Enter")
    await expect(section.get_by_test_id("manual-status")).to_contain_text("Saved: BP 210/80")
    await expect(page.get_by_test_id("chart-bp")).to_have_attribute("data-manual", "2")
    await expect(page.get_by_test_id("chart-spo2")).to_have_attribute("data-manual", "1")
    await expect(page.get_by_test_id("sv-events")).to_contain_text("Typed in")
    entries = await typed_in(hl7_api, session["id"])
    assert len(entries) == 1
    entry = section.get_by_test_id(f"manual-entry-{entries[0]['id']}")
    await section.get_by_test_id(f"strike-{entries[0]['id']}").click()
    await expect(section.get_by_test_id("strike-reason")).to_be_focused()
    await page.keyboard.type("typed 210 for 120")
    await page.keyboard.press("Enter")
    await expect(entry).to_contain_text("struck by nurse: typed 210 for 120")
    await expect(entry).to_have_class("struck")
    # retried: the list is drawn again on live events (a detached span has no style)
    await expect(entry.locator("span").first).to_have_css("text-decoration-line", "line-through")
    # Out of the trends, on the timeline, kept in the record.
    await expect(page.get_by_test_id("chart-bp")).to_have_attribute("data-manual", "0")
    await expect(page.get_by_test_id("chart-spo2")).to_have_attribute("data-manual", "0")
    await expect(page.get_by_test_id("sv-events")).to_contain_text("Struck out")
    kept = await typed_in(hl7_api, session["id"])
    assert [(e["sbp"], e["struck"], e["struck_by"]) for e in kept] == [(210.0, True, "nurse")]
    # Typed in elsewhere (another screen, the /manual page): this page's list and trends follow.
    r = await hl7_api.http.post(
        f"/api/v1/sessions/{session['id']}/readings",
        json={"sbp": 120, "dbp": 80},
        headers=await hl7_api.auth(),
    )
    assert r.status_code == 201, r.text
    await expect(section.get_by_test_id("manual-list")).to_contain_text("BP 120/80")
    await expect(page.get_by_test_id("chart-bp")).to_have_attribute("data-manual", "2")
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.browser
async def test_the_monitors_own_alarms_reach_the_tile_and_the_timeline(
    sign_in: SignIn, hl7_api: Api, hl7_server: ServerProcess, shot: Shot
) -> None:
    who, device, session = await hl7_monitored(hl7_api)
    sid = session["id"]
    page = await sign_in(hl7_server.url)
    tile = page.get_by_test_id(f"tile-{sid}")
    line = page.get_by_test_id(f"tile-monitor-{sid}")
    await expect(tile).to_be_visible()
    await expect(line).to_be_hidden()
    t = int(time.time()) - 20
    acks = await send(
        hl7_server,
        oru_r01("mindray", who, "v1", t, {"hr": 72, "spo2": 97, "rr": 33}),
        r40(who, "m1", t + 1, "** RR High", "PM", "SP", "start", RR_HIGH, "rr", 33),
    )
    assert acks == ["AA", "AA"]
    await expect(line).to_be_visible()
    await expect(line).to_contain_text("Monitor: ** RR High")
    await expect(line).to_have_attribute("data-priority", "medium")
    await expect(line).to_have_attribute("data-kind", "physiological")
    # It is the monitor's, not VitalWatch's: no alarm, no flashing tile, no alarm list entry.
    assert await alarms(hl7_api, sid) == []
    await expect(tile).to_have_attribute("data-alarm", "none")
    await expect(page.get_by_test_id("alarm-list")).not_to_contain_text("RR High")
    acks = await send(
        hl7_server,
        r40(who, "m2", t + 3, "Lead off", "PL", "ST", "start", LEAD_OFF),
        r40(who, "m3", t + 4, "** RR High", "PM", "SP", "end", RR_HIGH, "rr", 20),
    )
    assert acks == ["AA", "AA"]
    # The RR alarm ended on the monitor: the tile shows what stands, lead off, in cyan.
    await expect(line).to_contain_text("Monitor: Lead off")
    await expect(line).to_have_attribute("data-kind", "technical")
    colour = await line.evaluate("e => getComputedStyle(e).color")
    assert colour == await page.evaluate(_CSS_COLOUR, "--tech")
    await expect(line).not_to_contain_text("RR High")
    await shot(page, "station-monitor-alarm.png")
    # A page opened now is given the standing alarms by the service.
    fresh = await sign_in(hl7_server.url)
    await expect(fresh.get_by_test_id(f"tile-monitor-{sid}")).to_contain_text("Monitor: Lead off")
    # A PID that is not the session's patient: a warning in words on the timeline.
    assert await send(hl7_server, oru_r01("mindray", who, "v2", t + 5, {"hr": 73}, "OTHER-77")) == [
        "AA"
    ]
    await fresh.goto(f"{hl7_server.url}/sessions/{sid}")
    # The session page shows what stands now, apart from VitalWatch's alarms.
    standing = fresh.get_by_test_id("sv-monitor")
    await expect(standing).to_contain_text("Monitor: Lead off · since")
    await expect(standing).to_contain_text(device["name"])
    await expect(standing).not_to_contain_text("RR High")
    await expect(fresh.get_by_test_id("sv-alarm-list")).to_be_empty()
    events = fresh.get_by_test_id("sv-events")
    # Technical (lead off) apart from the patient's, in words and colours.
    entries = events.locator('li[data-kind="monitor_alarm"]')
    await expect(entries).to_contain_text(
        [
            "Monitor's own alarm PATIENT · MEDIUM: ** RR High (patient alarm)",
            "Monitor's own alarm TECHNICAL: Lead off (technical alarm)",
            "Monitor's own alarm PATIENT · MEDIUM: ** RR High (patient alarm, ended)",
        ]
    )
    patient, technical, ended = entries.nth(0), entries.nth(1), entries.nth(2)
    await expect(patient).to_have_attribute("data-alarm-kind", "physiological")
    await expect(technical).to_have_attribute("data-alarm-kind", "technical")
    await expect(ended).to_have_attribute("data-active", "false")
    # Read at once in the page: the timeline is redrawn whole on every refresh.
    colours = await events.evaluate(
        "ol => [...ol.querySelectorAll('li[data-kind=\"monitor_alarm\"]')].map((li) => "
        "[getComputedStyle(li).borderLeftColor, getComputedStyle(li).color])"
    )
    tech, medium = [await fresh.evaluate(_CSS_COLOUR, v) for v in ("--tech", "--medium")]
    assert colours[1] == [tech, tech]  # the technical entry: cyan edge, cyan words
    assert colours[0][0] == medium and colours[0][1] != tech  # the patient's: its priority
    r = await hl7_api.http.get(f"/api/v1/sessions/{sid}/events", headers=await hl7_api.auth())
    marks = [
        (m["kind"], m["priority"], m["active"])
        for m in (e["monitor_alarm"] for e in r.json() if e["kind"] == "monitor_alarm")
    ]
    assert marks == [
        ("physiological", "medium", True),
        ("technical", "low", True),
        ("physiological", "medium", False),
    ]
    await expect(events).to_contain_text(
        f"{device['name']} sends patient ID OTHER-77, not this session's patient"
    )
    await expect(events.locator('li[data-kind="monitor_warning"]')).to_have_count(1)
    await expect(events.locator('li[data-kind="monitor_alarm"]')).to_have_count(3)
    await events.scroll_into_view_if_needed()
    await shot(fresh, "session-monitor-timeline.png")
    assert page.errors == [] and fresh.errors == []  # type: ignore[attr-defined]


@pytest.mark.browser
async def test_the_ward_strip_shows_other_rooms_monitor_alarms_as_the_tiles_do(
    sign_in: SignIn, hl7_api: Api, hl7_server: ServerProcess, shot: Shot
) -> None:
    """On one session's page, another room's monitor alarm (ORU^R40) appears in
    the strip live, worst first and in the tile's colours; a page opened later
    is given it by the service (the standing list the station asks for)."""
    _, here = await hl7_api.monitored()
    who, _, other = await hl7_monitored(hl7_api)
    oid = other["id"]
    page = await sign_in(hl7_server.url, path=f"/sessions/{here['id']}")
    chip = page.get_by_test_id(f"chip-{oid}")
    line = page.get_by_test_id(f"chip-monitor-{oid}")
    t = int(time.time()) - 20
    acks = await send(hl7_server, oru_r01("mindray", who, "w0", t, {"hr": 72, "spo2": 97}))
    assert acks == ["AA"]
    await expect(chip).to_contain_text("OK")
    await expect(line).to_be_hidden()
    acks = await send(hl7_server, r40(who, "w1", t + 1, "Lead off", "PL", "ST", "start", LEAD_OFF))
    assert acks == ["AA"]
    await expect(line).to_contain_text("Monitor: Lead off · since")
    await expect(line).to_have_attribute("data-kind", "technical")
    tech = await page.evaluate(_CSS_COLOUR, "--tech")
    assert await line.evaluate("e => getComputedStyle(e).color") == tech
    acks = await send(
        hl7_server, r40(who, "w2", t + 2, "*** RR High", "PH", "SP", "start", RR_HIGH, "rr", 35)
    )
    assert acks == ["AA"]
    # Worst first, as on the tile: the high patient alarm, and one more.
    await expect(line).to_contain_text("Monitor: *** RR High · since")
    await expect(line).to_contain_text("(+1 more)")
    await expect(line).to_have_attribute("data-priority", "high")
    await expect(line).to_have_attribute("data-kind", "physiological")
    # The monitor's, not VitalWatch's: the chip's own state stays OK, not flashing.
    await expect(chip).to_have_attribute("data-alarm", "none")
    await expect(chip).to_contain_text("OK")
    await shot(page, "strip-monitor-alarm.png")
    fresh = await sign_in(hl7_server.url, path=f"/sessions/{here['id']}")
    await expect(fresh.get_by_test_id(f"chip-monitor-{oid}")).to_contain_text("*** RR High")
    assert page.errors == [] and fresh.errors == []  # type: ignore[attr-defined]


async def test_standing_monitor_alarms_end_with_the_monitor_or_time_out(
    hl7_api: Api, hl7_server: ServerProcess
) -> None:
    """GET /api/v1/monitor-alarms: what stands now on the active sessions."""
    who, _, session = await hl7_monitored(hl7_api)
    sid = session["id"]
    t = int(time.time()) - 30
    acks = await send(
        hl7_server,
        r40(who, "s1", t, "** RR High", "PM", "SP", "start", RR_HIGH, "rr", 33),
        r40(who, "s2", t + 1, "Lead off", "PL", "ST", "start", LEAD_OFF),
        r40(who, "s3", t + 2, "Lead off", "PL", "ST", "end", LEAD_OFF),
    )
    assert acks == ["AA"] * 3

    async def standing() -> list[tuple[str, bool]]:
        r = await hl7_api.http.get("/api/v1/monitor-alarms", headers=await hl7_api.auth())
        assert r.status_code == 200, r.text
        return [(a["message"], a["active"]) for a in r.json() if a["session_id"] == sid]

    assert await standing() == [("Monitor: ** RR High", True)]
    # A "continue" keeps it standing; none for 10 min (a lost "end"): it times out.
    old = (now_utc() - timedelta(seconds=601)).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLite's form
    await hl7_server.sql(
        "UPDATE monitor_alarms SET received_at = :old WHERE session_id = :s", old=old, s=sid
    )
    assert await standing() == []
    assert await send(
        hl7_server, r40(who, "s4", t + 3, "** RR High", "PM", "SP", "continue", RR_HIGH)
    ) == ["AA"]
    assert await standing() == [("Monitor: ** RR High", True)]
    # Ending the session ends what stood on it.
    r = await hl7_api.http.post(f"/api/v1/sessions/{sid}/end", headers=await hl7_api.auth())
    assert r.status_code == 200
    assert await standing() == []
    r = await hl7_api.http.get("/api/v1/monitor-alarms")
    assert r.status_code == 401
