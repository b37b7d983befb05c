"""Production mode (two processes, PostgreSQL, Redis): a conflicting sample
is refused with the same 409 whichever process the device reaches, the one
that evaluates its session or the one that forwards to it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

import httpx

from tests.support import CLUSTER_PARTITIONS, Api, ServerProcess, iso, now_utc, samples


def owned(server: ServerProcess) -> int:
    text = httpx.get(server.url + "/metrics", timeout=5).text
    line = next(m for m in text.splitlines() if m.startswith("vitalwatch_partitions_owned "))
    return int(float(line.split()[-1]))


async def shared(servers: list[ServerProcess]) -> None:
    """Until the processes own half the partitions each: one of them forwards."""
    deadline = time.monotonic() + 20
    while [owned(s) for s in servers] != [CLUSTER_PARTITIONS // 2] * len(servers):
        assert time.monotonic() < deadline, [owned(s) for s in servers]
        await asyncio.sleep(0.2)


async def test_a_conflict_is_answered_by_either_process(
    cluster: Callable[[int], list[ServerProcess]],
) -> None:
    a, b = cluster(2)
    a.start()
    b.start()
    await shared([a, b])
    api_a, api_b = Api(a.url), Api(b.url)
    try:
        device, session = await api_a.monitored()
        at = now_utc() - timedelta(seconds=20)
        stored = {"ts": iso(at), "seq": 17, "hr": 150}
        r = await api_a.post(device["token"], [stored])
        assert r.json() == {"accepted": 1, "duplicates": 0}, r.text
        fresh = samples(at + timedelta(seconds=1), 1, seq0=18, hr=80)
        details = []
        for api in (api_a, api_b):
            r = await api.post(device["token"], [*fresh, {**stored, "hr": 80}])
            assert r.status_code == 409, r.text
            details.append(r.json()["detail"])
        assert details[0] == details[1]
        [error] = details[0]
        assert error["loc"] == ["body", "samples", 1] and error["stored"] == {"hr": 150}
        for api in (api_a, api_b):  # the true retry stays a duplicate on both
            r = await api.post(device["token"], [stored])
            assert r.json() == {"accepted": 0, "duplicates": 1}, r.text
        rows = await a.sql(
            "SELECT seq, hr FROM readings WHERE session_id=:s ORDER BY seq", s=session["id"]
        )
        assert [tuple(row) for row in rows] == [(17, 150)]
    finally:
        await api_a.aclose()
        await api_b.aclose()
