"""Patients as records, and the patient side of starting a session (issue 16 item 5)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.support import ADMIN, Api, ServerProcess


async def _start(api: Api, patient: dict[str, Any], **extra: Any) -> Any:
    body = {"patient": patient, "protocol": "esketamine-in", "room": "Room 9", **extra}
    return await api.http.post("/api/v1/sessions", json=body, headers=await api.auth())


async def test_create_search_get_and_patch_are_audited(api: Api, server: ServerProcess) -> None:
    h = await api.auth()
    r = await api.http.post(
        "/api/v1/patients",
        json={
            "ref": "MRN-P100",
            "display_name": "Ada Lovelace",
            "date_of_birth": "1985-12-10",
            "sex": "female",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    patient = r.json()
    assert patient["sessions"] == [] and patient["sex"] == "female"
    again = await api.http.post("/api/v1/patients", json={"ref": "MRN-P100"}, headers=h)
    assert again.status_code == 409
    bad = await api.http.post(
        "/api/v1/patients", json={"ref": "MRN-P101", "date_of_birth": "2999-01-01"}, headers=h
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "date_of_birth"]
    found = (await api.http.get("/api/v1/patients", params={"q": "lovel"}, headers=h)).json()
    assert [p["id"] for p in found] == [patient["id"]]
    assert (await api.http.get("/api/v1/patients", params={"q": "100%"}, headers=h)).json() == []
    r = await api.http.patch(
        f"/api/v1/patients/{patient['id']}", json={"display_name": "Ada King"}, headers=h
    )
    assert r.status_code == 200 and r.json()["display_name"] == "Ada King"
    rows = await server.sql(
        "SELECT action, actor_name, detail FROM audit_log WHERE entity='patient' "
        "AND entity_id=:pid ORDER BY id",
        pid=patient["id"],
    )
    assert [r[0] for r in rows] == ["patient.create", "patient.update"]
    detail = rows[1][2] if isinstance(rows[1][2], dict) else json.loads(rows[1][2])
    assert detail == {"old": {"display_name": "Ada Lovelace"}, "new": {"display_name": "Ada King"}}
    missing = await api.http.get("/api/v1/patients/999999", headers=h)
    assert missing.status_code == 404


async def test_session_start_picks_the_patient_and_lists_its_sessions(api: Api) -> None:
    first = await _start(api, {"ref": "MRN-P200", "display_name": "Grace Hopper"})
    assert first.status_code == 201, first.text
    pid = first.json()["patient"]["id"]
    by_id = await api.http.post(
        "/api/v1/sessions",
        json={"patient_id": pid, "protocol": "ketamine-iv", "room": "Room 2"},
        headers=await api.auth(),
    )
    assert by_id.status_code == 201 and by_id.json()["patient"]["ref"] == "MRN-P200"
    # the same name, spelt with other spaces and case, is the same patient
    third = await _start(api, {"ref": "MRN-P200", "display_name": " grace  HOPPER"}, room="R3")
    assert third.status_code == 201
    detail = (await api.http.get(f"/api/v1/patients/{pid}", headers=await api.auth())).json()
    assert detail["display_name"] == "Grace Hopper"
    assert [s["id"] for s in detail["sessions"]] == sorted(
        [first.json()["id"], by_id.json()["id"], third.json()["id"]], reverse=True
    )
    both = await api.http.post(
        "/api/v1/sessions",
        json={"patient_id": pid, "patient": {"ref": "X"}, "protocol": "custom"},
        headers=await api.auth(),
    )
    assert both.status_code == 422
    unknown = await api.http.post(
        "/api/v1/sessions",
        json={"patient_id": 99999, "protocol": "custom"},
        headers=await api.auth(),
    )
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == [
        "body",
        "patient_id",
    ]


async def test_known_reference_with_another_name_is_refused_or_confirmed(
    api: Api, server: ServerProcess
) -> None:
    first = await _start(api, {"ref": "MRN-P300", "display_name": "Alan Turing"})
    pid = first.json()["patient"]["id"]
    before = len(await server.sql("SELECT id FROM sessions"))
    r = await _start(api, {"ref": "MRN-P300", "display_name": "Alan Smith"}, room="Room 1")
    assert r.status_code == 409
    assert "another display name" in r.json()["detail"] and "confirm_rename" in r.json()["detail"]
    assert len(await server.sql("SELECT id FROM sessions")) == before  # nothing half stored
    rows = await server.sql("SELECT display_name FROM patients WHERE id=:pid", pid=pid)
    assert rows[0][0] == "Alan Turing"
    ok = await _start(
        api, {"ref": "MRN-P300", "display_name": "Alan Smith", "confirm_rename": True}, room="R1"
    )
    assert ok.status_code == 201 and ok.json()["patient"]["display_name"] == "Alan Smith"
    audit = await server.sql(
        "SELECT action, actor_name FROM audit_log WHERE entity='patient' AND entity_id=:pid "
        "ORDER BY id",
        pid=pid,
    )
    assert audit[-1] == ("patient.rename", "nurse")
    # a name missing on record is filled in, not refused
    await _start(api, {"ref": "MRN-P301"}, room="Room 4")
    filled = await _start(api, {"ref": "MRN-P301", "display_name": "Joan Clarke"}, room="Room 5")
    assert filled.status_code == 201 and filled.json()["patient"]["display_name"] == "Joan Clarke"


async def test_double_click_starts_one_session_and_logs_no_patient_data(
    api: Api, server: ServerProcess
) -> None:
    device = await api.device()
    ref, name = "MRN-DOUBLE-7731", "Hedy Lamarr-Double"
    body = {"ref": ref, "display_name": name}
    results = await asyncio.gather(
        *(_start(api, body, device_ids=[device["id"]], room="Room 7") for _ in range(4))
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 200, 200, 201], [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert len(await server.sql("SELECT id FROM patients WHERE ref=:ref", ref=ref)) == 1
    sid = results[0].json()["id"]
    assert len(await server.sql("SELECT id FROM sessions WHERE id=:sid", sid=sid)) == 1
    # without monitors too: the same start twice at once is one session
    twice = await asyncio.gather(*(_start(api, {"ref": "MRN-DOUBLE-2"}) for _ in range(2)))
    assert sorted(r.status_code for r in twice) == [200, 201]
    log = server.log_text()
    assert ref not in log and name not in log and "MRN-DOUBLE-2" not in log
    assert "Traceback" not in log


async def test_admin_and_nurse_only(api: Api) -> None:
    assert (await api.http.get("/api/v1/patients")).status_code == 401
    assert (
        await api.http.get("/api/v1/patients", headers=await api.auth(ADMIN))
    ).status_code == 200
