"""/readyz in production mode says "not ready" while a process could only time
out, and "ready" again once it can serve: a load balancer stops sending to a
process that cannot reach Redis, or whose leases and partition reads stand
still although Redis answers a ping. The faults are a Redis of the test's own,
stopped (SIGSTOP) or with its writes paused (CLIENT PAUSE ... WRITE)."""

from __future__ import annotations

import asyncio
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.backends import Throwaway, new_database_url, own, start_redis
from tests.support import ServerProcess

pytestmark = pytest.mark.postgres

LEASE_TTL_S = 3


@pytest.fixture(scope="module")
def backend() -> str:
    return "postgresql"


@pytest.fixture
def redis_server() -> Iterator[Throwaway]:
    server = own(start_redis)
    yield server
    server.stop()


async def _readyz(server: ServerProcess) -> tuple[int, str]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        r = await http.get("/readyz")
        return r.status_code, r.json()["status"]


async def _until(server: ServerProcess, code: int, within_s: float) -> tuple[str, float]:
    """Poll /readyz until it answers `code`; its status text and how long it took."""
    t0 = time.monotonic()
    seen: list[tuple[int, str]] = []
    while time.monotonic() - t0 < within_s:
        status, text = await _readyz(server)
        if status == code:
            return text, time.monotonic() - t0
        seen.append((status, text))
        await asyncio.sleep(0.2)
    raise AssertionError(f"/readyz not {code} within {within_s} s: {seen[-3:]}")


async def test_readyz_follows_redis_and_the_cluster_path(
    redis_server: Throwaway, tmp_path: Path
) -> None:
    server = ServerProcess(
        tmp_path,
        database_url=new_database_url("postgresql", tmp_path),
        extra_env={
            "VITALWATCH_REDIS_URL": redis_server.url,
            "VITALWATCH_REDIS_PREFIX": f"vw-{secrets.token_hex(3)}",
            "VITALWATCH_PARTITIONS": "2",
            "VITALWATCH_LEASE_TTL_S": str(LEASE_TTL_S),
        },
    )
    server.create_users()
    server.start()
    redis = Redis.from_url(redis_server.url)
    try:
        assert await _readyz(server) == (200, "ready")

        # Redis answers PING but takes no writes: leases cannot be renewed and
        # partition streams cannot be read (XREADGROUP is a write)
        await redis.client_pause(4 * LEASE_TTL_S * 1000, all=False)  # WRITE only
        text, took = await _until(server, 503, within_s=3 * LEASE_TTL_S)
        assert text != "redis unreachable", text  # PING still answers
        assert "leases not renewed" in text or "not read for" in text, text
        assert took <= 2 * LEASE_TTL_S + 2, took
        await redis.client_unpause()
        assert (await _until(server, 200, within_s=10))[0] == "ready"

        # Redis stopped: it answers nothing, not even PING
        redis_server.proc.send_signal(signal.SIGSTOP)
        try:
            text, took = await _until(server, 503, within_s=10)
            assert text == "redis unreachable"
            assert took <= 5, took
        finally:
            redis_server.proc.send_signal(signal.SIGCONT)
        assert (await _until(server, 200, within_s=15))[0] == "ready"
    finally:
        await redis.aclose()
        server.stop()
