"""PostgreSQL restarted under load, and Redis restarted in production mode, with
throwaway servers of the test's own: the service recovers without a restart,
nothing acknowledged is lost, alarms keep arriving, none lost or doubled."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends import Throwaway, fresh_database, own, start_postgres, start_redis
from tests.support import NURSE, Api, ServerProcess, iso, live_socket, now_utc

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def backend() -> str:
    return "postgresql"


@pytest.fixture
def postgres() -> Iterator[Throwaway]:
    """A PostgreSQL server of the test's own, to restart without touching the run's."""
    server = own(start_postgres)
    yield server
    server.stop()


async def _post_forever(
    api: Api, token: str, stop: asyncio.Event, acked: set[int], statuses: list[int]
) -> None:
    seq = 0
    while not stop.is_set():
        batch = [{"ts": iso(now_utc()), "seq": seq + i, "hr": 72, "spo2": 97} for i in range(10)]
        try:
            r = await api.post(token, batch)
            statuses.append(r.status_code)
        except Exception:  # the service itself stays up; a reset link is retried
            statuses.append(0)
            await asyncio.sleep(0.2)
            continue
        if r.status_code == 202:
            acked.update(range(seq, seq + 10))
            seq += 10
        else:
            await asyncio.sleep(0.2)


async def test_postgresql_restarted_under_load(postgres: Throwaway, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, database_url=fresh_database(postgres.url))
    server.create_users()
    server.start()
    api = Api(server.url)
    stop = asyncio.Event()
    acked: set[int] = set()
    statuses: list[int] = []
    try:
        device, session = await api.monitored()
        task = asyncio.create_task(_post_forever(api, device["token"], stop, acked, statuses))
        await asyncio.sleep(2)
        before = len(acked)
        assert before > 0
        await asyncio.to_thread(postgres.restart)
        restarted = len(statuses)
        deadline = time.monotonic() + 30
        while 202 not in statuses[restarted:]:
            assert time.monotonic() < deadline, f"no recovery: {statuses[restarted:][-10:]}"
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)
        stop.set()
        await task
        assert len(acked) > before
        assert 500 not in statuses, "a 5xx other than 503"
        r = await api.http.get(f"/api/v1/sessions/{session['id']}", headers=await api.auth())
        assert r.status_code == 200
        assert (await api.http.get("/readyz")).status_code == 200
    finally:
        stop.set()
        await api.aclose()
        server.stop()
    rows = await server.sql("SELECT seq FROM readings WHERE device_id = :d", d=device["id"])
    missing = acked - {seq for (seq,) in rows}
    assert not missing, f"{len(missing)} acknowledged samples lost"


async def test_redis_restarted_in_production_mode(postgres: Throwaway, tmp_path: Path) -> None:
    redis = own(start_redis)
    server = ServerProcess(
        tmp_path,
        database_url=fresh_database(postgres.url),
        extra_env={
            "VITALWATCH_REDIS_URL": redis.url,
            "VITALWATCH_REDIS_PREFIX": f"vw-{secrets.token_hex(3)}",
            "VITALWATCH_PARTITIONS": "2",
            "VITALWATCH_LEASE_TTL_S": "3",
        },
    )
    server.create_users()
    server.start()
    api = Api(server.url)
    try:
        device, session = await api.monitored()
        ws = await live_socket(server, await api.token(NURSE))
        await ws.recv()  # snapshot
        raised: list[int] = []

        async def read() -> None:
            while True:
                msg = json.loads(await ws.recv())
                if msg["type"] == "alarm" and msg.get("action") == "raised":
                    raised.append(msg["alarm"]["id"])

        reader = asyncio.create_task(read())
        seq = 0
        statuses: list[int] = []
        r = None

        async def alarm_once() -> int:
            """A BP alarm raised, acknowledged and cleared; returns its id."""
            nonlocal seq
            deadline = time.monotonic() + 60  # slower on a loaded machine
            while True:
                assert time.monotonic() < deadline, f"ingest did not recover: {statuses[-5:]}"
                r = await api.post(
                    device["token"], [{"ts": iso(now_utc()), "seq": seq, "sbp": 200, "dbp": 90}]
                )
                statuses.append(r.status_code)
                if r.status_code == 202:
                    break
                await asyncio.sleep(0.3)
            seq += 1
            alarms = (
                await api.http.get(
                    "/api/v1/alarms",
                    params={"session_id": session["id"], "state": "active"},
                    headers=await api.auth(),
                )
            ).json()
            alarm_id = int(alarms[0]["id"])
            while (
                await api.http.post(f"/api/v1/alarms/{alarm_id}/ack", headers=await api.auth())
            ).status_code != 200:
                assert time.monotonic() < deadline, "acknowledging did not recover"
                await asyncio.sleep(0.3)
            while (
                await api.post(
                    device["token"], [{"ts": iso(now_utc()), "seq": seq, "sbp": 120, "dbp": 80}]
                )
            ).status_code != 202:
                assert time.monotonic() < deadline, "ingest did not recover"
                await asyncio.sleep(0.3)
            seq += 1
            return alarm_id

        first = await alarm_once()
        redis.halt()
        await asyncio.sleep(1)
        r = await api.post(device["token"], [{"ts": iso(now_utc()), "seq": seq, "hr": 70}])
        assert r.status_code == 503 and r.headers["retry-after"]  # while Redis is away
        redis.start()  # empty: no streams, no groups, no leases
        second = await alarm_once()
        third = await alarm_once()
        deadline = time.monotonic() + 10
        while not {first, second, third} <= set(raised):
            assert time.monotonic() < deadline, f"alarms raised on the dashboard: {raised}"
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        assert sorted(raised) == sorted(set(raised)), f"an alarm arrived twice: {raised}"
        reader.cancel()
        await ws.close()
    finally:
        await api.aclose()
        server.stop()
        redis.stop()
