"""Staff authentication and authorisation through the real server."""

from __future__ import annotations

from tests.support import ADMIN, NURSE, Api, ServerProcess


async def test_login_returns_bearer_token_with_role(api: Api) -> None:
    r = await api.http.post("/api/v1/auth/token", data={"username": NURSE[0], "password": NURSE[1]})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["role"] == "nurse" and body["access_token"]


async def test_wrong_password_and_unknown_user_are_401(api: Api) -> None:
    for username, password in ((NURSE[0], "wrong-password"), ("nobody", "whatever-1")):
        r = await api.http.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert r.status_code == 401
        assert r.json()["detail"] == "Incorrect username or password"


async def test_staff_endpoints_need_a_valid_token(api: Api) -> None:
    for path in ("/api/v1/sessions", "/api/v1/alarms", "/api/v1/devices"):
        assert (await api.http.get(path)).status_code == 401
        r = await api.http.get(path, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401


async def test_device_token_is_not_a_staff_token(api: Api) -> None:
    device = await api.device()
    r = await api.http.get(
        "/api/v1/sessions", headers={"Authorization": f"Bearer {device['token']}"}
    )
    assert r.status_code == 401


async def test_nurse_cannot_register_devices(api: Api) -> None:
    r = await api.http.post(
        "/api/v1/devices", json={"name": "Bay 9"}, headers=await api.auth(NURSE)
    )
    assert r.status_code == 403
    assert "admin" in r.json()["detail"]


async def test_token_signed_with_another_secret_is_refused(api: Api) -> None:
    import jwt

    forged = jwt.encode({"sub": "1", "role": "admin", "exp": 4102444800}, "x" * 40, "HS256")
    r = await api.http.get("/api/v1/sessions", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


async def test_device_token_shown_once_and_stored_hashed(api: Api, server: ServerProcess) -> None:
    device = await api.device()
    token = device["token"]
    listing = (await api.http.get("/api/v1/devices", headers=await api.auth(ADMIN))).json()
    assert all("token" not in d for d in listing)
    [(token_hash,)] = await server.sql(
        "SELECT token_hash FROM devices WHERE id = :id", id=device["id"]
    )
    users = await server.sql("SELECT password_hash FROM users")
    assert token not in token_hash and len(token_hash) == 64
    assert all(h.startswith("$argon2id$") for (h,) in users)
