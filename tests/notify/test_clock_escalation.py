"""The alarm core's own trigger, end to end: a medium alarm nobody acknowledges
is escalated by the alarm clock after 60 s and handed to secondary
notification. One backend (the clock does not depend on it); the same server
shows a target that never answers being given up after the last attempt."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from tests.notify.peers import (
    FAST_RETRIES,
    Receiver,
    add_target,
    alarm_log,
    just,
    outbox,
    set_chain,
)
from tests.support import Api, ServerProcess, now_utc, samples, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


async def test_unanswered_medium_alarm_reaches_the_chain_after_60_s(
    new_server: Callable[..., ServerProcess], receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    server = new_server(**FAST_RETRIES, VITALWATCH_NOTIFY_MAX_ATTEMPTS="2")
    server.start()
    api = Api(server.url)
    try:
        up = await receivers(secret="e" * 40)
        down = await receivers(start=False, secret="f" * 40)
        a = await add_target(api, name="Up", kind="webhook", address=up.url, secret=up.secret)
        b = await add_target(api, name="Down", kind="webhook", address=down.url, secret=down.secret)
        await set_chain(api, (a["id"], 0), (b["id"], 0))
        device, session = await api.monitored()
        r = await api.post(
            device["token"], samples(now_utc() - timedelta(seconds=1), 1, sbp=165, dbp=90, hr=80)
        )
        assert r.status_code == 202, r.text
        await wait_for(lambda: just(up.accepted()), timeout=75, interval=0.5)
        body = up.accepted()[0].json()
        assert body["alarm"]["session_id"] == session["id"]
        assert "not acknowledged within 60 s" in body["reason"]
        alarm_id = body["alarm"]["id"]
        rows = {r["target_id"]: r for r in await outbox(api, alarm_id)}
        assert rows[a["id"]]["state"] == "sent"

        async def given_up() -> bool:
            rows = {r["target_id"]: r for r in await outbox(api, alarm_id)}
            return rows[b["id"]]["state"] == "failed"

        await wait_for(given_up, timeout=10)
        failed = [e for e in await alarm_log(api, alarm_id) if e["action"] == "notify_failed"]
        assert len(failed) == 2 and "gave up after 2 attempts" in failed[-1]["message"]
        escalated = [e for e in await alarm_log(api, alarm_id) if e["action"] == "escalated"]
        assert len(escalated) == 1
    finally:
        await api.aclose()
