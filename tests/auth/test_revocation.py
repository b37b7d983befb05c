"""Revocation: a changed account refuses its old tokens at once, on the API and
on live sockets (closed with 4403), and every change is audited."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.support import ADMIN, Api, ServerProcess, close_code, live_socket, login, staff_user


async def _signed_in(
    api: Api, role: str = "nurse"
) -> tuple[dict[str, object], str, tuple[str, str]]:
    user, who = await staff_user(api, role)
    r = await login(api, who)
    assert r.status_code == 200
    return user, r.json()["access_token"], who


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _open(server: ServerProcess, token: str) -> object:
    ws = await live_socket(server, token)
    first = await ws.recv()
    assert '"type":"snapshot"' in first.replace(" ", "")
    return ws


@pytest.mark.parametrize(
    ("change", "body"),
    [("disable", {"active": False}), ("role", {"role": "admin"}), ("sign-out", None)],
)
async def test_an_admin_change_refuses_old_tokens_and_closes_sockets(
    api: Api, server: ServerProcess, change: str, body: dict[str, object] | None
) -> None:
    user, token, who = await _signed_in(api)
    assert (await api.http.get("/api/v1/sessions", headers=_bearer(token))).status_code == 200
    ws = await _open(server, token)
    admin = await api.auth(ADMIN)
    started = time.monotonic()
    if body is None:
        r = await api.http.post(f"/api/v1/users/{user['id']}/sign-out", headers=admin)
        assert r.status_code == 204
    else:
        r = await api.http.patch(f"/api/v1/users/{user['id']}", json=body, headers=admin)
        assert r.status_code == 200, r.text
    # at once: no cache lets the old token through on this process
    r = await api.http.get("/api/v1/sessions", headers=_bearer(token))
    assert r.status_code == 401 and "sign in again" in r.json()["detail"]
    assert await close_code(ws, 3) == 4403
    assert time.monotonic() - started < 2.5
    r = await api.http.post("/api/v1/sessions", json={}, headers=_bearer(token))
    assert r.status_code == 401
    if change == "disable":
        assert (await login(api, who)).status_code == 401
    else:  # signing in again gives a token that works
        fresh = (await login(api, who)).json()["access_token"]
        assert (await api.http.get("/api/v1/alarms", headers=_bearer(fresh))).status_code == 200
    actions = {
        a
        for (a,) in await server.sql(
            "SELECT action FROM audit_log WHERE entity = 'user' AND entity_id = :id", id=user["id"]
        )
    }
    assert {"disable": "user.disable", "role": "user.update", "sign-out": "user.sign_out"}[
        change
    ] in actions


async def test_own_password_change_and_sign_out_everywhere(api: Api, server: ServerProcess) -> None:
    _, token, who = await _signed_in(api)
    other = (await login(api, who)).json()["access_token"]  # a second screen
    ws = await _open(server, other)
    r = await api.http.post(
        "/api/v1/auth/password",
        json={"current_password": "wrong", "new_password": "Another-good-one-42"},
        headers=_bearer(token),
    )
    assert r.status_code == 403
    r = await api.http.post(
        "/api/v1/auth/password",
        json={"current_password": who[1], "new_password": "12345678"},
        headers=_bearer(token),
    )
    assert r.status_code == 422 and "Password refused" in r.json()["detail"]
    r = await api.http.post(
        "/api/v1/auth/password",
        json={"current_password": who[1], "new_password": "Another-good-one-42"},
        headers=_bearer(token),
    )
    assert r.status_code == 204
    for old in (token, other):
        assert (await api.http.get("/api/v1/auth/me", headers=_bearer(old))).status_code == 401
    assert await close_code(ws, 3) == 4403
    assert (await login(api, who)).status_code == 401
    fresh = (await login(api, (who[0], "Another-good-one-42"))).json()["access_token"]
    r = await api.http.post("/api/v1/auth/sign-out-everywhere", headers=_bearer(fresh))
    assert r.status_code == 204
    assert (await api.http.get("/api/v1/auth/me", headers=_bearer(fresh))).status_code == 401


async def test_a_signed_token_for_a_user_that_does_not_exist_is_401(
    api: Api, server: ServerProcess
) -> None:
    now = int(time.time())
    forged = jwt.encode(
        {"sub": "987654", "name": "ghost", "role": "admin", "ver": 0, "iat": now, "exp": now + 600},
        server.secret,
        "HS256",
    )
    for method, path in (
        ("GET", "/api/v1/sessions"),
        ("POST", "/api/v1/sessions"),
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/devices"),
    ):
        r = await api.http.request(method, path, json={}, headers=_bearer(forged))
        assert r.status_code == 401, (method, path, r.status_code)
    ws = await live_socket(server, forged)
    assert await close_code(ws) == 4401


async def test_deprecated_query_token_is_still_accepted_and_revoked(
    api: Api, server: ServerProcess
) -> None:
    import websockets

    user, token, _ = await _signed_in(api)
    ws = await websockets.connect(f"{server.ws_url}?token={token}", open_timeout=10)
    assert '"snapshot"' in await ws.recv()
    r = await api.http.patch(
        f"/api/v1/users/{user['id']}", json={"active": False}, headers=await api.auth(ADMIN)
    )
    assert r.status_code == 200
    assert await close_code(ws, 3) == 4403
