"""SDC end to end: real sdc11073 providers on `lo`, a real server whose consumer
discovers them; an admin binds one; its metric reports reach the dashboard and
raise the same alarms as JSON samples."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
from simulators.physiology import Patient
from simulators.scenarios import for_patient

from tests.hl7.test_pages import alarms
from tests.sdc.conftest import StartProvider, bind, found
from tests.support import (
    ADMIN,
    Api,
    ServerProcess,
    connect,
    now_utc,
    recv,
    samples,
    until,
    wait_for,
)

pytestmark = pytest.mark.slow


async def series(api: Api, session_id: int, metric: str) -> list[float]:
    r = await api.http.get(
        f"/api/v1/sessions/{session_id}/readings",
        params={"metric": metric},
        headers=await api.auth(),
    )
    assert r.status_code == 200, r.text
    return list(r.json()["values"])


async def test_discovered_bound_and_its_metrics_reach_the_dashboard(
    sdc_api: Api, sdc_server: ServerProcess, start_provider: StartProvider
) -> None:
    p = start_provider("SDC-A1", "--bed", "7", "--room", "12")
    listed = await found(sdc_api, p.epr)
    assert listed["manufacturer"] == "VitalWatch Simulators"
    assert listed["model"] == "VW-SDC Vital Signs Monitor"
    assert listed["serial"] == "SDC-A1"
    assert listed["location"] == {"facility": "VW", "poc": "KETAMINE", "room": "12", "bed": "7"}
    assert listed["device_id"] is None and listed["online"] is True
    device, session = await sdc_api.monitored()
    await asyncio.sleep(3)  # three metric reports of an unbound provider: stored nowhere
    assert await series(sdc_api, session["id"], "hr") == []
    ws = await connect(sdc_server, sdc_api)
    try:
        await recv(ws)  # snapshot
        bound = await bind(sdc_api, p.epr, device["id"])
        assert bound["device_id"] == device["id"]
        frame = await until(
            ws,
            lambda m: (
                m["type"] == "vitals"
                and any(i["session_id"] == session["id"] and i.get("spo2") for i in m["items"])
            ),
            timeout=30,
        )
        item = next(i for i in frame["items"] if i["session_id"] == session["id"])
        assert 90 <= item["spo2"] <= 100 and 40 <= item["hr"] <= 120
        p.send(values={"hr": 101})
        await until(
            ws,
            lambda m: (
                m["type"] == "vitals"
                and any(i["session_id"] == session["id"] and i.get("hr") == 101 for i in m["items"])
            ),
            timeout=10,
        )
    finally:
        await ws.close()
    # The binding is audited, and a second binding of either side is refused.
    r = await sdc_api.http.get("/api/v1/audit", headers=await sdc_api.auth(ADMIN))
    assert any(e["action"] == "sdc.bind" and e["entity_id"] == device["id"] for e in r.json())
    other = await sdc_api.device()
    r = await sdc_api.http.post(
        "/api/v1/sdc/providers/bind",
        json={"epr": p.epr, "device_id": other["id"]},
        headers=await sdc_api.auth(ADMIN),
    )
    assert r.status_code == 409 and "already bound" in r.json()["detail"]


async def test_kpa_is_converted_and_a_questionable_value_is_recorded_not_stored(
    sdc_api: Api, start_provider: StartProvider
) -> None:
    """NIBP in kPa (MDC_DIM_KILO_PASCAL) is stored in mmHg; SpO2 marked
    questionable (validity Qst) is no value anywhere and is listed as skipped."""
    p = start_provider("SDC-KPA", "--kpa", "--start-s", "28", "--seed", "5")
    p.send(validity={"spo2": "Qst"})
    await found(sdc_api, p.epr)
    device, session = await sdc_api.monitored()
    await bind(sdc_api, p.epr, device["id"])
    sbp = await wait_for(lambda: series(sdc_api, session["id"], "sbp"), timeout=30)
    expected = Patient("ketamine-iv", for_patient("calm", 0), seed=5).bp_reading(30)
    assert sbp[0] == pytest.approx(expected[0], abs=0.1)  # kPa x 7.500617, to 0.01 kPa
    dbp = await series(sdc_api, session["id"], "dbp")
    assert dbp[0] == pytest.approx(expected[1], abs=0.1)
    assert await series(sdc_api, session["id"], "hr")  # the valid ones are stored
    assert await series(sdc_api, session["id"], "spo2") == []

    async def skipped() -> list[dict[str, Any]]:
        r = await sdc_api.http.get("/api/v1/sdc/providers", headers=await sdc_api.auth(ADMIN))
        mine = next(x for x in r.json() if x["epr"] == p.epr)
        return [s for s in mine["skipped"] if s["metric"] == "spo2"]

    rows = await wait_for(skipped, timeout=10)
    assert rows[0]["reason"] == "validity questionable" and rows[0]["code"] == "150456"
    assert rows[0]["count"] >= 1
    # Valid again: stored again.
    p.send(validity={"spo2": None})
    assert await wait_for(lambda: series(sdc_api, session["id"], "spo2"), timeout=10)


async def test_low_spo2_raises_the_json_alarm_and_the_monitors_own_alert(
    sdc_api: Api, sdc_server: ServerProcess, start_provider: StartProvider
) -> None:
    """SpO2 85 from an SDC monitor: the same VitalWatch alarm as 85 posted as JSON,
    and the monitor's own alert condition ("*** Desat", physiological, high) on
    the station as the monitor's alarm, ended when the monitor ends it."""
    p = start_provider("SDC-DESAT")
    await found(sdc_api, p.epr)
    device, session = await sdc_api.monitored()
    json_device, json_session = await sdc_api.monitored()
    await bind(sdc_api, p.epr, device["id"])
    await wait_for(lambda: series(sdc_api, session["id"], "spo2"), timeout=30)
    ws = await connect(sdc_server, sdc_api)
    try:
        await recv(ws)  # snapshot
        p.send(values={"spo2": 85, "hr": 76})
        own = await until(
            ws,
            lambda m: (
                m["type"] == "monitor_alarm" and m["monitor_alarm"]["session_id"] == session["id"]
            ),
            timeout=15,
        )
        mine = own["monitor_alarm"]
        assert mine["message"] == "Monitor: *** Desat" and mine["active"] is True
        assert (mine["priority"], mine["kind"], mine["metric"]) == ("high", "physiological", "spo2")
        assert mine["value"] == 85 and mine["device_id"] == device["id"]
        raised = await until(
            ws,
            lambda m: m["type"] == "alarm" and m["alarm"]["session_id"] == session["id"],
            timeout=40,
        )
        assert raised["alarm"]["metric"] == "spo2"
        t0 = now_utc() - timedelta(seconds=40)
        r = await sdc_api.post(json_device["token"], samples(t0, 40, spo2=85, hr=76))
        assert r.status_code == 202
        key = ("rule", "priority", "metric", "value", "message")

        def judged(a: dict[str, Any]) -> tuple[Any, ...]:
            # the duration runs ("for 15 s", "for 39 s"): the rest must be the same
            return (*(a[k] for k in key[:-1]), re.sub(r" for \d[^(]*", "", a["message"]))

        by_sdc = [judged(a) for a in await alarms(sdc_api, session["id"])]
        by_json = [judged(a) for a in await alarms(sdc_api, json_session["id"])]
        assert by_sdc and by_sdc == by_json
        # The monitor ends its alert: shown as ended.
        p.send(values={"spo2": None})
        ended = await until(
            ws,
            lambda m: (
                m["type"] == "monitor_alarm"
                and m["monitor_alarm"]["session_id"] == session["id"]
                and not m["monitor_alarm"]["active"]
            ),
            timeout=15,
        )
        assert ended["monitor_alarm"]["message"] == "Monitor: *** Desat (ended)"
    finally:
        await ws.close()
    r = await sdc_api.http.get(
        f"/api/v1/sessions/{session['id']}/monitor-alarms", headers=await sdc_api.auth()
    )
    assert [(a["label"], a["active"]) for a in r.json()] == [
        ("*** Desat", True),
        ("*** Desat", False),
    ]
    # The monitor's alert never drives VitalWatch's rules: one alarm, from the values.
    assert len(await alarms(sdc_api, session["id"])) == 1
