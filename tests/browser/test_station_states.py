"""What a nurse sees on the station: flashing that runs on through updates, the
value in alarm in its colour, "unanswered" timers, technical alarms in cyan
with their values blanked, "No monitor", alarms switched off, ending with
alarms open, past sessions, the sound banner and the delivery messages."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.support import Api, ServerProcess, Shot, SignIn, iso, now_utc, samples, wait_for

pytestmark = pytest.mark.browser


async def _alarms(api: Api, session_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(
        "/api/v1/alarms", params={"session_id": session_id}, headers=await api.auth()
    )
    return list(r.json())


async def _feed(api: Api, token: str, seconds: float, seq0: int, **values: float) -> int:
    """Post one sample every 250 ms for `seconds` (the monitor keeps sending)."""
    seq = seq0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await api.post(token, [{"ts": iso(now_utc()), "seq": seq, **values}])
        seq += 1
        await asyncio.sleep(0.25)
    return seq


async def _colour(page: Page, selector: str) -> str:
    return str(await page.eval_on_selector(selector, "el => getComputedStyle(el).color"))


async def test_high_alarm_flashes_through_updates_with_its_value_in_red(
    sign_in: SignIn, server: ServerProcess, api: Api, shot: Shot
) -> None:
    device, session = await api.monitored()
    sid = session["id"]
    t0 = now_utc() - timedelta(seconds=20)
    await api.post(device["token"], samples(t0, 17, spo2=84, hr=80, rr=14))
    page = await sign_in(server.url)
    tile = page.get_by_test_id(f"tile-{sid}")
    await expect(tile).to_have_attribute("data-alarm", "high")
    await expect(tile.get_by_test_id("tile-alarm")).to_contain_text("SpO2 84% below 88%")
    await expect(tile.get_by_test_id("tile-answer")).to_contain_text("unanswered 0:")
    first = await tile.evaluate("el => el.getAnimations().map(a => a.animationName)")
    assert first == ["flash-high"]
    # values keep coming (a vitals frame every 250 ms): the animation runs on
    feeding = asyncio.create_task(_feed(api, device["token"], 3.0, 100, spo2=84, hr=80, rr=14))
    times = []
    for _ in range(6):
        await page.wait_for_timeout(450)
        times.append(await tile.evaluate("el => el.getAnimations()[0].currentTime"))
    await feeding
    assert times == sorted(times) and times[-1] - times[0] > 2000, times
    # IEC 60601-1-8: high ~2 Hz
    duration = await tile.evaluate("el => getComputedStyle(el).animationDuration")
    assert duration == "0.5s"
    # the value in alarm takes the priority colour; the others stay white (a colour means an alarm)
    assert await _colour(page, f"[data-testid=tile-{sid}] .vital.spo2 .value") == "rgb(255, 59, 59)"
    assert await _colour(page, f"[data-testid=tile-{sid}] .vital.hr .value") == "rgb(242, 245, 248)"
    # the alarm's live message and value, and its running "unanswered" time
    alarm = (await _alarms(api, sid))[0]
    row = page.get_by_test_id(f"alarm-{alarm['id']}")
    await expect(row.get_by_test_id(f"answer-{alarm['id']}")).to_contain_text("unanswered")
    before = await row.get_by_test_id(f"answer-{alarm['id']}").text_content()
    await page.wait_for_timeout(1100)
    assert await row.get_by_test_id(f"answer-{alarm['id']}").text_content() != before
    await expect(row.get_by_test_id(f"alarm-msg-{alarm['id']}")).to_have_text(alarm["message"])
    await shot(page, "station-high-alarm.png")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_lost_signal_is_technical_cyan_and_blanks_the_value(
    sign_in: SignIn, server: ServerProcess, api: Api, shot: Shot
) -> None:
    device, session = await api.monitored()
    sid = session["id"]
    seq = await _feed(api, device["token"], 1.0, 0, hr=72, spo2=97, rr=14)
    page = await sign_in(server.url)
    tile = page.get_by_test_id(f"tile-{sid}")
    await expect(tile.get_by_test_id("spo2")).to_contain_text("97")
    # the probe comes off: HR and RR go on, no SpO2 for more than 15 s
    await _feed(api, device["token"], 17.5, seq, hr=72, rr=14)
    await expect(tile.get_by_test_id("alarm-label")).to_have_text("No SpO2 signal", timeout=10_000)
    await expect(tile).to_have_attribute("data-kind", "technical")
    await expect(tile.get_by_test_id("spo2")).to_have_attribute("data-blanked", "true")
    await expect(tile.get_by_test_id("spo2").locator(".value")).to_have_text(
        "\u2013 \u2013 \u2013"
    )  # blanked
    await expect(tile.get_by_test_id("hr").locator(".value")).to_have_text("72")
    border = await tile.evaluate("el => getComputedStyle(el).borderTopColor")
    assert border == "rgb(25, 211, 240)"  # cyan
    alarm = next(a for a in await _alarms(api, sid) if a["kind"] == "technical")
    kind = page.get_by_test_id(f"alarm-{alarm['id']}").locator(".a-kind")
    await expect(kind).to_have_text("No SpO2 signal")
    await shot(page, "station-technical-alarm.png")


async def test_a_session_nobody_measures_says_no_monitor(
    sign_in: SignIn, server: ServerProcess, api: Api
) -> None:
    nothing = await api.session([], room="Room NM")
    silent_device = await api.device()
    silent = await api.session([silent_device["id"]], room="Room NS")
    page = await sign_in(server.url)
    for s in (nothing, silent):
        tile = page.get_by_test_id(f"tile-{s['id']}")
        await expect(tile.get_by_test_id("alarm-label")).to_have_text("No monitor")
        await expect(tile).to_have_attribute("data-nomonitor", "true")
    await expect(
        page.get_by_test_id(f"tile-{nothing['id']}").get_by_test_id("tile-alarm")
    ).to_have_text("No monitor: nobody is measuring this patient")
    await expect(
        page.get_by_test_id(f"tile-{silent['id']}").get_by_test_id("tile-alarm")
    ).to_contain_text("has sent nothing")
    assert "OK" not in (await page.get_by_test_id(f"tile-{nothing['id']}").inner_text())


async def test_switching_an_alarm_off_asks_why_and_shows_on_the_tile(
    sign_in: SignIn, server: ServerProcess, api: Api, shot: Shot
) -> None:
    device, session = await api.monitored()
    sid = session["id"]
    await api.post(device["token"], samples(now_utc() - timedelta(seconds=5), 3, hr=70, spo2=97))
    page = await sign_in(server.url, path=f"/sessions/{sid}")
    await page.locator('input[name="spo2.low"]').fill("")
    await page.locator('input[name="spo2.critical_low"]').fill("")
    await page.get_by_test_id("save-limits").click()
    confirm = page.get_by_test_id("off-confirm")
    await expect(confirm).to_contain_text("SpO2 low")
    await expect(confirm).to_contain_text("SpO2 high-priority low")
    # no reason: not sent
    await page.get_by_test_id("off-confirm-yes").click()
    await expect(confirm).to_contain_text("Give a reason")
    got = (await api.http.get(f"/api/v1/sessions/{sid}", headers=await api.auth())).json()
    assert got["thresholds"]["spo2"]["low"] == 92
    await page.get_by_test_id("off-reason").fill("probe keeps slipping")
    await shot(page, "alarm-off-confirm.png")
    await page.get_by_test_id("off-confirm-yes").click()
    await expect(page.get_by_test_id("sv-off")).to_contain_text("SpO2 high-priority low, SpO2 low")
    await expect(page.get_by_test_id("sv-events")).to_contain_text(
        "Alarm off: SpO2 high-priority low, SpO2 low (probe keeps slipping)"
    )
    # the ward tile: an "alarm off" mark on SpO2 until it is back
    await page.get_by_test_id("ward-link").click()
    mark = page.get_by_test_id(f"alarm-off-spo2-{sid}")
    await expect(mark).to_be_visible()
    await expect(page.get_by_test_id(f"alarm-off-hr-{sid}")).to_be_hidden()
    await shot(page, "alarm-off-tile.png")
    r = await api.http.patch(
        f"/api/v1/sessions/{sid}/thresholds",
        json={"spo2": {"low": 92, "critical_low": 88}},
        headers=await api.auth(),
    )
    assert r.status_code == 200
    await expect(mark).to_be_hidden()


async def test_ending_with_unacknowledged_alarms_asks_and_the_session_stays_findable(
    sign_in: SignIn, server: ServerProcess, api: Api, shot: Shot
) -> None:
    device, session = await api.monitored()
    sid = session["id"]
    await api.post(device["token"], samples(now_utc() - timedelta(seconds=20), 17, spo2=84))
    page = await sign_in(server.url, path=f"/sessions/{sid}")
    await page.get_by_test_id("end-session").click()
    confirm = page.get_by_test_id("end-confirm")
    await expect(confirm).to_contain_text("1 alarm is not acknowledged")
    await expect(confirm).to_contain_text("SpO2 84% below 88%")
    await confirm.scroll_into_view_if_needed()
    await shot(page, "end-session-confirm.png")
    await page.get_by_test_id("end-confirm-yes").click()
    await expect(page.get_by_test_id("sv-ended")).to_contain_text("Session ended")
    ended = (await api.http.get(f"/api/v1/sessions/{sid}", headers=await api.auth())).json()
    assert ended["status"] == "ended"

    await page.goto(f"{server.url}/sessions")
    row = page.get_by_test_id(f"past-{sid}")
    await expect(row).to_contain_text(session["room"])
    await expect(row).to_contain_text("SpO2 84% below 88%")
    await expect(row).to_contain_text("never acknowledged")
    await expect(page.get_by_test_id(f"record-{sid}")).to_have_attribute(
        "href", f"/sessions/{sid}/record"
    )
    # by room, by patient; another day finds nothing
    await page.get_by_test_id("filter-room").fill(session["room"])
    await page.get_by_test_id("filter-patient").fill(session["patient"]["ref"])
    await page.click("#filters button[type=submit]")
    await expect(page.get_by_test_id("past-count")).to_have_text("1 session")
    await shot(page, "past-sessions.png")
    await page.get_by_test_id("filter-day").fill("2020-01-01")
    await page.click("#filters button[type=submit]")
    await expect(page.get_by_test_id("past-count")).to_have_text("No session matches.")
    assert page.errors == []  # type: ignore[attr-defined]


#: Every WebSocket frame the page receives and sends, timed by the page itself
#: (Playwright's own frame events arrive late on a busy machine).
WATCH_FRAMES = """(() => {
  const frames = (window.__frames = []);
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (ev) =>
        frames.push({ dir: "in", t: performance.now(), data: ev.data }));
    }
    send(data) { frames.push({ dir: "out", t: performance.now(), data }); return super.send(data); }
  };
})();"""


async def _frames(page: Page) -> list[dict[str, Any]]:
    raw = await page.evaluate("() => window.__frames")
    return [{"dir": f["dir"], "t": f["t"], **json.loads(f["data"])} for f in raw]


async def test_sound_banner_and_delivery_messages(
    sign_in: SignIn, server: ServerProcess, api: Api, shot: Shot
) -> None:
    device, session = await api.monitored()
    page = await sign_in(server.url)
    await page.add_init_script(WATCH_FRAMES)
    await page.reload()  # watched from the first frame of this connection
    await expect(page.get_by_test_id("link-status")).to_have_text("live")
    banner = page.get_by_test_id("sound-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("Sound is OFF")
    await shot(page, "sound-banner.png")
    frames = await _frames(page)
    # the page signs its socket in with its first message, then gets the snapshot
    assert (frames[0]["dir"], frames[0]["type"]) == ("out", "auth")
    assert next(f for f in frames if f["dir"] == "in")["type"] == "snapshot"
    statuses = [f for f in frames if f["dir"] == "out" and f["type"] == "status"]
    assert statuses and {k: statuses[0][k] for k in ("visible", "sound")} == {
        "visible": True,
        "sound": False,
    }

    await api.post(device["token"], samples(now_utc() - timedelta(seconds=20), 17, spo2=84))
    alarm = (await _alarms(api, session["id"]))[0]
    await expect(page.get_by_test_id(f"alarm-{alarm['id']}")).to_be_visible()

    async def confirmed() -> list[dict[str, Any]] | None:
        frames = await _frames(page)
        got = {f["event_id"] for f in frames if f["dir"] == "in" and f["type"] == "alarm"}
        sent = {
            e
            for f in frames
            if f["dir"] == "out" and f["type"] == "received"
            for e in f["event_ids"]
        }
        return frames if got and got <= sent else None

    frames = await wait_for(confirmed, timeout=5)
    for event in (f for f in frames if f["dir"] == "in" and f["type"] == "alarm"):
        first = min(
            f["t"]
            for f in frames
            if f["dir"] == "out" and f["type"] == "received" and event["event_id"] in f["event_ids"]
        )
        assert first - event["t"] < 250, (event["event_id"], first - event["t"])  # ms

    await page.get_by_test_id("sound-enable").click()
    await expect(banner).to_be_hidden()
    await expect(page.get_by_test_id("sound-toggle")).to_have_text("Sound on")

    async def last_status() -> dict[str, Any] | None:
        out = [f for f in await _frames(page) if f["dir"] == "out" and f["type"] == "status"]
        return {k: out[-1][k] for k in ("visible", "sound")} if out else None

    await wait_for(lambda: _is(last_status, {"visible": True, "sound": True}))
    # the page is hidden (another tab): it says so at once
    await page.evaluate(
        """() => {
            const hidden = {value: 'hidden', configurable: true};
            Object.defineProperty(document, 'visibilityState', hidden);
            document.dispatchEvent(new Event('visibilitychange'));
        }"""
    )
    await wait_for(lambda: _is(last_status, {"visible": False, "sound": True}))
    # sound switched off again: the red banner is back
    await page.get_by_test_id("sound-toggle").click()
    await expect(banner).to_be_visible()


async def _is(get: Any, wanted: dict[str, Any]) -> bool:
    return bool(await get() == wanted)


async def test_live_value_peak_and_conditions_when_the_server_sends_them(
    sign_in: SignIn, server: ServerProcess, api: Api
) -> None:
    """The one-entry-per-problem alarm (alerted_at, worst_value, conditions):
    rendered from the fields when present, from raised_at and message without."""
    device, session = await api.monitored()
    await api.post(device["token"], samples(now_utc() - timedelta(seconds=5), 2, sbp=164, dbp=90))
    alarm = next(a for a in await _alarms(api, session["id"]) if a["metric"] == "sbp")
    page = await sign_in(server.url)
    row = page.get_by_test_id(f"alarm-{alarm['id']}")
    await expect(row).to_contain_text(alarm["message"])  # today's object: message as sent
    assert "peak" not in await row.inner_text()
    alerted = iso(now_utc() - timedelta(seconds=80))
    newer = {
        **alarm,
        "priority": "high",
        "value": 204,
        "threshold": 180,
        "worst_value": 212,
        "worst_at": iso(now_utc() - timedelta(seconds=30)),
        "alerted_at": alerted,
        "message": "BP 204/122 mmHg: SBP above 180 mmHg, DBP above 110 mmHg",
        "conditions": [
            {
                "rule": "sbp_high",
                "metric": "sbp",
                "priority": "high",
                "active": True,
                "value": 204,
                "limit": 180,
            },
            {
                "rule": "dbp_high",
                "metric": "dbp",
                "priority": "high",
                "active": True,
                "value": 122,
                "limit": 110,
            },
        ],
    }
    await page.evaluate(
        "(a) => { const w = window.vitalwatch.ward; w.setAlarm(a); w.emit('alarm', a, null); }",
        newer,
    )
    await expect(row.get_by_test_id(f"alarm-msg-{alarm['id']}")).to_have_text(newer["message"])
    await expect(row).to_contain_text("worst 212 mmHg at")
    await expect(row).to_contain_text("SBP 204 (limit 180) · DBP 122 (limit 110)")
    await expect(row.get_by_test_id(f"answer-{alarm['id']}")).to_contain_text("unanswered 1:2")
    tile = page.get_by_test_id(f"tile-{session['id']}")
    await expect(tile).to_have_attribute("data-alarm", "high")
    await expect(tile.get_by_test_id("tile-alarm")).to_have_text(newer["message"])
    await expect(tile.get_by_test_id("bp")).to_have_attribute("data-alarm", "high")


async def test_observation_is_never_complete_on_a_tile_while_an_alarm_is_open(
    sign_in: SignIn, server: ServerProcess, api: Api
) -> None:
    begun = iso(now_utc() - timedelta(hours=2, minutes=10))
    rooms = [await api.monitored(started_at=begun) for _ in range(2)]
    for device, session in rooms:
        r = await api.http.post(
            f"/api/v1/sessions/{session['id']}/events",
            json={"kind": "dose", "ts": iso(now_utc() - timedelta(hours=2))},
            headers=await api.auth(),
        )
        assert r.status_code == 201, r.text
        await api.post(device["token"], samples(now_utc() - timedelta(seconds=3), 2, hr=70))
    (alarming, a_session), (_, calm) = rooms
    await api.post(alarming["token"], samples(now_utc() - timedelta(seconds=1), 1, seq0=9, sbp=170))
    page = await sign_in(server.url)
    timing = page.get_by_test_id(f"tile-{a_session['id']}").get_by_test_id("tile-timing")
    await expect(timing).to_contain_text("time over, alarm open")
    assert "complete" not in (await timing.text_content() or "")
    calm_timing = page.get_by_test_id(f"tile-{calm['id']}").get_by_test_id("tile-timing")
    # no alarm, time over: the record's readiness decides what the tile says
    # (nothing of the session was documented here: not ready, and it says so)
    await expect(calm_timing).to_contain_text("time over, not ready")
