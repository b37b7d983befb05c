"""Production mode: two service processes on one PostgreSQL and one Redis.
Only the owner of an alarm's partition sends its notifications, the
acknowledge link works on either process, and after kill -9 of an owner the
process that takes its partitions over sends what was pending."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.backends import new_database_url, require_redis
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
from tests.support import NURSE, Api, ServerProcess, wait_for

PARTITIONS = 4
pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[list[ServerProcess], Api, Api]]:
    env = {
        "VITALWATCH_REDIS_URL": require_redis(),
        "VITALWATCH_REDIS_PREFIX": f"vwnotify-{secrets.token_hex(4)}",
        "VITALWATCH_PARTITIONS": str(PARTITIONS),
        "VITALWATCH_LEASE_TTL_S": "3",
        # no screen is open in these tests: keep the station's "no dashboard" alarm
        # (tested in tests/alarms/test_delivery.py) out of the counts
        "VITALWATCH_UNWATCHED_AFTER_S": "3600",
        **FAST_RETRIES,
    }
    database_url = new_database_url("postgresql", tmp_path)
    secret = secrets.token_urlsafe(48)
    procs = []
    for i in range(2):
        (tmp_path / f"p{i}").mkdir()
        procs.append(
            ServerProcess(
                tmp_path / f"p{i}", database_url=database_url, secret=secret, extra_env=env
            )
        )
    procs[0].create_users()
    for p in procs:
        p.start()
    apis = Api(procs[0].url), Api(procs[1].url)
    await wait_for(lambda: _owners_split(procs[0]), timeout=20)
    yield procs, *apis
    for api in apis:
        await api.aclose()
    for p in procs:
        p.stop()


async def _owners_split(server: ServerProcess) -> bool:
    rows = await server.sql("SELECT owner FROM partition_owners")
    owners = Counter(str(r[0]).split(":")[1] for r in rows)
    return len(rows) == PARTITIONS and sorted(owners.values()) == [2, 2]


async def owner_pid(server: ServerProcess, session_id: int) -> int:
    rows = await server.sql(
        "SELECT owner FROM partition_owners WHERE partition = :p", p=session_id % PARTITIONS
    )
    return int(str(rows[0][0]).split(":")[1])


def of_alarms(hook: Receiver, alarm_ids: set[int]) -> list[Any]:
    """What reached the receiver about these alarms (the monitors' own technical
    alarms, unanswered in these tests, are escalated too)."""
    return [g for g in hook.accepted() if g.json()["alarm"]["id"] in alarm_ids]


async def _notified(api: Api, alarm_id: int) -> list[dict[str, Any]]:
    return [e for e in await alarm_log(api, alarm_id) if e["action"] == "notified"]


async def test_only_the_partition_owner_sends_and_links_work_anywhere(
    pair: tuple[list[ServerProcess], Api, Api], receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    (a, b), api_a, api_b = pair
    hook = await receivers(secret="c" * 40)
    t = await add_target(
        api_a, name="Pager", kind="webhook", address=hook.url, secret=hook.secret, user=NURSE[0]
    )
    await set_chain(api_a, (t["id"], 0))
    # one per partition, all at once (each waits out the 5-s delivery rule)
    escalated = await asyncio.gather(*(escalate(api_a) for _ in range(PARTITIONS)))
    assert {s["id"] % PARTITIONS for s, _, _ in escalated} == set(range(PARTITIONS))
    ours = {alarm["id"] for _, alarm, _ in escalated}
    await wait_for(lambda: just(len(of_alarms(hook, ours)) >= PARTITIONS), timeout=10)
    await asyncio.sleep(2)  # time for a second sender to show itself, were there one
    keys = Counter(g.key for g in of_alarms(hook, ours))
    assert len(keys) == PARTITIONS and set(keys.values()) == {1}
    pids = {a.proc.pid, b.proc.pid}  # type: ignore[union-attr]
    for session, alarm, _ in escalated:
        entry = (await wait_for(lambda a=alarm: _notified(api_a, a["id"]), timeout=5))[0]
        sender_pid = int(entry["detail"]["process"].rsplit(":", 1)[1])
        assert sender_pid in pids and sender_pid == await owner_pid(a, session["id"])

    # The acknowledge link, used on the process that does not own the alarm's
    # partition, acknowledges through the owner (as POST /alarms/{id}/ack does).
    session, alarm, _ = escalated[0]
    body = next(g.json() for g in hook.accepted() if g.json()["alarm"]["id"] == alarm["id"])
    token = body["links"]["acknowledge"].split("#", 1)[1]
    other = api_b if await owner_pid(a, session["id"]) == a.proc.pid else api_a  # type: ignore[union-attr]
    r = await other.http.post("/api/v1/notify/ack", json={"token": token})
    assert r.status_code == 200, r.text
    assert r.json()["alarm"]["acked_by"] == NURSE[0]


async def test_takeover_continues_pending_notifications(
    pair: tuple[list[ServerProcess], Api, Api], receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    (a, b), api_a, _ = pair
    hook = await receivers(secret="d" * 40)
    t = await add_target(
        api_a, name="Later pager", kind="webhook", address=hook.url, secret=hook.secret
    )
    await set_chain(api_a, (t["id"], 6))
    escalated = await asyncio.gather(*(escalate(api_a) for _ in range(PARTITIONS)))
    b_pid = b.proc.pid  # type: ignore[union-attr]
    on_b = [(s, al) for s, al, _ in escalated if await owner_pid(a, s["id"]) == b_pid]
    assert on_b, "b owns half the partitions"
    b.kill9()
    ours = {alarm["id"] for _, alarm, _ in escalated}
    await wait_for(lambda: just(len(of_alarms(hook, ours)) >= PARTITIONS), timeout=20)
    await asyncio.sleep(1)
    keys = Counter(g.key for g in of_alarms(hook, ours))
    assert len(keys) == PARTITIONS and set(keys.values()) == {1}
    for _, alarm in on_b:
        assert (await outbox(api_a, alarm["id"]))[0]["state"] == "sent"
        entry = (await _notified(api_a, alarm["id"]))[0]
        assert int(entry["detail"]["process"].rsplit(":", 1)[1]) == a.proc.pid  # type: ignore[union-attr]
