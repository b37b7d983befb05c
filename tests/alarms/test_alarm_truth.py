"""Alarms that stay true, end to end through a real server on both backends:
the demo's crisis shown as a crisis, one entry per problem, a worse condition
alerting again, measurement order, the right patient after a re-bind, a
monitor that restarts its counter, an impossible mean pressure, who closed it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.support import Api, ServerProcess, connect, iso, now_utc, recv, samples, until, wait_for


async def alarms_of(api: Api, session_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(
        "/api/v1/alarms", params={"session_id": session_id}, headers=await api.auth()
    )
    assert r.status_code == 200, r.text
    return list(r.json())


async def log_of(api: Api, alarm_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(f"/api/v1/alarms/{alarm_id}/log", headers=await api.auth())
    return list(r.json())


async def dosed_with_baseline(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A monitored session with a pre-dose BP of 122/80 and a dose a minute ago
    (the session entered as begun 10 min ago: a dose cannot precede its start)."""
    device = await api.device()
    began = now_utc() - timedelta(minutes=10)
    session = await api.session([device["id"]], started_at=iso(began))
    t0 = now_utc() - timedelta(minutes=5)
    r = await api.post(device["token"], samples(t0, 1, seq0=0, sbp=122, dbp=80, hr=70))
    assert r.status_code == 202, r.text
    r = await api.http.post(
        f"/api/v1/sessions/{session['id']}/events",
        json={"kind": "dose", "ts": iso(now_utc() - timedelta(minutes=1))},
        headers=await api.auth(),
    )
    assert r.status_code == 201, r.text
    return device, session


async def test_a_crisis_after_an_escalation_reads_as_a_crisis(
    new_server: Callable[..., ServerProcess],
) -> None:
    """The demo defect: a medium SBP alarm goes unanswered past its escalation,
    then the cuff reads 204/122: list, API and live event say 204 above 180, high."""
    server = new_server(VITALWATCH_ESCALATE_MEDIUM_S="5")
    server.start()
    api = Api(server.url)
    try:
        device, session = await api.monitored()
        ws = await connect(server, api)
        await recv(ws)
        t = now_utc() - timedelta(seconds=30)
        await api.post(device["token"], samples(t, 1, seq0=1, sbp=164, dbp=95, hr=80))
        [alarm] = await alarms_of(api, session["id"])
        assert (alarm["priority"], alarm["value"], alarm["threshold"]) == ("medium", 164, 160)

        async def escalated() -> bool:
            return bool((await alarms_of(api, session["id"]))[0]["escalated_at"])

        await wait_for(escalated, timeout=10)
        [alarm] = await alarms_of(api, session["id"])
        assert alarm["priority"] == "medium"  # clinical priority on screen, not redder

        await api.post(
            device["token"], samples(t + timedelta(seconds=20), 1, seq0=2, sbp=204, dbp=122)
        )
        [alarm] = await alarms_of(api, session["id"])
        assert (alarm["priority"], alarm["value"], alarm["threshold"]) == ("high", 204, 180)
        assert alarm["message"].startswith(
            "BP 204/122 mmHg: SBP above 180 mmHg, DBP above 110 mmHg"
        )
        assert alarm["worst_value"] == 204
        event = await until(
            ws, lambda m: m["type"] == "alarm" and m["alarm"]["priority"] == "high", timeout=5
        )
        assert event["alarm"]["value"] == 204 and event["action"] == "priority_raised"
        await ws.close()
    finally:
        await api.aclose()


async def test_one_bp_reading_beyond_four_limits_is_one_entry(
    api: Api, server: ServerProcess
) -> None:
    device, session = await dosed_with_baseline(api)
    r = await api.post(device["token"], samples(now_utc(), 1, seq0=5, sbp=204, dbp=122))
    assert r.status_code == 202
    active = [a for a in await alarms_of(api, session["id"]) if a["kind"] == "physiological"]
    assert len(active) == 1, active
    [bp] = active
    assert bp["rule"] == "bp" and bp["priority"] == "high"
    assert bp["message"] == (
        "BP 204/122 mmHg: SBP above 180 mmHg, DBP above 110 mmHg, "
        "SBP +82 mmHg over baseline 122 mmHg, DBP +42 mmHg over baseline 80 mmHg"
    )
    assert {c["rule"] for c in bp["conditions"]} == {
        "sbp_high",
        "dbp_high",
        "sbp_baseline_rise",
        "dbp_baseline_rise",
    }
    # the alarm log keeps each condition's own transition
    logged = {e["condition"] for e in await log_of(api, bp["id"]) if e["condition"]}
    assert logged == {"sbp_high", "dbp_high", "sbp_baseline_rise", "dbp_baseline_rise"}


async def test_an_acknowledged_alarm_that_gets_worse_needs_its_own_acknowledgement(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    t = now_utc() - timedelta(seconds=30)
    await api.post(device["token"], samples(t, 1, seq0=1, sbp=165, dbp=90))
    [alarm] = await alarms_of(api, session["id"])
    r = await api.http.post(f"/api/v1/alarms/{alarm['id']}/ack", headers=await api.auth())
    assert r.json()["state"] == "acknowledged"
    await api.post(device["token"], samples(t + timedelta(seconds=10), 1, seq0=2, sbp=195, dbp=90))
    [alarm] = await alarms_of(api, session["id"])
    assert alarm["state"] == "active" and alarm["priority"] == "high"
    assert alarm["alerted_at"] > alarm["acked_at"]
    actions = [e["action"] for e in await log_of(api, alarm["id"])]
    assert actions[-1] == "priority_raised"


async def test_samples_posted_newest_first_still_raise_their_alarm(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    t = now_utc() - timedelta(seconds=30)
    for k in reversed(range(12)):  # HR 35 for 11 s, newest first, one request each
        r = await api.post(device["token"], samples(t + timedelta(seconds=k), 1, seq0=k, hr=35))
        assert r.status_code == 202, r.text
    [alarm] = [a for a in await alarms_of(api, session["id"]) if a["rule"] == "hr"]
    assert alarm["priority"] == "high" and alarm["value"] == 35


async def test_a_backlog_measured_before_stored_samples_raises_what_it_sustained(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    t = now_utc() - timedelta(seconds=120)
    live = samples(t + timedelta(seconds=100), 10, seq0=100, spo2=97, hr=80)
    assert (await api.post(device["token"], live)).status_code == 202
    backlog = samples(t + timedelta(seconds=40), 30, seq0=40, spo2=84, hr=80)
    backlog += samples(t + timedelta(seconds=70), 30, seq0=70, spo2=97, hr=80)
    assert (await api.post(device["token"], backlog)).status_code == 202
    [alarm] = [a for a in await alarms_of(api, session["id"]) if a["rule"] == "spo2"]
    assert alarm["priority"] == "high" and alarm["worst_value"] == 84
    assert alarm["state"] == "active" and not alarm["condition_active"]  # latched


async def test_a_retried_batch_from_before_a_rebind_never_reaches_the_new_patient(
    api: Api, server: ServerProcess
) -> None:
    device = await api.device()
    first = await api.session([device["id"]])
    measured = now_utc()
    old_batch = samples(measured, 12, seq0=0, step_s=0.05, hr=35)  # with the first patient
    await asyncio.sleep(1.0)
    r = await api.http.post(f"/api/v1/sessions/{first['id']}/end", headers=await api.auth())
    assert r.status_code == 200
    second = await api.session([device["id"]])
    r = await api.post(device["token"], old_batch)  # the monitor retries it now
    assert r.status_code == 202, r.text
    rows = await server.sql(
        "SELECT session_id, count(*) FROM readings WHERE device_id = :d GROUP BY session_id",
        d=device["id"],
    )
    assert rows == [(first["id"], 12)]
    assert await alarms_of(api, second["id"]) == []
    events = await api.http.get(f"/api/v1/sessions/{first['id']}/events", headers=await api.auth())
    late = [e for e in events.json() if e["kind"] == "late_readings"]
    assert len(late) == 1 and late[0]["detail"].startswith("12 readings from")
    # what the monitor measures now goes to the new patient
    r = await api.post(device["token"], samples(now_utc(), 1, seq0=12, hr=80))
    assert r.status_code == 202
    rows = await server.sql("SELECT count(*) FROM readings WHERE session_id = :s", s=second["id"])
    assert rows[0][0] == 1


async def test_a_monitor_that_restarts_its_counter_keeps_every_sample(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    t = now_utc() - timedelta(seconds=60)
    r = await api.post(device["token"], samples(t, 13, seq0=0, hr=80))
    assert r.json() == {"accepted": 13, "duplicates": 0}
    # the monitor reboots: seq starts at 0 again, new times, and an HR of 35
    rebooted = samples(t + timedelta(seconds=30), 13, seq0=0, hr=35)
    r = await api.post(device["token"], rebooted)
    assert r.json() == {"accepted": 13, "duplicates": 0}
    [alarm] = [a for a in await alarms_of(api, session["id"]) if a["rule"] == "hr"]
    assert alarm["priority"] == "high"
    # a true retry of that batch is still a duplicate
    r = await api.post(device["token"], rebooted)
    assert r.json() == {"accepted": 0, "duplicates": 13}
    devices = (await api.http.get("/api/v1/devices", headers=await api.auth())).json()
    mine = next(d for d in devices if d["id"] == device["id"])
    assert mine["counter_resets"] == 1 and mine["counter_reset_at"] is not None
    assert "device_counter_reset" in server.log_text()


async def test_a_mean_pressure_outside_systolic_and_diastolic_is_refused(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    r = await api.post(device["token"], samples(now_utc(), 1, sbp=120, dbp=80, map=130))
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "samples", 0, "map"]
    assert "between dbp and sbp" in error["msg"]
    rows = await server.sql("SELECT count(*) FROM readings WHERE session_id = :s", s=session["id"])
    assert rows[0][0] == 0


async def test_ending_a_session_closes_its_alarms_in_the_name_of_who_ended_it(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    await api.post(device["token"], samples(now_utc(), 1, sbp=190, dbp=95))
    [alarm] = await alarms_of(api, session["id"])
    r = await api.http.post(f"/api/v1/sessions/{session['id']}/end", headers=await api.auth())
    assert r.status_code == 200

    async def closed() -> dict[str, Any] | None:
        [a] = await alarms_of(api, session["id"])
        return a if a["state"] == "resolved" else None

    alarm = await wait_for(closed)
    assert alarm["resolved_by"] == "nurse"
    last = (await log_of(api, alarm["id"]))[-1]
    assert (last["action"], last["user"]) == ("resolved", "nurse")
