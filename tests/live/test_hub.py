"""The live hub: a dashboard whose socket never drains (an injected fault), and
events that commit or arrive out of order are delivered in id order."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson

from vitalwatch import migrate
from vitalwatch.config import Settings
from vitalwatch.db import create_engine, create_sessionmaker
from vitalwatch.live.hub import CLOSE_FELL_BEHIND, Hub
from vitalwatch.readings.latest import LatestStore


async def test_stuck_dashboard_delays_nobody_and_is_closed_when_it_falls_behind() -> None:
    unused = create_sessionmaker(create_engine(Settings(database_url="sqlite+aiosqlite://")))
    hub = Hub(LatestStore(), unused, vitals_interval_s=0.05, ping_interval_s=5, max_queue=50)
    stuck_forever = asyncio.Event()
    closed: list[int] = []
    received: list[tuple[float, str]] = []

    async def stuck_send(text: str) -> None:
        await stuck_forever.wait()  # the TCP buffer is full: send never returns

    async def stuck_close(code: int, reason: str) -> None:
        closed.append(code)

    async def fast_send(text: str) -> None:
        received.append((time.monotonic(), text))

    async def fast_close(code: int, reason: str) -> None:
        raise AssertionError("the fast dashboard must not be closed")

    stuck = hub.connect(stuck_send, stuck_close)
    fast = hub.connect(fast_send, fast_close)
    tasks = [
        asyncio.create_task(hub.serve(stuck, [(0, "snapshot")])),
        asyncio.create_task(hub.serve(fast, [(0, "snapshot")])),
    ]
    await asyncio.sleep(0.05)
    # vitals for the stuck dashboard are merged (latest per session), not queued
    for k in range(100):
        hub.push_vitals([{"session_id": k % 5, "hr": 60 + k}])
    assert len(stuck.vitals) == 5

    started = time.monotonic()
    dispatching = 0.0
    for event_id in range(1, 201):  # events from successive commits
        t = time.perf_counter()
        hub.dispatch("alarm", event_id, {"alarm": {"id": event_id}})
        dispatching += time.perf_counter() - t
        if event_id % 20 == 0:
            await asyncio.sleep(0.001)
    assert dispatching < 0.05, "dispatch never waits for any socket"

    deadline = time.monotonic() + 2
    while (len(received) < 201 or not closed) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    alarms = [t for _, t in received if '"type":"alarm"' in t]
    assert len(alarms) == 200 and alarms[-1].endswith('"id":200}}')
    assert received[-1][0] - started < 0.5, "the fast dashboard got everything at once"
    # the stuck one overflowed its bounded queue and was told to reconnect with since
    assert closed == [CLOSE_FELL_BEHIND]
    assert stuck.durable.qsize() <= 50

    stuck_forever.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_events_reach_dashboards_in_id_order_with_gaps_read_from_the_database(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(Settings(database_url=url))
    hub = Hub(LatestStore(), create_sessionmaker(engine), ping_interval_s=5)
    await hub.start()
    received: list[int] = []

    async def send(text: str) -> None:
        received.append(int(orjson.loads(text)["event_id"]))

    async def close(code: int, reason: str) -> None:
        return None

    client = hub.connect(send, close)
    serving = asyncio.create_task(hub.serve(client, []))
    try:
        ids = []
        for k in range(5):
            async with engine.begin() as conn:
                ids.append(await Hub.record(conn, "alarm", {"alarm": {"id": k}}))
        # 3 arrives first (its publisher was faster), 1, 2 and 4 never do (their
        # process died after commit), 5 arrives last: every one is delivered, in order.
        hub.offer(ids[2], "alarm", {"alarm": {"id": 2}})
        hub.offer(ids[4], "alarm", {"alarm": {"id": 4}})
        deadline = time.monotonic() + 3
        while len(received) < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert received == ids
        async with engine.begin() as conn:  # nobody publishes it: the periodic read finds it
            late = await Hub.record(conn, "alarm", {"alarm": {"id": 5}})
        deadline = time.monotonic() + 3
        while len(received) < 6 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert received == [*ids, late]
        hub.offer(ids[0], "alarm", {"alarm": {"id": 0}})  # a late repeat is not sent again
        await asyncio.sleep(0.1)
        assert received == [*ids, late]
    finally:
        serving.cancel()
        await hub.stop()
        await engine.dispose()
