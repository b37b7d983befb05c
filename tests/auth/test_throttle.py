"""Login throttling per account and per address, audited; same answer for an
unknown user and a wrong password."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator, Callable

import pytest

from tests.support import ADMIN, NURSE, Api, ServerProcess, login


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def strict(
    new_server: Callable[..., ServerProcess],
) -> AsyncIterator[tuple[ServerProcess, Api]]:
    server = new_server(
        VITALWATCH_LOGIN_ACCOUNT_ATTEMPTS="3",
        VITALWATCH_LOGIN_ADDRESS_ATTEMPTS="8",
    )
    server.start()
    api = Api(server.url)
    yield server, api
    await api.aclose()


async def test_account_back_off_grows_and_the_right_password_waits_too(
    strict: tuple[ServerProcess, Api],
) -> None:
    server, api = strict
    for _ in range(3):
        assert (await login(api, (NURSE[0], "wrong-password"))).status_code == 401
    r = await login(api, NURSE)  # the right password is refused while throttled
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) == 1 and "try again in 1 s" in r.json()["detail"]
    await asyncio.sleep(1.1)
    assert (await login(api, (NURSE[0], "wrong-password"))).status_code == 401
    r = await login(api, NURSE)
    assert r.status_code == 429 and int(r.headers["retry-after"]) == 2  # grows: 1, 2, 4 ...
    await asyncio.sleep(2.1)
    assert (await login(api, NURSE)).status_code == 200  # and clears the account's count
    assert (await login(api, (NURSE[0], "wrong-password"))).status_code == 401
    assert (await login(api, NURSE)).status_code == 200

    await asyncio.sleep(0.8)  # the audit queue writes every 0.5 s
    rows = await server.sql(
        "SELECT action, actor_name, detail FROM audit_log WHERE action LIKE 'auth.%' ORDER BY id"
    )
    failed = [r for r in rows if r[0] == "auth.login_failed"]
    throttled = [r for r in rows if r[0] == "auth.login_throttled"]
    assert len(failed) == 5 and len(throttled) == 2
    for _, name, detail in failed + throttled:
        detail = detail if isinstance(detail, dict) else json.loads(detail)
        assert name == NURSE[0] and detail["username"] == NURSE[0]
        assert detail["address"] == "127.0.0.1"
    assert "wrong password" in str(failed[0][2])


async def test_address_throttle_across_user_names(strict: tuple[ServerProcess, Api]) -> None:
    _, api = strict
    for i in range(8):
        assert (await login(api, (f"spray-{i}", "Password-1"))).status_code == 401
    r = await login(api, ADMIN)  # from this address, everyone waits, right password or not
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_unknown_user_and_wrong_password_look_the_same(api: Api) -> None:
    timings: dict[str, list[float]] = {"unknown": [], "wrong": []}
    answers = set()
    for i in range(4):
        for kind, who in (("unknown", f"nobody-{i}"), ("wrong", ADMIN[0])):
            started = time.perf_counter()
            r = await login(api, (who, f"not-it-{i}"))
            timings[kind].append(time.perf_counter() - started)
            answers.add((r.status_code, r.text, r.headers.get("www-authenticate")))
    assert answers == {(401, '{"detail":"Incorrect username or password"}', "Bearer")}
    unknown, wrong = (statistics.median(timings[k]) for k in ("unknown", "wrong"))
    assert 0.5 < unknown / wrong < 2.0, timings  # both verify one argon2 hash
