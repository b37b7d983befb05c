"""Vitals typed in by a nurse, through a real server on both backends: stored
and evaluated like a device's, marked, audited, struck out."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from tests.support import Api, ServerProcess, iso, now_utc, samples, wait_for


async def enter(api: Api, session_id: int, **body: Any) -> Any:
    return await api.http.post(
        f"/api/v1/sessions/{session_id}/readings", json=body, headers=await api.auth()
    )


async def alarms_of(api: Api, session_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(
        "/api/v1/alarms", params={"session_id": session_id}, headers=await api.auth()
    )
    return list(r.json())


def same(alarm: dict[str, Any]) -> tuple[Any, ...]:
    return (alarm["rule"], alarm["priority"], alarm["metric"], alarm["value"], alarm["message"])


async def test_a_typed_bp_raises_the_alarm_a_devices_would(api: Api, server: ServerProcess) -> None:
    device, by_device = await api.monitored()
    _, typed = await api.monitored()
    r = await api.post(device["token"], [{"ts": iso(now_utc()), "seq": 1, "sbp": 196, "dbp": 104}])
    assert r.status_code == 202
    r = await enter(api, typed["id"], sbp=196, dbp=104)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["entered_by"] == "nurse" and entry["sbp"] == 196 and not entry["struck"]
    from_device, from_nurse = (
        await alarms_of(api, by_device["id"]),
        await alarms_of(api, typed["id"]),
    )
    assert from_nurse and [same(a) for a in from_nurse] == [same(a) for a in from_device]
    audit = await server.sql(
        "SELECT actor_name, detail FROM audit_log WHERE action='reading.manual' AND entity_id=:s",
        s=typed["id"],
    )
    assert len(audit) == 1 and audit[0][0] == "nurse"
    events = (
        await api.http.get(f"/api/v1/sessions/{typed['id']}/events", headers=await api.auth())
    ).json()
    assert [e["detail"] for e in events if e["kind"] == "manual_reading"] == [
        "Typed in: BP 196/104 (by nurse)"
    ]
    # The typed-in source is no monitor: not listed, never "offline".
    devices = (await api.http.get("/api/v1/devices", headers=await api.auth())).json()
    assert not any(d["name"].startswith("Typed in") for d in devices)


async def test_impossible_values_get_the_devices_422_and_nothing_is_stored(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    sid = session["id"]
    r = await api.post(device["token"], [{"ts": iso(now_utc()), "seq": 1, "spo2": 130}])
    device_error = r.json()["detail"][0]
    r = await enter(api, sid, spo2=130)
    assert r.status_code == 422
    error = r.json()["detail"][0]
    assert error["loc"] == ["body", "spo2"] and error["msg"] == device_error["msg"]
    for body, field, words in (
        ({"sbp": 80, "dbp": 90}, "sbp", "must be above dbp"),
        ({"sbp": 120}, "dbp", "systolic and diastolic"),
        ({"hr": 70, "ts": iso(now_utc() + timedelta(hours=1))}, "ts", "ahead of the service clock"),
        ({"hr": 70, "ts": iso(now_utc() - timedelta(hours=1))}, "ts", "before the session started"),
        ({}, None, "at least one of"),
    ):
        r = await enter(api, sid, **body)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"][0]
        assert words in detail["msg"] and (field is None or detail["loc"] == ["body", field])
    assert (await enter(api, 999_999, hr=70)).status_code == 404
    listed = await api.http.get(f"/api/v1/sessions/{sid}/manual-readings", headers=await api.auth())
    assert listed.json() == []
    assert await server.sql("SELECT count(*) FROM manual_readings") == [(0,)] or all(
        row["session_id"] != sid for row in listed.json()
    )


async def test_typed_points_are_marked_and_a_struck_one_leaves_charts_and_evaluation(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    sid = session["id"]
    t = now_utc() + timedelta(seconds=1)
    await asyncio.sleep(1.2)  # t is after the session's start and not in the future
    typed = (await enter(api, sid, spo2=86, hr=77, ts=iso(t))).json()
    series = (
        await api.http.get(
            f"/api/v1/sessions/{sid}/readings", params={"metric": "spo2"}, headers=await api.auth()
        )
    ).json()
    assert series["values"] == [86.0]
    assert [(p["value"], p["entered_by"], p["entry_id"]) for p in series["manual"]] == [
        (86.0, "nurse", typed["id"])
    ]
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/manual-readings/{typed['id']}/strike",
        json={"reason": "wrong patient's monitor"},
        headers=await api.auth(),
    )
    assert r.status_code == 200, r.text
    struck = r.json()
    assert struck["struck"] and struck["struck_by"] == "nurse"
    assert struck["strike_reason"] == "wrong patient's monitor"
    again = await api.http.post(
        f"/api/v1/sessions/{sid}/manual-readings/{typed['id']}/strike",
        json={"reason": "again"},
        headers=await api.auth(),
    )
    assert again.status_code == 409
    series = (
        await api.http.get(
            f"/api/v1/sessions/{sid}/readings", params={"metric": "spo2"}, headers=await api.auth()
        )
    ).json()
    assert series["values"] == [] and series["manual"] == []
    view = (await api.http.get(f"/api/v1/sessions/{sid}", headers=await api.auth())).json()
    assert "spo2" not in view["latest"] and "hr" not in view["latest"]
    kept = await api.http.get(f"/api/v1/sessions/{sid}/manual-readings", headers=await api.auth())
    assert [(e["spo2"], e["struck"]) for e in kept.json()] == [(86.0, True)]
    events = (await api.http.get(f"/api/v1/sessions/{sid}/events", headers=await api.auth())).json()
    assert any(e["kind"] == "reading_struck" and "SpO2 86 %" in e["detail"] for e in events)
    # SpO2 86 (< 88) must hold 15 s. From the device: 14 s after the struck
    # value, which no longer starts the count: no alarm yet.
    r = await api.post(device["token"], samples(t + timedelta(seconds=1), 15, seq0=0, spo2=86))
    assert r.status_code == 202
    assert [a for a in await alarms_of(api, sid) if a["metric"] == "spo2"] == []
    r = await api.post(device["token"], samples(t + timedelta(seconds=16), 1, seq0=15, spo2=86))
    assert [a["metric"] for a in await alarms_of(api, sid)] == ["spo2"]


async def test_a_typed_bp_satisfies_the_esketamine_bp_check(
    api: Api, server: ServerProcess
) -> None:
    dose = now_utc() - timedelta(minutes=55)  # the dose was given before it was entered
    device, session = await api.monitored(
        "esketamine-in", started_at=iso(dose - timedelta(minutes=5))
    )
    sid = session["id"]
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/events",
        json={"kind": "dose", "ts": iso(dose)},
        headers=await api.auth(),
    )
    assert r.status_code == 201
    await api.post(device["token"], samples(now_utc(), 2, hr=72, spo2=97))

    async def due() -> list[dict[str, Any]]:
        return [
            a
            for a in await alarms_of(api, sid)
            if a["rule"] == "bp_check_due" and a["state"] != "resolved"
        ]

    assert await wait_for(due, timeout=10)
    assert (await enter(api, sid, sbp=128, dbp=82)).status_code == 201

    async def cleared() -> bool:
        return not await due()

    assert await wait_for(cleared, timeout=10)
    assert time.time()  # the clock moved on; nothing else raised
