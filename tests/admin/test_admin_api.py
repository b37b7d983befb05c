"""Administration through the API: staff accounts, monitors, the audit log."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.support import (
    ADMIN,
    NURSE,
    Api,
    ServerProcess,
    login,
    now_utc,
    samples,
    staff_user,
    wait_for,
)


async def test_staff_accounts(api: Api) -> None:
    admin = await api.auth(ADMIN)
    user, who = await staff_user(api)
    assert user["role"] == "nurse" and user["active"] is True and "password_hash" not in user
    listing = (await api.http.get("/api/v1/users", headers=admin)).json()
    assert who[0] in {u["username"] for u in listing}
    r = await api.http.post(
        "/api/v1/users", json={"username": who[0], "password": "Another-pass-42"}, headers=admin
    )
    assert r.status_code == 409
    r = await api.http.post(
        "/api/v1/users",
        json={"username": "bad name!", "password": "Another-pass-42"},
        headers=admin,
    )
    assert r.status_code == 422
    # a nurse may do none of it
    nurse = await api.auth(NURSE)
    assert (await api.http.get("/api/v1/users", headers=nurse)).status_code == 403
    r = await api.http.patch(f"/api/v1/users/{user['id']}", json={"active": False}, headers=nurse)
    assert r.status_code == 403
    # reset the password: the old one stops working, the new one works
    r = await api.http.post(
        f"/api/v1/users/{user['id']}/password",
        json={"password": "Reset-by-admin-7"},
        headers=admin,
    )
    assert r.status_code == 204
    assert (await login(api, who)).status_code == 401
    assert (await login(api, (who[0], "Reset-by-admin-7"))).status_code == 200
    # an admin cannot lock themselves out
    me = (await api.http.get("/api/v1/auth/me", headers=admin)).json()
    r = await api.http.patch(f"/api/v1/users/{me['id']}", json={"active": False}, headers=admin)
    assert r.status_code == 409
    r = await api.http.patch("/api/v1/users/999999", json={"active": False}, headers=admin)
    assert r.status_code == 404


async def test_monitor_rename_rotate_retire(api: Api, server: ServerProcess) -> None:
    admin = await api.auth(ADMIN)
    device, session = await api.monitored()
    t0 = now_utc() - timedelta(seconds=30)
    assert (await api.post(device["token"], samples(t0, 2, hr=70))).status_code == 202
    r = await api.http.patch(
        f"/api/v1/devices/{device['id']}", json={"name": "Bay 12 (left)"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["name"] == "Bay 12 (left)"
    r = await api.http.post(f"/api/v1/devices/{device['id']}/rotate", headers=admin)
    assert r.status_code == 200
    new_token = r.json()["token"]
    assert new_token != device["token"] and r.json()["session_id"] == session["id"]
    assert (await api.post(device["token"], samples(t0, 1, seq0=5, hr=70))).status_code == 401
    assert (await api.post(new_token, samples(t0, 1, seq0=5, hr=70))).status_code == 202
    listing = (await api.http.get("/api/v1/devices", headers=admin)).json()
    mine = next(d for d in listing if d["id"] == device["id"])
    assert mine["session_id"] == session["id"]  # which session holds it
    r = await api.http.post(f"/api/v1/devices/{device['id']}/retire", headers=admin)
    assert r.status_code == 200
    assert r.json()["retired"] is True and r.json()["released_session_id"] == session["id"]
    assert (await api.post(new_token, samples(t0, 1, seq0=9, hr=70))).status_code == 401
    listing = (await api.http.get("/api/v1/devices", headers=admin)).json()
    assert device["id"] not in {d["id"] for d in listing}
    listing = (
        await api.http.get("/api/v1/devices", params={"include_retired": True}, headers=admin)
    ).json()
    assert next(d for d in listing if d["id"] == device["id"])["retired_at"] is not None
    for path in ("rotate", "retire"):
        r = await api.http.post(f"/api/v1/devices/{device['id']}/{path}", headers=admin)
        assert r.status_code == 409 and "retired" in r.json()["detail"]
    assert (await api.http.post("/api/v1/devices/99999/rotate", headers=admin)).status_code == 404
    nurse = await api.auth(NURSE)
    r = await api.http.post(f"/api/v1/devices/{device['id']}/rotate", headers=nurse)
    assert r.status_code == 403
    actions = [
        a
        for (a,) in await server.sql(
            "SELECT action FROM audit_log WHERE entity = 'device' AND entity_id = :id ORDER BY id",
            id=device["id"],
        )
    ]
    assert actions == ["device.register", "device.update", "device.rotate", "device.retire"]


async def test_audit_log_filters_and_csv(api: Api) -> None:
    admin = await api.auth(ADMIN)
    user, _ = await staff_user(api)
    await api.http.patch(f"/api/v1/users/{user['id']}", json={"role": "admin"}, headers=admin)
    device, session = await api.monitored()
    await api.post(device["token"], samples(now_utc() - timedelta(seconds=5), 1, sbp=200, dbp=90))
    alarms = (
        await api.http.get("/api/v1/alarms", params={"session_id": session["id"]}, headers=admin)
    ).json()
    await api.http.post(f"/api/v1/alarms/{alarms[0]['id']}/ack", headers=await api.auth(NURSE))
    await api.http.post(f"/api/v1/sessions/{session['id']}/end", headers=admin)

    def get(**params: object) -> object:
        return api.http.get("/api/v1/audit", params=params, headers=admin)

    rows = (await get(session_id=session["id"])).json()
    assert {r["action"] for r in rows} >= {"alarm.acknowledge"}
    assert all(
        (r["entity"] == "session" and r["entity_id"] == session["id"]) or r["entity"] == "alarm"
        for r in rows
    )
    rows = (await get(actor=NURSE[0], action="alarm.acknowledge")).json()
    assert rows and all(r["actor_name"] == NURSE[0] for r in rows)
    rows = (await get(action="user.")).json()
    assert {"user.create", "user.update"} <= {r["action"] for r in rows}
    newest = (await get(limit=1)).json()[0]
    rows = (await get(until=newest["ts"], since=newest["ts"])).json()
    assert newest["id"] in {r["id"] for r in rows}
    older = (await get(before_id=newest["id"], limit=5)).json()
    assert all(r["id"] < newest["id"] for r in older) and len(older) == 5
    assert (await api.http.get("/api/v1/audit", headers=await api.auth(NURSE))).status_code == 403
    assert (await get(since="not a time")).status_code == 422

    r = await api.http.get("/api/v1/audit.csv", params={"action": "user."}, headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0][:6] == ["id", "ts", "actor_type", "actor_id", "actor_name", "action"]
    assert any(row[5] == "user.update" for row in table[1:])


async def test_csv_cells_never_run_as_formulas(api: Api) -> None:
    """A failed sign-in is audited under the name typed, by anyone: the export
    must not hand a spreadsheet a formula."""
    evil = "=cmd|' /C calc'!A0"
    assert (await login(api, (evil, "whatever-it-is"))).status_code == 401
    admin = await api.auth(ADMIN)

    async def exported() -> list[list[str]]:
        r = await api.http.get(
            "/api/v1/audit.csv", params={"action": "auth.login_failed"}, headers=admin
        )
        return list(csv.reader(io.StringIO(r.text)))

    rows = await wait_for(lambda: _with(exported(), evil))
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    assert any(row[4] == "'" + evil for row in rows)


async def _with(rows: object, name: str) -> list[list[str]] | None:
    got: list[list[str]] = await rows  # type: ignore[misc]
    return got if any(name in row[4] for row in got[1:]) else None
