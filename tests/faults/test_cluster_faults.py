"""Production mode under faults, with a PostgreSQL and a Redis of the test's own:
two service processes, devices posting to both (requests cross between them).

A Redis restart must not turn committed samples into 503s: every sample a
device was told was not stored is not in the database, every POST from two
seconds after Redis is back is answered 202, and no partition stream keeps an
entry pending once the cluster is quiet."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from tests.backends import Throwaway, fresh_database, own, start_postgres, start_redis
from tests.faults.takeover import cluster_processes, until_owned
from tests.support import Api, ServerProcess, iso, now_utc

pytestmark = pytest.mark.postgres

PARTITIONS = 4


@pytest.fixture(scope="module")
def backend() -> str:
    return "postgresql"


@pytest.fixture
def postgres() -> Iterator[Throwaway]:
    server = own(start_postgres)
    yield server
    server.stop()


@dataclass
class Post:
    device_id: int
    seq: int
    sent: float
    status: int


async def _until_shared(servers: list[ServerProcess]) -> None:
    await until_owned(servers, [PARTITIONS // len(servers)] * len(servers), timeout=30)


async def _device_posts(
    apis: list[Api], device: dict[str, int | str], stop: asyncio.Event, out: list[Post]
) -> None:
    """One sample every 0.25 s, alternately to each process; a refused sample is
    not sent again (its seq is its own), so each POST is judged on its own."""
    seq = 0
    while not stop.is_set():
        api = apis[seq % len(apis)]
        sent = time.monotonic()
        try:
            r = await api.post(str(device["token"]), [{"ts": iso(now_utc()), "seq": seq, "hr": 72}])
            status = r.status_code
        except httpx.HTTPError:
            status = 0
        out.append(Post(int(device["id"]), seq, sent, status))
        seq += 1
        await asyncio.sleep(0.25)


async def test_redis_restart_under_load_never_answers_a_committed_sample_503(
    postgres: Throwaway, tmp_path: Path
) -> None:
    broker = own(start_redis)
    servers = cluster_processes(
        tmp_path, 2, fresh_database(postgres.url), broker.url, PARTITIONS, lease_s=3
    )
    prefix = servers[0].extra_env["VITALWATCH_REDIS_PREFIX"]
    servers[0].create_users()
    for s in servers:
        s.start()
    apis = [Api(s.url) for s in servers]
    try:
        await _until_shared(servers)
        devices = [(await apis[0].monitored())[0] for _ in range(2 * PARTITIONS)]
        stop = asyncio.Event()
        posts: list[Post] = []
        load = [asyncio.create_task(_device_posts(apis, d, stop, posts)) for d in devices]
        await asyncio.sleep(5)
        broker.halt()
        await asyncio.sleep(2)
        broker.start()  # empty: no streams, no groups, no leases
        back = time.monotonic()
        await asyncio.sleep(20)
        stop.set()
        await asyncio.gather(*load)
        await asyncio.sleep(3)  # quiet

        stored = {(d, q) for d, q in await servers[0].sql("SELECT device_id, seq FROM readings")}
        told_not_stored = [p for p in posts if p.status != 202 and (p.device_id, p.seq) in stored]
        assert not told_not_stored, (
            f"{len(told_not_stored)} committed samples answered "
            f"{sorted({p.status for p in told_not_stored})}"
        )
        lost = [p for p in posts if p.status == 202 and (p.device_id, p.seq) not in stored]
        assert not lost, f"{len(lost)} acknowledged samples lost"
        late = [p for p in posts if p.sent >= back + 2 and p.status != 202]
        assert not late, (
            f"{len(late)} of {sum(p.sent >= back + 2 for p in posts)} POSTs sent from 2 s "
            f"after Redis was back were not answered 202: "
            f"{[(round(p.sent - back, 1), p.status) for p in late[:10]]}"
        )
        client = redis.Redis.from_url(broker.url)
        try:
            pending = {
                p: client.xpending(f"{prefix}:part:{p}", "evaluators")["pending"]
                for p in range(PARTITIONS)
                if client.exists(f"{prefix}:part:{p}")
            }
        finally:
            client.close()
        assert not any(pending.values()), f"entries left pending: {pending}"
    finally:
        for api in apis:
            await api.aclose()
        for s in servers:
            s.stop()
        broker.stop()
