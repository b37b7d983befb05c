"""Pre-dose checklist, the esketamine BP gate and doses on the timeline."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.support import ADMIN, Api, ServerProcess, iso, now_utc


def _json(v: object) -> dict[str, object]:
    return v if isinstance(v, dict) else json.loads(str(v))


async def test_esketamine_checklist_bp_gate_and_flagged_dose(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored("esketamine-in")
    sid, h = session["id"], await api.auth()
    cl = (await api.http.get(f"/api/v1/sessions/{sid}/checklist", headers=h)).json()
    assert [i["key"] for i in cl["items"]] == [
        "consent",
        "contraindications",
        "concomitant_medications",
        "baseline_vitals",
        "transport_home",
        "bp_gate",
    ]
    assert cl["complete"] is False
    gate = cl["items"][-1]
    assert gate["satisfied"] is False and gate["status"] == "No pre-dose BP yet"
    r = await api.http.put(
        f"/api/v1/sessions/{sid}/checklist/consent", json={"done": True}, headers=h
    )
    assert r.status_code == 200 and r.json()["items"][0]["by"] == "nurse"
    assert r.json()["items"][0]["at"] is not None
    assert (
        await api.http.put(f"/api/v1/sessions/{sid}/checklist/nope", json={"done": True}, headers=h)
    ).status_code == 404
    bad = await api.http.put(f"/api/v1/sessions/{sid}/checklist/consent", json={}, headers=h)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "done"]
    # BP 152/94 before dosing: the gate needs a clinician's decision
    await api.post(device["token"], [{"ts": iso(now_utc()), "seq": 1, "sbp": 152, "dbp": 94}])
    cl = (await api.http.get(f"/api/v1/sessions/{sid}/checklist", headers=h)).json()
    assert (
        "152/94" in cl["items"][-1]["status"]
        and "needs a clinician's decision" in cl["items"][-1]["status"]
    )
    no_reason = await api.http.put(
        f"/api/v1/sessions/{sid}/checklist/bp_gate", json={"decision": "proceed"}, headers=h
    )
    assert no_reason.status_code == 422
    # dosing now: the checklist is incomplete, the dose is stored and flagged
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/events",
        json={
            "kind": "dose",
            "dose": {"amount": 56, "lot_number": "AB123"},
            "override_reason": "Prescriber on site, patient anxious",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    dose = r.json()["dose"]
    assert dose["drug"] == "esketamine" and dose["route"] == "intranasal" and dose["total_mg"] == 56
    assert dose["checklist_complete"] is False
    assert "Consent on file" not in dose["checklist_missing"]
    assert any("140/90" in m for m in dose["checklist_missing"])
    assert dose["override_reason"] == "Prescriber on site, patient anxious"
    events = (await api.http.get(f"/api/v1/sessions/{sid}/events", headers=h)).json()
    assert events[0]["dose"]["checklist_complete"] is False
    rows = await server.sql(
        "SELECT actor_name, detail FROM audit_log WHERE action='dose.checklist_incomplete' "
        "AND entity_id=:sid",
        sid=sid,
    )
    assert len(rows) == 1 and rows[0][0] == "nurse"
    assert _json(rows[0][1])["override_reason"] == "Prescriber on site, patient anxious"
    audited = await server.sql(
        "SELECT detail FROM audit_log WHERE action='checklist.answer' AND entity_id=:sid", sid=sid
    )
    assert [_json(d[0])["item"] for d in audited] == ["consent"]


async def test_bp_gate_decision_covers_that_reading_not_a_higher_one(api: Api) -> None:
    device, session = await api.monitored("esketamine-in")
    sid, h = session["id"], await api.auth()
    await api.post(
        device["token"],
        [{"ts": iso(now_utc() - timedelta(seconds=30)), "seq": 1, "sbp": 146, "dbp": 88}],
    )
    r = await api.http.put(
        f"/api/v1/sessions/{sid}/checklist/bp_gate",
        json={"decision": "proceed", "clinician": "Dr Osei", "reason": "Usual BP for this patient"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    gate = r.json()["items"][-1]
    assert gate["satisfied"] is True and "Dr Osei decided to proceed" in gate["status"]
    assert gate["bp"]["sbp"] == 146
    await api.post(device["token"], [{"ts": iso(now_utc()), "seq": 2, "sbp": 158, "dbp": 92}])
    gate = (await api.http.get(f"/api/v1/sessions/{sid}/checklist", headers=h)).json()["items"][-1]
    assert gate["satisfied"] is False and "158/92" in gate["status"]


async def test_complete_checklist_dose_is_not_flagged_and_infusion_stops(api: Api) -> None:
    _, session = await api.monitored(
        "ketamine-iv", started_at=iso(now_utc() - timedelta(minutes=60))
    )
    sid, h = session["id"], await api.auth()
    for key in (
        "consent",
        "contraindications",
        "concomitant_medications",
        "baseline_vitals",
        "transport_home",
    ):
        await api.http.put(
            f"/api/v1/sessions/{sid}/checklist/{key}", json={"done": True}, headers=h
        )
    start = now_utc() - timedelta(minutes=45)
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/events",
        json={
            "kind": "dose",
            "ts": iso(start),
            "dose": {"amount": 0.5, "unit": "mg/kg", "weight_kg": 80, "lot_number": "K-9"},
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    dose = r.json()["dose"]
    assert dose["route"] == "iv_infusion" and dose["total_mg"] == 40
    assert dose["checklist_complete"] is True and dose["override_reason"] is None
    assert dose["infusion_start"] is not None and dose["infusion_stop"] is None
    before = (await api.http.get(f"/api/v1/sessions/{sid}/readiness", headers=h)).json()
    stop = await api.http.post(
        f"/api/v1/sessions/{sid}/doses/{r.json()['id']}/stop",
        json={"ts": iso(start + timedelta(minutes=30))},
        headers=h,
    )
    assert stop.status_code == 200, stop.text
    assert stop.json()["dose"]["infusion_stop"] is not None
    after = (await api.http.get(f"/api/v1/sessions/{sid}/readiness", headers=h)).json()
    # the observation hour counts from the infusion's stop (30 min), not its usual 40
    assert after["observation_until"] < before["observation_until"]
    again = await api.http.post(f"/api/v1/sessions/{sid}/doses/{r.json()['id']}/stop", headers=h)
    assert again.status_code == 409
    note = await api.http.post(
        f"/api/v1/sessions/{sid}/events", json={"kind": "note", "dose": {"amount": 1}}, headers=h
    )
    assert note.status_code == 422 and note.json()["detail"][0]["loc"] == ["body", "dose"]
    # the old form still works
    plain = await api.http.post(
        f"/api/v1/sessions/{sid}/events", json={"kind": "phase", "detail": "recovery"}, headers=h
    )
    assert plain.status_code == 201 and plain.json()["dose"] is None


async def test_record_profile_is_clinic_editable_and_versioned(
    api: Api, server: ServerProcess
) -> None:
    h_admin = await api.auth(ADMIN)
    _, before = await api.monitored("ketamine-im")
    body = {
        "checklist": [
            {"key": "consent", "label": "Consent on file"},
            {"key": "escort", "label": "Escort present in the clinic"},
        ],
        "observation_interval_min": 10,
        "quiet_min": 5,
    }
    nurse = await api.http.put(
        "/api/v1/record-profiles/ketamine-im", json=body, headers=await api.auth()
    )
    assert nurse.status_code == 403
    dup = {**body, "checklist": [body["checklist"][0], body["checklist"][0]]}
    assert (
        await api.http.put("/api/v1/record-profiles/ketamine-im", json=dup, headers=h_admin)
    ).status_code == 422
    r = await api.http.put("/api/v1/record-profiles/ketamine-im", json=body, headers=h_admin)
    assert r.status_code == 200, r.text
    assert r.json()["version"] is not None and r.json()["observation_interval_min"] == 10
    _, after = await api.monitored("ketamine-im")
    keys = lambda sid: api.http.get(f"/api/v1/sessions/{sid}/checklist", headers=h_admin)  # noqa: E731
    assert [i["key"] for i in (await keys(after["id"])).json()["items"]] == ["consent", "escort"]
    # a session started before the change keeps the checklist it started with
    assert len((await keys(before["id"])).json()["items"]) == 5
    rows = await server.sql("SELECT actor_name FROM audit_log WHERE action='record_profile.save'")
    assert rows == [("admin",)]
