"""A session entered after it began (`started_at` in the past): what the demo's
pre-aged rooms rely on, through the real server on both backends."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

from tests.support import Api, ServerProcess, iso, now_utc, samples


async def test_backdated_session_keeps_its_start_and_audits_it(
    api: Api, server: ServerProcess
) -> None:
    device = await api.device()
    began = now_utc() - timedelta(minutes=70)
    session = await api.session([device["id"]], "ketamine-im", started_at=iso(began))
    assert abs(_parse(session["started_at"]) - began.timestamp()) < 0.01
    # its history: readings from the start, then the dose 10 min in
    r = await api.post(device["token"], samples(began, 600, hr=72, spo2=98, rr=14))
    assert r.status_code == 202, r.text
    dose = began + timedelta(minutes=10)
    r = await api.http.post(
        f"/api/v1/sessions/{session['id']}/events",
        json={"kind": "dose", "ts": iso(dose)},
        headers=await api.auth(),
    )
    assert r.status_code == 201, r.text
    got = (await api.http.get(f"/api/v1/sessions/{session['id']}", headers=await api.auth())).json()
    assert abs(_parse(got["first_dose_at"]) - dose.timestamp()) < 0.01
    assert got["baseline"]["hr"] == 72  # the 10 min before the past dose
    assert _parse(got["observation_until"]) == _parse(got["first_dose_at"]) + 90 * 60
    rows = await server.sql(
        "SELECT detail FROM audit_log WHERE action = 'session.start' AND entity_id = :sid",
        sid=session["id"],
    )
    detail = rows[0][0] if isinstance(rows[0][0], dict) else json.loads(rows[0][0])
    assert abs(_parse(detail["started_at"]) - began.timestamp()) < 0.01


async def test_start_too_far_back_or_ahead_is_422_and_nothing_stored(api: Api) -> None:
    before = len((await api.http.get("/api/v1/sessions", headers=await api.auth())).json())
    for when, words in (
        (now_utc() - timedelta(hours=13), "more than 12 h ago"),
        (now_utc() + timedelta(minutes=10), "in the future"),
    ):
        r = await api.http.post(
            "/api/v1/sessions",
            json={"patient": {"ref": "MRN-BACK"}, "protocol": "custom", "started_at": iso(when)},
            headers=await api.auth(),
        )
        assert r.status_code == 422, r.text
        (error,) = r.json()["detail"]
        assert error["loc"] == ["body", "started_at"] and words in error["msg"]
    r = await api.http.post(
        "/api/v1/sessions",
        json={"patient": {"ref": "MRN-BACK"}, "protocol": "custom", "started_at": "10:00"},
        headers=await api.auth(),
    )
    assert r.status_code == 422
    after = len((await api.http.get("/api/v1/sessions", headers=await api.auth())).json())
    assert after == before


async def test_event_before_the_session_start_is_422(api: Api) -> None:
    _, session = await api.monitored()
    r = await api.http.post(
        f"/api/v1/sessions/{session['id']}/events",
        json={"kind": "dose", "ts": iso(now_utc() - timedelta(minutes=5))},
        headers=await api.auth(),
    )
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", "ts"] and "before the session started" in error["msg"]
    events = await api.http.get(
        f"/api/v1/sessions/{session['id']}/events", headers=await api.auth()
    )
    assert events.json() == []


async def test_backdated_monitor_is_not_offline_before_it_could_send(api: Api) -> None:
    """Silence is counted from when the monitor was bound (the session entered), not
    from the start given: no "offline" alarm for a monitor bound a moment ago."""
    device = await api.device()
    session = await api.session(
        [device["id"]], "esketamine-in", started_at=iso(now_utc() - timedelta(minutes=90))
    )
    await asyncio.sleep(3)  # the technical clock runs every second
    alarms = await api.http.get(
        "/api/v1/alarms", params={"session_id": session["id"]}, headers=await api.auth()
    )
    assert alarms.json() == []


def _parse(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
