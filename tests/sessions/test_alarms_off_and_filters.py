"""Alarms switched off (reason, timeline, `alarms_off`), past-session filters and
the tiles' batch trends, through the real server."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import websockets

from tests.support import NURSE, Api, ServerProcess, iso, now_utc, samples


async def _session(api: Api, sid: int) -> dict[str, Any]:
    r = await api.http.get(f"/api/v1/sessions/{sid}", headers=await api.auth())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _events(api: Api, sid: int) -> list[dict[str, Any]]:
    r = await api.http.get(f"/api/v1/sessions/{sid}/events", headers=await api.auth())
    return list(r.json())


async def test_removing_a_limit_is_an_alarm_off_with_its_reason(
    api: Api, server: ServerProcess
) -> None:
    _, session = await api.monitored()
    sid = session["id"]
    assert session["alarms_off"] == []
    token = await api.token(NURSE)
    async with websockets.connect(f"{server.ws_url}?token={token}", open_timeout=10) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "snapshot"
        r = await api.http.patch(
            f"/api/v1/sessions/{sid}/thresholds",
            json={"spo2": {"low": None, "critical_low": None}, "reason": "probe keeps slipping"},
            headers=await api.auth(),
        )
        assert r.status_code == 200, r.text
        assert r.json()["spo2"]["low"] is None
        # published through the existing session event, with the list
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if msg["type"] == "session" and msg["session"]["id"] == sid:
                break
    off = msg["session"]["alarms_off"]
    assert [(a["metric"], a["limit"]) for a in off] == [("spo2", "critical_low"), ("spo2", "low")]
    assert off[1] == {
        "metric": "spo2",
        "limit": "low",
        "default": 92,
        "value": None,
        "label": "SpO2 low",
    }
    assert (await _session(api, sid))["alarms_off"] == off

    timeline = await _events(api, sid)
    assert [e["kind"] for e in timeline] == ["alarm_off"]
    assert timeline[0]["detail"] == (
        "alarm off: SpO2 high-priority low, SpO2 low (probe keeps slipping)"
    )
    rows = await server.sql(
        "SELECT detail FROM audit_log WHERE action='session.thresholds' AND entity_id=:sid",
        sid=sid,
    )
    detail = rows[0][0] if isinstance(rows[0][0], dict) else json.loads(rows[0][0])
    assert detail["reason"] == "probe keeps slipping"
    assert detail["alarms_off"] == ["SpO2 high-priority low", "SpO2 low"]

    # back on: the list empties and the timeline says so
    r = await api.http.patch(
        f"/api/v1/sessions/{sid}/thresholds",
        json={"spo2": {"low": 92, "critical_low": 88}},
        headers=await api.auth(),
    )
    assert r.status_code == 200, r.text
    assert (await _session(api, sid))["alarms_off"] == []
    timeline = await _events(api, sid)
    assert [e["kind"] for e in timeline] == ["alarm_off", "alarm_on"]
    assert timeline[1]["detail"] == "alarm back on: SpO2 high-priority low, SpO2 low"


async def test_an_alarm_delay_over_the_maximum_is_an_alarm_off(api: Api) -> None:
    _, session = await api.monitored()
    sid = session["id"]
    # at the clinic's maximum (60 s by default) it is still on
    r = await api.http.patch(
        f"/api/v1/sessions/{sid}/thresholds", json={"hr": {"for_s": 60}}, headers=await api.auth()
    )
    assert r.status_code == 200
    assert (await _session(api, sid))["alarms_off"] == []
    r = await api.http.patch(
        f"/api/v1/sessions/{sid}/thresholds",
        json={"hr": {"for_s": 3600}, "baseline_rise": {"sbp": None}},
        headers=await api.auth(),
    )
    assert r.status_code == 200
    off = (await _session(api, sid))["alarms_off"]
    assert {(a["metric"], a["limit"], a["value"]) for a in off} == {
        ("hr", "for_s", 3600),
        ("sbp", "baseline_rise", None),
    }
    # no reason sent: the timeline says so rather than inventing one
    assert (await _events(api, sid))[-1]["detail"] == (
        "alarm off: HR alarm delay 3600 s, SBP rise over baseline (no reason given)"
    )


async def test_a_reason_that_is_too_long_is_a_422_and_nothing_changes(api: Api) -> None:
    _, session = await api.monitored()
    sid = session["id"]
    r = await api.http.patch(
        f"/api/v1/sessions/{sid}/thresholds",
        json={"spo2": {"low": None}, "reason": "x" * 501},
        headers=await api.auth(),
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "reason"]
    assert (await _session(api, sid))["thresholds"]["spo2"]["low"] == 92
    assert await _events(api, sid) == []


async def test_past_sessions_by_room_patient_and_day(api: Api) -> None:
    device = await api.device()
    body = {
        "patient": {"ref": "MRN-PAST-77", "display_name": "Ada Lovelace"},
        "protocol": "ketamine-im",
        "room": "Room Past-9",
        "device_ids": [device["id"]],
    }
    r = await api.http.post("/api/v1/sessions", json=body, headers=await api.auth())
    first = r.json()
    await api.http.post(f"/api/v1/sessions/{first['id']}/end", headers=await api.auth())
    r = await api.http.post("/api/v1/sessions", json=body, headers=await api.auth())
    second = r.json()  # the same patient again, still running
    other = await api.session([], room="Room Past-10")

    async def ids(**params: Any) -> list[int]:
        r = await api.http.get("/api/v1/sessions", params=params, headers=await api.auth())
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()]

    assert await ids(room="room past-9") == [second["id"], first["id"]]
    assert await ids(room="Room Past-9", status="ended") == [first["id"]]
    assert await ids(patient="MRN-PAST-77") == [second["id"], first["id"]]
    assert await ids(patient="lovel") == [second["id"], first["id"]]
    assert await ids(patient="MRN-PAST") == []  # a reference matches whole, not in part
    assert await ids(patient="%") == []  # wildcards are taken literally
    now = now_utc()
    today = await ids(since=iso(now - timedelta(hours=1)), until=iso(now + timedelta(minutes=1)))
    assert {first["id"], second["id"], other["id"]} <= set(today)
    assert await ids(since=iso(now + timedelta(minutes=1)), room="Room Past-9") == [second["id"]]
    assert await ids(until=iso(now - timedelta(hours=1)), room="Room Past-9") == []
    assert await ids(room="Room Past-9", limit=1) == [second["id"]]
    bad = await api.http.get(
        "/api/v1/sessions", params={"since": "yesterday"}, headers=await api.auth()
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "since"]
    naive = await api.http.get(
        "/api/v1/sessions", params={"since": "2026-01-01T00:00:00"}, headers=await api.auth()
    )
    assert naive.status_code == 422


async def test_protocols_in_the_clinics_words(api: Api) -> None:
    r = await api.http.get("/api/v1/sessions/protocols", headers=await api.auth())
    assert r.status_code == 200
    by_name = {p["name"]: p for p in r.json()}
    assert by_name["ketamine-iv"]["label"] == "Ketamine IV infusion"
    assert by_name["esketamine-in"]["observation_min"] == 120
    assert by_name["ketamine-iv"]["thresholds"]["spo2"]["low"] == 92
    assert by_name["custom"]["max_sustain_s"] == 60
    assert (await api.http.get("/api/v1/sessions/protocols")).status_code == 401


async def test_trends_of_several_sessions_in_one_request(api: Api) -> None:
    dev_a, a = await api.monitored()
    dev_b, b = await api.monitored()
    t0 = now_utc() - timedelta(minutes=5)
    assert (await api.post(dev_a["token"], samples(t0, 30, hr=70, spo2=97))).status_code == 202
    assert (await api.post(dev_b["token"], samples(t0, 10, hr=90))).status_code == 202
    r = await api.http.get(
        "/api/v1/sessions/trends",
        params=[
            ("session_id", a["id"]),
            ("session_id", b["id"]),
            ("metric", "hr"),
            ("metric", "spo2"),
            ("since", iso(t0 + timedelta(seconds=20))),
        ],
        headers=await api.auth(),
    )
    assert r.status_code == 200, r.text
    got = {(i["session_id"], i["metric"]): i["values"] for i in r.json()["items"]}
    assert got == {
        (a["id"], "hr"): [70.0] * 10,
        (a["id"], "spo2"): [97.0] * 10,
        (b["id"], "hr"): [],
        (b["id"], "spo2"): [],
    }
    r = await api.http.get(
        "/api/v1/sessions/trends",
        params=[("session_id", a["id"]), ("metric", "hr"), ("max_points", 4)],
        headers=await api.auth(),
    )
    assert len(r.json()["items"][0]["values"]) <= 4
    missing = await api.http.get(
        "/api/v1/sessions/trends",
        params=[("session_id", 999_999), ("metric", "hr")],
        headers=await api.auth(),
    )
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]
    for params in ([("session_id", 0), ("metric", "hr")], [("session_id", a["id"])]):
        bad = await api.http.get("/api/v1/sessions/trends", params=params, headers=await api.auth())
        assert bad.status_code == 422, params
