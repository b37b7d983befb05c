"""Sessions, devices and the dosing timeline through the real server."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.support import ADMIN, Api, ServerProcess, now_utc, samples


async def test_create_session_binds_devices_and_lists_them(api: Api) -> None:
    device = await api.device("Bay 3 monitor")
    session = await api.session([device["id"]], "esketamine-in", room="Room 3")
    assert session["status"] == "active"
    assert session["protocol"] == "esketamine-in"
    assert session["device_ids"] == [device["id"]]
    assert session["observation_min"] == 120
    assert session["thresholds"]["hr"]["critical_high"] == 140
    assert session["thresholds"]["baseline_rise"] == {"sbp": 40, "dbp": 25, "hr": 30}

    devices = (await api.http.get("/api/v1/devices", headers=await api.auth())).json()
    listed = next(d for d in devices if d["id"] == device["id"])
    assert listed["session_id"] == session["id"]
    active = (
        await api.http.get(
            "/api/v1/sessions", params={"status": "active"}, headers=await api.auth()
        )
    ).json()
    assert session["id"] in [s["id"] for s in active]


async def test_busy_device_is_409_and_nothing_is_created(api: Api) -> None:
    device = await api.device()
    await api.session([device["id"]])
    before = (await api.http.get("/api/v1/sessions", headers=await api.auth())).json()
    other = await api.device()
    r = await api.http.post(
        "/api/v1/sessions",
        json={
            "patient": {"ref": "MRN-BUSY"},
            "protocol": "custom",
            "device_ids": [other["id"], device["id"]],
        },
        headers=await api.auth(),
    )
    assert r.status_code == 409
    assert str(device["id"]) in r.json()["detail"]
    after = (await api.http.get("/api/v1/sessions", headers=await api.auth())).json()
    assert len(after) == len(before)
    devices = (await api.http.get("/api/v1/devices", headers=await api.auth())).json()
    assert next(d for d in devices if d["id"] == other["id"])["session_id"] is None


async def test_unknown_device_is_422_naming_the_field(api: Api) -> None:
    r = await api.http.post(
        "/api/v1/sessions",
        json={"patient": {"ref": "MRN-X"}, "protocol": "custom", "device_ids": [999999]},
        headers=await api.auth(),
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "device_ids", 0]


async def test_threshold_overrides_validated_at_creation(api: Api) -> None:
    device = await api.device()
    r = await api.http.post(
        "/api/v1/sessions",
        json={
            "patient": {"ref": "MRN-T"},
            "protocol": "ketamine-iv",
            "device_ids": [device["id"]],
            "thresholds": {"hr": {"high": 150}},
        },
        headers=await api.auth(),
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][:3] == ["body", "thresholds", "hr"]
    ok = await api.session([device["id"]], thresholds={"hr": {"high": 110, "for_s": 5}})
    assert ok["thresholds"]["hr"]["high"] == 110 and ok["thresholds"]["hr"]["critical_high"] == 140


async def test_patch_thresholds_merges_and_is_audited(api: Api, server: ServerProcess) -> None:
    _, session = await api.monitored()
    sid = session["id"]
    r = await api.http.patch(
        f"/api/v1/sessions/{sid}/thresholds",
        json={"spo2": {"low": 93}, "baseline_rise": {"sbp": 30}},
        headers=await api.auth(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["spo2"] == {
        "low": 93,
        "high": None,
        "critical_low": 88,
        "critical_high": None,
        "for_s": 15,
    }
    assert r.json()["baseline_rise"]["sbp"] == 30
    bad = await api.http.patch(
        f"/api/v1/sessions/{sid}/thresholds",
        json={"spo2": {"critical_low": 95}},
        headers=await api.auth(),
    )
    assert bad.status_code == 422
    # the field sent is the one named, with both limits in the message
    assert bad.json()["detail"][0]["loc"] == ["body", "spo2", "critical_low"]
    assert bad.json()["detail"][0]["msg"] == "spo2.critical_low (95) must be below spo2.low (93)"
    unknown = await api.http.patch(
        f"/api/v1/sessions/{sid}/thresholds", json={"spo3": {"low": 90}}, headers=await api.auth()
    )
    assert unknown.status_code == 422
    got = (await api.http.get(f"/api/v1/sessions/{sid}", headers=await api.auth())).json()
    assert got["thresholds"]["spo2"]["low"] == 93
    rows = await server.sql(
        "SELECT actor_name, detail FROM audit_log WHERE action='session.thresholds' "
        "AND entity_id=:sid",
        sid=sid,
    )
    assert len(rows) == 1 and rows[0][0] == "nurse"
    detail = rows[0][1] if isinstance(rows[0][1], dict) else json.loads(rows[0][1])
    assert detail["old"]["spo2"]["low"] == 92 and detail["new"]["spo2"]["low"] == 93


async def test_events_timeline_and_dose_sets_baseline(api: Api) -> None:
    device, session = await api.monitored("esketamine-in")
    sid = session["id"]
    start = now_utc() - timedelta(minutes=9)
    pre = samples(start, 60, step_s=5, hr=70, spo2=98)
    pre += [
        {"ts": s["ts"], "seq": 1000 + i, "sbp": 120 + i % 3, "dbp": 80}
        for i, s in enumerate(pre[::10])
    ]
    assert (await api.post(device["token"], pre)).status_code == 202
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/events",
        json={"kind": "dose", "detail": "56 mg"},
        headers=await api.auth(),
    )
    assert r.status_code == 201, r.text
    await api.http.post(
        f"/api/v1/sessions/{sid}/events",
        json={"kind": "note", "detail": "calm"},
        headers=await api.auth(),
    )
    events = (await api.http.get(f"/api/v1/sessions/{sid}/events", headers=await api.auth())).json()
    assert [e["kind"] for e in events] == ["dose", "note"]
    got = (await api.http.get(f"/api/v1/sessions/{sid}", headers=await api.auth())).json()
    assert got["first_dose_at"] is not None and got["observation_until"] is not None
    assert got["baseline"]["hr"] == 70 and got["baseline"]["sbp"] == 121
    assert got["latest"]["hr"]["value"] == 70
    bad = await api.http.post(
        f"/api/v1/sessions/{sid}/events", json={"kind": "infusion"}, headers=await api.auth()
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "kind"]


async def test_end_frees_devices_and_flags_early_end(api: Api) -> None:
    device, session = await api.monitored("ketamine-im")
    sid = session["id"]
    await api.http.post(
        f"/api/v1/sessions/{sid}/events", json={"kind": "dose"}, headers=await api.auth()
    )
    r = await api.http.post(f"/api/v1/sessions/{sid}/end", headers=await api.auth())
    assert r.status_code == 200
    ended = r.json()
    assert ended["status"] == "ended" and ended["ended_early"] is True
    again = await api.http.post(f"/api/v1/sessions/{sid}/end", headers=await api.auth())
    assert again.status_code == 409
    # the device is free again: a new session may take it
    await api.session([device["id"]])
    assert (
        await api.http.get("/api/v1/sessions/999999", headers=await api.auth())
    ).status_code == 404


async def test_admin_may_also_manage_sessions(api: Api) -> None:
    device = await api.device()
    r = await api.http.post(
        "/api/v1/sessions",
        json={"patient": {"ref": "MRN-ADMIN"}, "protocol": "custom", "device_ids": [device["id"]]},
        headers=await api.auth(ADMIN),
    )
    assert r.status_code == 201
