"""Delivery confirmed: dashboards say what they showed; an alert that reached no
visible screen with sound on within 5 s goes to people, measured."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.support import Api, ServerProcess, connect, now_utc, recv, samples, until, wait_for


async def the_alarm(api: Api, session_id: int) -> dict[str, Any]:
    r = await api.http.get(
        "/api/v1/alarms", params={"session_id": session_id}, headers=await api.auth()
    )
    [alarm] = [a for a in r.json() if a["kind"] == "physiological"]
    return dict(alarm)


async def test_a_watching_dashboard_confirms_and_nothing_escalates(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    ws = await connect(server, api)
    await recv(ws)
    await ws.send(json.dumps({"type": "status", "visible": True, "sound": True}))
    await api.post(device["token"], samples(now_utc(), 1, sbp=190, dbp=95, hr=80))
    event = await until(ws, lambda m: m["type"] == "alarm")
    await ws.send(json.dumps({"type": "received", "event_ids": [event["event_id"]]}))

    async def seen() -> dict[str, Any] | None:
        alarm = await the_alarm(api, session["id"])
        return alarm if alarm["delivery"]["first_seen_at"] else None

    alarm = await wait_for(seen, timeout=5)
    assert alarm["delivery"]["dashboards"] == 1
    assert alarm["delivery"]["first_delivered_at"] is not None
    await asyncio.sleep(6.5)  # past the 5-s rule: a confirmed alert waits for its 60 s
    assert (await the_alarm(api, session["id"]))["escalated_at"] is None
    await ws.close()


async def test_an_alert_shown_only_on_a_hidden_page_goes_to_people_within_6_s(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    ws = await connect(server, api)
    await recv(ws)
    await ws.send(json.dumps({"type": "status", "visible": False, "sound": True}))
    sent = time.monotonic()
    await api.post(device["token"], samples(now_utc(), 1, sbp=190, dbp=95, hr=80))
    event = await until(ws, lambda m: m["type"] == "alarm")
    await ws.send(json.dumps({"type": "received", "event_ids": [event["event_id"]]}))
    escalated = await until(
        ws, lambda m: m["type"] == "alarm" and m["action"] == "escalated", timeout=8
    )
    took = time.monotonic() - sent
    assert 4.5 <= took <= 6.5, took
    assert escalated["alarm"]["escalated_at"] is not None
    alarm = await the_alarm(api, session["id"])
    assert alarm["escalated_at"] is not None and alarm["delivery"]["first_seen_at"] is None
    assert alarm["delivery"]["dashboards"] == 1
    await ws.close()


async def test_an_alert_with_no_dashboard_at_all_goes_to_people(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    t = now_utc() - timedelta(seconds=1)
    await api.post(device["token"], samples(t, 1, sbp=190, dbp=95, hr=80))

    async def escalated() -> dict[str, Any] | None:
        alarm = await the_alarm(api, session["id"])
        return alarm if alarm["escalated_at"] else None

    alarm = await wait_for(escalated, timeout=8)
    assert alarm["delivery"]["dashboards"] == 0
    r = await api.http.get(f"/api/v1/alarms/{alarm['id']}/log", headers=await api.auth())
    [entry] = [e for e in r.json() if e["action"] == "escalated"]
    assert "on no visible screen with sound on within 5 s" in entry["message"]


async def test_no_dashboard_watching_is_an_alarm_of_its_own_sent_to_people(
    new_server: Callable[..., ServerProcess],
) -> None:
    server = new_server(VITALWATCH_UNWATCHED_AFTER_S="5")
    server.start()
    api = Api(server.url)
    try:
        await api.monitored()  # a session is being monitored, and no screen is open

        async def station() -> list[dict[str, Any]]:
            r = await api.http.get(
                "/api/v1/alarms", params={"state": "active"}, headers=await api.auth()
            )
            return [a for a in r.json() if a["rule"] == "no_dashboard"]

        [alarm] = await wait_for(station, timeout=12)
        assert alarm["session_id"] is None and alarm["kind"] == "technical"
        assert alarm["priority"] == "high" and alarm["escalated_at"] is not None
        assert alarm["message"].startswith("No dashboard is watching")
        # a dashboard opens: it is told, and once it is visible with sound on it clears
        ws = await connect(server, api)
        snapshot = await recv(ws)
        assert alarm["id"] in [a["id"] for a in snapshot["alarms"]]
        await ws.send(json.dumps({"type": "status", "visible": True, "sound": True}))
        await until(
            ws,
            lambda m: (
                m["type"] == "alarm"
                and m["alarm"]["rule"] == "no_dashboard"
                and m["alarm"]["state"] == "resolved"
            ),
            timeout=8,
        )
        await ws.close()
    finally:
        await api.aclose()
