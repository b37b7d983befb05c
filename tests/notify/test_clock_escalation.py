"""The alarm core's own trigger, end to end: a medium alarm that a watching
dashboard showed but nobody acknowledges is escalated by the alarm clock after
its unanswered time (120 s by default, 8 s here) and handed to secondary
notification. One backend (the clock does not depend on it); the same server
shows a target that never answers being given up after the last attempt."""

from __future__ import annotations

import json
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
from tests.support import Api, ServerProcess, connect, now_utc, recv, samples, until, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


async def test_unanswered_medium_alarm_reaches_the_chain_after_its_unanswered_time(
    new_server: Callable[..., ServerProcess], receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    server = new_server(
        **FAST_RETRIES, VITALWATCH_NOTIFY_MAX_ATTEMPTS="2", VITALWATCH_ESCALATE_MEDIUM_S="8"
    )
    server.start()
    api = Api(server.url)
    try:
        up = await receivers(secret="e" * 40)
        down = await receivers(start=False, secret="f" * 40)
        a = await add_target(api, name="Up", kind="webhook", address=up.url, secret=up.secret)
        b = await add_target(api, name="Down", kind="webhook", address=down.url, secret=down.secret)
        await set_chain(api, (a["id"], 0), (b["id"], 0))
        device, session = await api.monitored()
        ws = await connect(server, api)  # a nurse's screen, visible with sound on
        await recv(ws)
        await ws.send(json.dumps({"type": "status", "visible": True, "sound": True}))
        r = await api.post(
            device["token"], samples(now_utc() - timedelta(seconds=1), 1, sbp=165, dbp=90, hr=80)
        )
        assert r.status_code == 202, r.text
        event = await until(ws, lambda m: m["type"] == "alarm")
        await ws.send(json.dumps({"type": "received", "event_ids": [event["event_id"]]}))
        await wait_for(lambda: just(up.accepted()), timeout=30, interval=0.5)
        await ws.close()
        body = up.accepted()[0].json()
        assert body["alarm"]["session_id"] == session["id"]
        assert "not acknowledged within 8 s" in body["reason"]
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
