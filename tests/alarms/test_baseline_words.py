"""A baseline in an alarm's words reads in whole units (issue 27 item 9): the
pre-dose median of 114 and 115 mmHg is "baseline 115 mmHg", not "114" (Python
rounds half to even) nor "114.5", and a heart rate's 71.5 is "72/min"; the rise
quoted is counted from the baseline as it reads."""

from __future__ import annotations

from datetime import timedelta

from tests.alarms.test_alarm_truth import alarms_of
from tests.support import Api, ServerProcess, iso, now_utc, samples, wait_for


async def test_baseline_rise_words_round_the_baseline_half_up(
    api: Api, server: ServerProcess
) -> None:
    device = await api.device()
    session = await api.session([device["id"]], started_at=iso(now_utc() - timedelta(minutes=10)))
    sid, t0 = session["id"], now_utc() - timedelta(minutes=5)
    pre = samples(t0, 1, seq0=0, sbp=114, dbp=65, hr=71) + samples(
        t0 + timedelta(seconds=30), 1, seq0=1, sbp=115, dbp=65, hr=72
    )
    assert (await api.post(device["token"], pre)).status_code == 202
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/events",
        json={"kind": "dose", "ts": iso(now_utc() - timedelta(minutes=2))},
        headers=await api.auth(),
    )
    assert r.status_code == 201, r.text
    got = (await api.http.get(f"/api/v1/sessions/{sid}", headers=await api.auth())).json()
    assert (got["baseline"]["sbp"], got["baseline"]["hr"]) == (114.5, 71.5)
    # SBP 158: 43.5 over the median (rise limit 40); HR 105 for 40 s: 33.5 over it (30)
    start = now_utc() - timedelta(seconds=45)
    rise = samples(start, 1, seq0=10, sbp=158, dbp=70) + samples(
        start, 41, seq0=20, step_s=1, hr=105
    )
    assert (await api.post(device["token"], rise)).status_code == 202

    async def both() -> dict[str, str] | None:
        words = {a["rule"]: a["message"] for a in await alarms_of(api, sid)}
        return words if {"bp", "hr"} <= words.keys() else None

    words = await wait_for(both, timeout=10)
    assert words["bp"] == "BP 158/70 mmHg: SBP +43 mmHg over baseline 115 mmHg"
    assert words["hr"] == "HR 105/min, +33/min over baseline 72/min"
