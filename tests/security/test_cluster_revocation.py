"""Production mode (two processes, PostgreSQL + Redis): a revocation made on
one process holds on the other at once, and login throttling counts across
processes."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.support import ADMIN, NURSE, Api, ServerProcess, close_code, live_socket, login

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_revocation_and_throttle_hold_across_processes(
    cluster: Callable[[int], list[ServerProcess]],
) -> None:
    a, b = cluster(2)
    for proc in (a, b):
        proc.extra_env["VITALWATCH_USER_CACHE_S"] = "30"  # only the bus can be this quick
        proc.extra_env["VITALWATCH_LOGIN_ACCOUNT_ATTEMPTS"] = "2"
        proc.start()
    api_a, api_b = Api(a.url), Api(b.url)
    try:
        token = await api_b.token(NURSE)
        headers = {"Authorization": f"Bearer {token}"}
        assert (await api_b.http.get("/api/v1/sessions", headers=headers)).status_code == 200
        ws = await live_socket(b, token)
        assert "snapshot" in await ws.recv()
        me = (await api_b.http.get("/api/v1/auth/me", headers=headers)).json()
        started = time.monotonic()
        r = await api_a.http.post(
            f"/api/v1/users/{me['id']}/sign-out", headers=await api_a.auth(ADMIN)
        )
        assert r.status_code == 204
        assert await close_code(ws, 5) == 4403  # B heard of it from A, through Redis
        r = await api_b.http.get("/api/v1/sessions", headers=headers)
        assert r.status_code == 401
        assert time.monotonic() - started < 5  # well inside the 30 s cache

        # a device token rotated on A is refused on B at once (B had it cached)
        device, _ = await api_a.monitored()
        assert (await api_b.post(device["token"], [{"seq": 1, "hr": 70}])).status_code == 202
        r = await api_a.http.post(
            f"/api/v1/devices/{device['id']}/rotate", headers=await api_a.auth(ADMIN)
        )
        assert r.status_code == 200
        deadline = time.monotonic() + 2
        while (await api_b.post(device["token"], [{"seq": 2, "hr": 70}])).status_code != 401:
            assert time.monotonic() < deadline, "B still takes the old device token"

        # failed logins on A and B add up: 2 free, then 1 s, 2 s, 4 s ... to wait
        assert (await login(api_a, (ADMIN[0], "wrong-guess-1"))).status_code == 401
        assert (await login(api_b, (ADMIN[0], "wrong-guess-2"))).status_code == 401
        r = await login(api_a, ADMIN)  # the right password, on the other process
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
    finally:
        await api_a.aclose()
        await api_b.aclose()
