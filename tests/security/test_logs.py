"""No token, password or patient identifier in the logs of a whole server run,
at DEBUG with the access log on."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import timedelta

import websockets

from tests.support import (
    ADMIN,
    NURSE,
    Api,
    ServerProcess,
    live_socket,
    login,
    now_utc,
    samples,
    staff_user,
)


async def test_the_logs_of_a_whole_run_hold_no_secret_or_patient_data(
    new_server: Callable[..., ServerProcess],
) -> None:
    server = new_server(VITALWATCH_LOG_LEVEL="DEBUG", VITALWATCH_ACCESS_LOG="true")
    server.start()
    api = Api(server.url)
    secrets_used: list[str] = [ADMIN[1], NURSE[1]]
    try:
        staff = [await api.token(NURSE), await api.token(ADMIN)]
        user, who = await staff_user(api)
        secrets_used.append(who[1])
        staff.append((await login(api, who)).json()["access_token"])
        patients = []
        for _ in range(3):
            ref, name = f"MRN-{secrets.token_hex(4)}", f"Pat {secrets.token_hex(3)} Doe"
            patients += [ref, name]
            device = await api.device()
            staff.append(device["token"])
            r = await api.http.post(
                "/api/v1/sessions",
                json={
                    "patient": {"ref": ref, "display_name": name},
                    "protocol": "ketamine-iv",
                    "device_ids": [device["id"]],
                },
                headers=await api.auth(),
            )
            assert r.status_code == 201
            await api.post(device["token"], samples(now_utc() - timedelta(seconds=5), 3, spo2=80))
            # a 422 and a 409: error paths log too
            await api.http.post(
                "/api/v1/sessions",
                json={"patient": {"ref": ref, "display_name": name}, "device_ids": [device["id"]]},
                headers=await api.auth(),
            )
            await api.post(device["token"], [{"seq": 1, "sbp": 80, "dbp": 90}])
        # dashboards: the deprecated ?token= and the auth message
        old = await websockets.connect(f"{server.ws_url}?token={staff[0]}&since=0")
        await old.recv()
        new = await live_socket(server, staff[1])
        await new.recv()
        await old.close()
        await new.close()
        # failed logins, with a password that looks like a secret
        wrong = "Wrong-" + secrets.token_hex(8)
        secrets_used.append(wrong)
        for _ in range(3):
            await login(api, (NURSE[0], wrong))
        rotated = await api.http.post(
            f"/api/v1/devices/{device['id']}/rotate", headers=await api.auth(ADMIN)
        )
        staff.append(rotated.json()["token"])
        await api.http.post(
            f"/api/v1/users/{user['id']}/password",
            json={"password": "Brand-new-" + secrets.token_hex(4)},
            headers=await api.auth(ADMIN),
        )
        await asyncio.sleep(0.6)
    finally:
        await api.aclose()
        server.stop()
    log = server.log_text()
    assert "dashboard_connected" in log and "login_failed" in log  # the run was logged
    assert "/api/v1/ws?[query removed]" in log  # uvicorn's line for the deprecated URL
    assert 'POST /api/v1/readings HTTP/1.1\\" 202' in log  # the access log was on
    for secret in staff + secrets_used:
        assert secret not in log, "a token or password is in the log"
    for value in patients:
        assert value not in log, "patient data is in the log"
