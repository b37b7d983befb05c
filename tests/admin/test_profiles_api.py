"""Staff profiles and the clinic's profile through the admin API: what the
records name (REMS form, report), edited by an admin, audited, checked."""

from __future__ import annotations

from tests.records.profiles import CLINIC, NURSE_PROFILE
from tests.support import ADMIN, NURSE, Api, ServerProcess, login, staff_user


async def test_staff_profile_is_admin_edited_and_checked(api: Api, server: ServerProcess) -> None:
    admin = await api.auth(ADMIN)
    user, who = await staff_user(api)
    assert all(user[k] is None for k in NURSE_PROFILE)
    r = await api.http.patch(f"/api/v1/users/{user['id']}", json=NURSE_PROFILE, headers=admin)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in NURSE_PROFILE} == NURSE_PROFILE
    listed = next(
        u
        for u in (await api.http.get("/api/v1/users", headers=admin)).json()
        if u["id"] == user["id"]
    )
    assert listed["credentials"] == "RN" and listed["email"] == NURSE_PROFILE["email"]
    # a profile edit keeps the user signed in (not a role change)
    assert (await login(api, who)).status_code == 200
    for bad, field in (
        ({"email": "not-an-address"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"given_name": ""}, "given_name"),
        ({"credentials": "x" * 41}, "credentials"),
        ({"nickname": "Sammy"}, "nickname"),
    ):
        r = await api.http.patch(f"/api/v1/users/{user['id']}", json=bad, headers=admin)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, r.text
    # null clears one field, the others stay
    r = await api.http.patch(f"/api/v1/users/{user['id']}", json={"phone": None}, headers=admin)
    assert r.json()["phone"] is None and r.json()["email"] == NURSE_PROFILE["email"]
    nurse = await api.auth(NURSE)
    r = await api.http.patch(
        f"/api/v1/users/{user['id']}", json={"phone": "555 0100"}, headers=nurse
    )
    assert r.status_code == 403
    rows = await server.sql(
        "SELECT action FROM audit_log WHERE entity='user' AND entity_id=:uid ORDER BY id",
        uid=user["id"],
    )
    assert [row[0] for row in rows] == ["user.create", "user.update", "user.update"]


async def test_clinic_profile(api: Api, server: ServerProcess) -> None:
    admin, nurse = await api.auth(ADMIN), await api.auth(NURSE)
    empty = (await api.http.get("/api/v1/clinic", headers=nurse)).json()
    assert empty["name"] is None and empty["vitals_interval_min"] == 5
    assert empty["time_zone"] == "UTC"
    assert (await api.http.put("/api/v1/clinic", json=CLINIC, headers=nurse)).status_code == 403
    assert (await api.http.get("/api/v1/clinic")).status_code == 401
    r = await api.http.put(
        "/api/v1/clinic", json={**CLINIC, "vitals_interval_min": 10}, headers=admin
    )
    assert r.status_code == 200, r.text
    saved = (await api.http.get("/api/v1/clinic", headers=nurse)).json()
    assert saved["name"] == CLINIC["name"] and saved["zip"] == "04101"
    assert saved["vitals_interval_min"] == 10 and saved["updated_by"] == "admin"
    for bad, field in (
        ({"zip": "!!"}, "zip"),
        ({"vitals_interval_min": 0}, "vitals_interval_min"),
        ({"time_zone": "Europe/Berlin"}, "time_zone"),  # a setting, not a profile field
        ({"name": ""}, "name"),
    ):
        r = await api.http.put("/api/v1/clinic", json={**CLINIC, **bad}, headers=admin)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, r.text
    # nothing half stored
    assert (await api.http.get("/api/v1/clinic", headers=nurse)).json()["vitals_interval_min"] == 10
    rows = await server.sql("SELECT action FROM audit_log WHERE entity='clinic' ORDER BY id")
    assert [row[0] for row in rows] == ["clinic.update"]
