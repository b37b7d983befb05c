"""The outbox survives kill -9, on SQLite and PostgreSQL: notifications
pending at the kill (due later, or in the middle of an attempt) are all
delivered after the restart. At least once: a notification whose attempt was
cut short may arrive twice, and then both carry the same idempotency key."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from tests.notify.peers import (
    FAST_RETRIES,
    Receiver,
    add_target,
    alarm_log,
    escalate,
    just,
    outbox,
    set_chain,
)
from tests.support import Api, ServerProcess, wait_for

#: Seconds from an escalation to the chain's second step.
STEP_2_DELAY_S = 8


async def _all_sent(api: Api, alarm_ids: list[int]) -> list[dict[str, Any]]:
    rows = [row for a in alarm_ids for row in await outbox(api, a)]
    return rows if rows and all(r["state"] == "sent" for r in rows) else []


async def test_kill9_with_notifications_pending_delivers_each_after_restart(
    new_server: Callable[..., ServerProcess], receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    server = new_server(**FAST_RETRIES)
    server.start()
    api = Api(server.url)
    slow = await receivers(secret="m" * 40, hold_s=4)  # holds each request: killed mid-attempt
    later = await receivers(secret="n" * 40)  # step 2: still due when the service dies
    try:
        a = await add_target(
            api, name="Pager", kind="webhook", address=slow.url, secret=slow.secret
        )
        b = await add_target(
            api, name="Phone", kind="webhook", address=later.url, secret=later.secret
        )
        # step 2 a while after step 1: on a loaded machine the three alarms
        # escalate seconds apart, and the first one's step 2 must still be due
        # when the last one's step 1 arrives (3 s was once not enough)
        await set_chain(api, (a["id"], 0), (b["id"], STEP_2_DELAY_S))
        # all three at once: each waits out the 5-s delivery rule before it escalates
        alarms = [
            alarm["id"] for _, alarm, _ in await asyncio.gather(*(escalate(api) for _ in range(3)))
        ]
        await wait_for(lambda: just(len(slow.got) == 3), timeout=10)
        assert later.got == []
        server.kill9()
    finally:
        await api.aclose()
    slow.hold_s = 0
    server.start()
    api = Api(server.url)
    try:
        rows = await wait_for(lambda: _all_sent(api, alarms), timeout=STEP_2_DELAY_S + 20)
        keys = {r["target_id"]: set() for r in rows}
        for r in rows:
            keys[r["target_id"]].add(r["key"])
        assert len(rows) == 6 and len(keys[a["id"]]) == 3 and len(keys[b["id"]]) == 3
        # Every notification arrived; the cut-short ones twice, with the same key.
        seen_slow = Counter(g.key for g in slow.accepted())
        assert set(seen_slow) == keys[a["id"]]
        assert all(n == 2 for n in seen_slow.values()), seen_slow
        seen_later = Counter(g.key for g in later.accepted())
        assert set(seen_later) == keys[b["id"]] and set(seen_later.values()) == {1}
        for alarm_id in alarms:
            notified = [e for e in await alarm_log(api, alarm_id) if e["action"] == "notified"]
            assert {e["detail"]["target"] for e in notified} == {"Pager", "Phone"}
    finally:
        await api.aclose()
