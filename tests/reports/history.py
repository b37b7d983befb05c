"""A known alarm history built through the API, for the alarm-load report's tests.

Three sessions, each a short story told with readings, staff actions and the
service's own clock, ended before the report is asked for:

- S1 (ketamine IV): SpO2 90% for 16 s then 97%: a SpO2 alarm that clears by
  itself (a nuisance candidate); SBP 165 acknowledged after about 1 s, then
  back to normal; the monitor then sends no SpO2 for 15 s ("No SpO2 signal",
  technical) until the probe is back: a second nuisance candidate.
- S2 (ketamine IV): BP 204/122 (SBP and DBP beyond their high-priority limits:
  one alarm, two conditions), never acknowledged: escalated after 5 s, then
  closed by the end of the session (unanswered); HR 45, acknowledged after
  about 3 s.
- S3 (esketamine): HR 125 silenced, then clears by itself within 30 s (not a
  nuisance candidate: someone acted); RR 7 acknowledged after about 2 s; two
  limit changes: HR high 120 -> 130, then SpO2 low switched off with a reason.

Device timestamps lie in the recent past and rise per device, so every alarm
is judged in measurement order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tests.support import Api, iso, now_utc, samples, wait_for

#: The server settings the stories are timed for: only a high alarm left
#: unanswered for 5 s is escalated (no delivery rule: no dashboard is open).
HISTORY_ENV = {
    "VITALWATCH_ESCALATE_HIGH_S": "5",
    "VITALWATCH_ESCALATE_MEDIUM_S": "3600",
    "VITALWATCH_DELIVERY_TIMEOUT_S": "300",
}

#: What each alarm of the history is, by name: (session, rule, conditions,
#: acknowledged, unanswered, escalated, nuisance).
PLAN: dict[str, tuple[str, str, set[str], bool, bool, bool, bool]] = {
    "s1_spo2": ("S1", "spo2", {"spo2_low"}, False, True, False, True),
    "s1_bp": ("S1", "bp", {"sbp_high"}, True, False, False, False),
    "s1_probe": ("S1", "monitor", {"no_signal:spo2"}, False, True, False, True),
    "s2_bp": ("S2", "bp", {"sbp_high", "dbp_high"}, False, True, True, False),
    "s2_hr": ("S2", "hr", {"hr_low"}, True, False, False, False),
    "s3_hr": ("S3", "hr", {"hr_high"}, False, True, False, False),
    "s3_rr": ("S3", "rr", {"rr_low"}, True, False, False, False),
}


@dataclass
class History:
    api: Api
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    async def staff(self, method: str, url: str, **kwargs: Any) -> Any:
        r = await self.api.http.request(method, url, headers=await self.api.auth(), **kwargs)
        assert r.status_code in (200, 201), r.text
        return r.json()

    async def open_alarm(self, session_id: int, rule: str) -> dict[str, Any]:
        async def find() -> dict[str, Any] | None:
            listed = await self.staff("GET", "/api/v1/alarms", params={"session_id": session_id})
            return next((a for a in listed if a["rule"] == rule and a["state"] != "resolved"), None)

        found: dict[str, Any] = await wait_for(find, timeout=30)
        return found

    async def post(self, token: str, batch: list[dict[str, Any]]) -> None:
        r = await self.api.post(token, batch)
        assert r.status_code == 202, r.text

    async def start(self, name: str, protocol: str) -> tuple[str, int]:
        device = await self.api.device()
        session = await self.api.session([device["id"]], protocol)
        self.sessions[name] = session
        return device["token"], int(session["id"])

    async def end(self, name: str) -> None:
        sid = self.sessions[name]["id"]
        await self.staff("POST", f"/api/v1/sessions/{sid}/end")

    async def finish(self) -> None:
        """The final state of every session and alarm, and each alarm's log."""
        for name, session in self.sessions.items():
            self.sessions[name] = await self.staff("GET", f"/api/v1/sessions/{session['id']}")
        for name, alarm in self.alarms.items():
            listed = await self.staff(
                "GET", "/api/v1/alarms", params={"session_id": alarm["session_id"]}
            )
            self.alarms[name] = next(a for a in listed if a["id"] == alarm["id"])
            self.logs[name] = await self.staff("GET", f"/api/v1/alarms/{alarm['id']}/log")


async def story_s1(h: History) -> None:
    token, sid = await h.start("S1", "ketamine-iv")
    t = now_utc()
    spo2 = samples(t - timedelta(seconds=44), 16, seq0=0, spo2=90)
    spo2 += samples(t - timedelta(seconds=28), 20, seq0=16, spo2=97)
    await h.post(token, spo2)
    [h.alarms["s1_spo2"]] = [
        a for a in await h.staff("GET", "/api/v1/alarms", params={"session_id": sid})
    ]
    assert h.alarms["s1_spo2"]["state"] == "resolved", h.alarms["s1_spo2"]
    await h.post(token, samples(t - timedelta(seconds=6), 1, seq0=40, sbp=165, dbp=90))
    h.alarms["s1_bp"] = await h.open_alarm(sid, "bp")
    await asyncio.sleep(1.0)
    await h.staff("POST", f"/api/v1/alarms/{h.alarms['s1_bp']['id']}/ack")
    await h.post(token, samples(t - timedelta(seconds=5), 1, seq0=41, sbp=120, dbp=80))
    probe = await h.open_alarm(sid, f"monitor:{h.sessions['S1']['device_ids'][0]}")
    h.alarms["s1_probe"] = probe
    await h.post(token, [{"ts": iso(now_utc()), "seq": 42, "spo2": 97}])

    async def back() -> bool:
        listed = await h.staff("GET", "/api/v1/alarms", params={"session_id": sid})
        return any(a["id"] == probe["id"] and a["state"] == "resolved" for a in listed)

    await wait_for(back, timeout=10)
    await h.end("S1")


async def story_s2(h: History) -> None:
    token, sid = await h.start("S2", "ketamine-iv")
    t = now_utc()
    await h.post(token, samples(t - timedelta(seconds=20), 1, seq0=0, sbp=204, dbp=122))
    h.alarms["s2_bp"] = await h.open_alarm(sid, "bp")
    await h.post(token, samples(t - timedelta(seconds=19), 12, seq0=1, hr=45))
    h.alarms["s2_hr"] = await h.open_alarm(sid, "hr")
    await asyncio.sleep(3.0)
    await h.staff("POST", f"/api/v1/alarms/{h.alarms['s2_hr']['id']}/ack")

    async def escalated() -> bool:
        listed = await h.staff("GET", "/api/v1/alarms", params={"session_id": sid})
        return any(a["rule"] == "bp" and a["escalated_at"] for a in listed)

    await wait_for(escalated, timeout=15)
    await h.end("S2")


async def story_s3(h: History) -> None:
    token, sid = await h.start("S3", "esketamine-in")
    t = now_utc()
    await h.post(token, samples(t - timedelta(seconds=60), 12, seq0=0, hr=125))
    h.alarms["s3_hr"] = await h.open_alarm(sid, "hr")
    await h.staff("POST", f"/api/v1/alarms/{h.alarms['s3_hr']['id']}/silence")
    await h.post(token, samples(t - timedelta(seconds=48), 15, seq0=12, hr=80))
    await h.post(token, samples(t - timedelta(seconds=33), 17, seq0=27, rr=7))
    h.alarms["s3_rr"] = await h.open_alarm(sid, "rr")
    await asyncio.sleep(2.0)
    await h.staff("POST", f"/api/v1/alarms/{h.alarms['s3_rr']['id']}/ack")
    await h.staff("PATCH", f"/api/v1/sessions/{sid}/thresholds", json={"hr": {"high": 130}})
    await h.staff(
        "PATCH",
        f"/api/v1/sessions/{sid}/thresholds",
        json={"spo2": {"low": None}, "reason": "probe keeps slipping"},
    )
    await h.end("S3")


async def build(api: Api) -> History:
    """The whole history, ended, with every alarm as the API shows it at the end."""
    h = History(api)
    await story_s1(h)
    await story_s2(h)
    await story_s3(h)
    await h.finish()
    return h
