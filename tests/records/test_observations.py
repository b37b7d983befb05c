"""Observations through the real server; MOAA/S <= 2 raises the high sedation alarm."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import websockets

from tests.support import Api, ServerProcess, iso, now_utc, observe, wait_for


async def _sedation(api: Api, sid: int) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/alarms", params={"session_id": sid}, headers=await api.auth())
    return [a for a in r.json() if a["rule"] == "sedation"]


async def test_observations_are_stored_listed_and_trended(api: Api) -> None:
    _, session = await api.monitored(
        "esketamine-in", started_at=iso(now_utc() - timedelta(minutes=10))
    )
    sid, h = session["id"], await api.auth()
    first = await observe(
        api, sid, moass=5, dissociation="none", ts=iso(now_utc() - timedelta(minutes=5))
    )
    await observe(
        api, sid, moass=4, dissociation="mild", cadss=12, nausea=True, note="feels floaty"
    )
    listed = (await api.http.get(f"/api/v1/sessions/{sid}/observations", headers=h)).json()
    assert [o["moass"] for o in listed] == [5, 4] and listed[1]["created_by"] == "nurse"
    assert listed[0]["id"] == first["id"] and listed[1]["nausea"] is True
    series = (
        await api.http.get(
            f"/api/v1/sessions/{sid}/observations/series", params={"field": "moass"}, headers=h
        )
    ).json()
    assert series["values"] == [5, 4] and len(series["ts"]) == 2
    empty = await api.http.post(f"/api/v1/sessions/{sid}/observations", json={}, headers=h)
    assert empty.status_code == 422
    bad = await api.http.post(f"/api/v1/sessions/{sid}/observations", json={"moass": 6}, headers=h)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "moass"]
    future = await api.http.post(
        f"/api/v1/sessions/{sid}/observations",
        json={"moass": 5, "ts": iso(now_utc() + timedelta(hours=1))},
        headers=h,
    )
    assert future.status_code == 422
    await api.http.post(f"/api/v1/sessions/{sid}/end", headers=h)
    ended = await api.http.post(
        f"/api/v1/sessions/{sid}/observations", json={"moass": 5}, headers=h
    )
    assert ended.status_code == 409


async def test_moass_2_raises_a_high_latching_alarm_resolved_after_ack_and_recovery(
    api: Api, server: ServerProcess
) -> None:
    _, session = await api.monitored("ketamine-iv")
    sid, h = session["id"], await api.auth()
    await observe(api, sid, moass=2)
    alarms = await wait_for(lambda: _sedation(api, sid))
    alarm = alarms[0]
    assert alarm["priority"] == "high" and alarm["state"] == "active"
    assert (
        alarm["message"] == "Sedation: MOAA/S 2 (at or below 2)"
        and alarm["kind"] == "physiological"
    )
    # a better score clears the condition, but a high alarm latches until acknowledged
    await observe(api, sid, moass=4)
    await asyncio.sleep(0.3)
    latched = (await _sedation(api, sid))[0]
    assert latched["state"] == "active" and latched["condition_active"] is False
    ack = await api.http.post(f"/api/v1/alarms/{alarm['id']}/ack", headers=h)
    assert ack.status_code == 200
    assert (await _sedation(api, sid))[0]["state"] == "resolved"
    # the other order: acknowledged while still sedated, resolved by MOAA/S 3
    await observe(api, sid, moass=1)
    second = (await wait_for(lambda: _open(api, sid)))[0]
    assert second["id"] != alarm["id"] and second["value"] == 1
    await api.http.post(f"/api/v1/alarms/{second['id']}/ack", headers=h)
    assert (await _open(api, sid))[0]["state"] == "acknowledged"
    await observe(api, sid, moass=3)
    await wait_for(lambda: _none_open(api, sid))
    log = (await api.http.get(f"/api/v1/alarms/{second['id']}/log", headers=h)).json()
    assert [e["action"] for e in log] == ["raised", "acknowledged", "resolved"]
    assert log[1]["user"] == "nurse"
    rows = await server.sql("SELECT rule, priority FROM alarms WHERE session_id=:sid", sid=sid)
    assert sorted(rows) == [("sedation", "high"), ("sedation", "high")]


async def _open(api: Api, sid: int) -> list[dict[str, Any]]:
    return [a for a in await _sedation(api, sid) if a["state"] != "resolved"]


async def _none_open(api: Api, sid: int) -> bool:
    return not await _open(api, sid)


async def test_observation_event_reaches_dashboards_with_readiness(
    api: Api, server: ServerProcess
) -> None:
    _, session = await api.monitored("esketamine-in")
    sid = session["id"]
    token = await api.token(("nurse", "nurse-password-1"))
    async with websockets.connect(f"{server.ws_url}?token={token}", open_timeout=10) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "snapshot"
        await observe(api, sid, moass=5)
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if msg["type"] == "session" and msg["session"]["id"] == sid:
                break
            assert asyncio.get_running_loop().time() < deadline
        assert msg["session"]["readiness"]["applies"] is False  # no dose yet
        assert msg["session"]["readiness"]["reasons"] == ["No dose given yet"]
