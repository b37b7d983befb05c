"""Readiness as an interval (issue 25): the moment to report is the start of the
last uninterrupted stretch in which the patient was clinically ready; a MOAA/S
below 5, a clinical alarm or vitals off baseline restart it. The same moment on
the readiness, the tile's session view, the report, the REMS form and the course."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support import Api, ServerProcess, dosed_session, iso, observe, readiness, wait_for

_PROFILE_FIELDS = (
    "checklist",
    "observation_interval_min",
    "sbp_margin",
    "dbp_margin",
    "hr_margin",
    "quiet_min",
    "bp_max_age_min",
)


def _at(value: str | None) -> datetime | None:
    """A time to the second (the API keeps milliseconds)."""
    return datetime.fromisoformat(value).replace(microsecond=0) if value else None


def _s(t: datetime) -> datetime:
    return t.replace(microsecond=0)


async def _alarms(api: Api, sid: int) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/alarms", params={"session_id": sid}, headers=await api.auth())
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_a_moass_back_to_4_and_a_bp_alarm_restart_the_stretch(
    api: Api, server: ServerProcess
) -> None:
    admin = await api.auth(("admin", "admin-password-1"))
    profile = (await api.http.get("/api/v1/record-profiles/esketamine-in", headers=admin)).json()
    body = {k: profile[k] for k in _PROFILE_FIELDS}
    body["quiet_min"] = 0  # the stretch then starts when the alarm ended
    r = await api.http.put("/api/v1/record-profiles/esketamine-in", json=body, headers=admin)
    assert r.status_code == 200, r.text
    device, session, t0 = await dosed_session(api, bp_at_40=False)
    sid, pid, h = session["id"], session["patient"]["id"], await api.auth()
    await observe(api, sid, moass=5, ts=iso(t0 + timedelta(minutes=5)))

    async def stable() -> dict[str, Any] | None:
        got = await readiness(api, sid)
        return got if got["stable_at"] else None

    first = await wait_for(stable, timeout=15)  # (the old code noted it in its check)
    assert _at(first["stable_at"]) == _s(t0 + timedelta(minutes=5))
    await observe(api, sid, moass=4, ts=iso(t0 + timedelta(minutes=15)))
    await observe(api, sid, moass=4, ts=iso(t0 + timedelta(minutes=30)))
    r = await api.post(
        device["token"],
        [{"ts": iso(t0 + timedelta(minutes=40)), "seq": 8000, "sbp": 186, "dbp": 104}],
    )
    assert r.status_code == 202, r.text
    r = await readiness(api, sid)
    assert r["stable"] is False and r["stable_at"] is None and r["first_ready_at"] is None
    assert "MOAA/S 4 at" in "; ".join(r["reasons"])

    # the patient recovers: BP back near baseline at +50, MOAA/S 5 at +60 (typed in late)
    r = await api.post(
        device["token"],
        [{"ts": iso(t0 + timedelta(minutes=50)), "seq": 8001, "sbp": 126, "dbp": 82}],
    )
    assert r.status_code == 202, r.text
    await observe(api, sid, moass=5, ts=iso(t0 + timedelta(minutes=60)))
    for a in await _alarms(api, sid):
        if a["state"] != "resolved":  # the high BP alarm latches until acknowledged
            ack = await api.http.post(f"/api/v1/alarms/{a['id']}/ack", headers=h)
            assert ack.status_code == 200, ack.text
    bp_alarm = next(a for a in await _alarms(api, sid) if a["metric"] == "sbp")
    assert bp_alarm["state"] == "resolved"
    r = await readiness(api, sid)
    assert r["stable"] is True and r["ready"] is True, r["reasons"]
    # the last stretch starts when the alarm ended (quiet time 0 in this profile),
    # after the BP came back (+50) and the MOAA/S was 5 again (+60)
    assert _at(r["stable_at"]) == _at(bp_alarm["resolved_at"])
    assert _at(r["first_ready_at"]) == _at(bp_alarm["resolved_at"])
    done = await api.http.post(
        f"/api/v1/sessions/{sid}/discharge", json={"left_with": "Partner"}, headers=h
    )
    assert done.status_code == 200, done.text
    stable_at = _at(done.json()["stable_at"])
    assert stable_at == _at(bp_alarm["resolved_at"])
    minutes = int((stable_at - _s(t0)).total_seconds() // 60)

    view = (await api.http.get(f"/api/v1/sessions/{sid}", headers=h)).json()
    assert _at(view["readiness"]["stable_at"]) == stable_at  # the tile's
    html = (await api.http.get(f"/api/v1/sessions/{sid}/report", headers=h)).text
    row = re.search(r"Clinically ready \(without the observation time\)</th><td>([^<]*)<", html)
    assert row and row.group(1) == stable_at.astimezone(UTC).strftime("%H:%M"), row
    form = (await api.http.get(f"/api/v1/sessions/{sid}/rems-form", headers=h)).json()
    ready = next(f for f in form["fields"] if f["key"] == "ready_minutes")
    assert ready["value"] == minutes
    course = (await api.http.get(f"/api/v1/patients/{pid}/series", headers=h)).json()
    assert course["sessions"][0]["stable_min"] == minutes


async def test_a_heart_rate_off_baseline_restarts_the_stretch(
    api: Api, server: ServerProcess
) -> None:
    device, session, t0 = await dosed_session(api)  # HR 72 about 2 s ago
    sid = session["id"]
    await observe(api, sid, moass=5, ts=iso(t0 + timedelta(minutes=5)))
    r = await readiness(api, sid)
    assert r["stable"] is True and _at(r["stable_at"]) == _s(t0 + timedelta(minutes=5))
    assert _at((await readiness(api, sid))["stable_at"]) == _at(r["stable_at"])  # read again
    # HR 101 (baseline 70, margin 20) an hour ago, back to 71 a second later
    off = t0 + timedelta(minutes=60)
    got = await api.post(
        device["token"],
        [
            {"ts": iso(off), "seq": 8100, "hr": 101},
            {"ts": iso(off + timedelta(seconds=1)), "seq": 8101, "hr": 71},
        ],
    )
    assert got.status_code == 202, got.text
    r = await readiness(api, sid)
    assert r["stable"] is True and _at(r["stable_at"]) == _s(off + timedelta(seconds=1))
