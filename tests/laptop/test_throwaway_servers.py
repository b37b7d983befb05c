"""The throwaway PostgreSQL and Redis a run starts for itself on a laptop.

CI has system servers, so the suite there never needs these; this module
starts them anyway, so the laptop path is exercised on every run: they serve,
run unprivileged, stop without a trace, and die with the test process. On a
machine without the binaries each test skips naming the package to install
(fails in CI), as every other test that needs a server does.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import redis

from tests.backends import (
    POSTGRES_MISSING,
    REDIS_MISSING,
    Throwaway,
    installed,
    postgres_bindir,
    redis_binary,
    start_postgres,
    start_redis,
)

#: starts processes of its own (not through ServerProcess): not in `make check`
pytestmark = pytest.mark.servers

ROOT = Path(__file__).resolve().parents[2]


def _stopped_without_trace(server: Throwaway) -> None:
    server.stop()
    assert server.proc.poll() is not None
    assert not server.folder.exists()


def test_throwaway_postgres_serves_a_vitalwatch_database_unprivileged() -> None:
    import asyncpg

    installed(postgres_bindir(), POSTGRES_MISSING)  # a server that will not start fails
    server = start_postgres()
    try:
        assert psutil.Process(server.proc.pid).uids().real != 0  # never as root
        assert server.url.startswith("postgresql://postgres@127.0.0.1:")

        async def use() -> str:
            conn = await asyncpg.connect(server.url, timeout=5)
            try:
                await conn.execute('CREATE DATABASE "vw_throwaway"')
            finally:
                await conn.close()
            conn = await asyncpg.connect(server.url.rsplit("/", 1)[0] + "/vw_throwaway")
            try:
                return str(await conn.fetchval("SHOW fsync"))
            finally:
                await conn.close()

        assert asyncio.run(use()) == "off"  # a throwaway: speed over durability
    finally:
        _stopped_without_trace(server)


def test_throwaway_redis_serves_and_stops() -> None:
    installed(redis_binary(), REDIS_MISSING)
    server = start_redis()
    try:
        client = redis.Redis.from_url(server.url, socket_timeout=2)
        assert client.ping()
        client.set("k", "v")
        assert client.get("k") == b"v"
    finally:
        _stopped_without_trace(server)


def test_throwaways_die_with_the_test_process() -> None:
    """A test run killed with SIGKILL leaves no server behind."""
    installed(redis_binary(), REDIS_MISSING)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tests.backends import start_redis; s = start_redis(); "
            "print(s.proc.pid, s.folder, flush=True); import time; time.sleep(60)",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    pid_text, folder = child.stdout.readline().decode().split()
    pid = int(pid_text)
    assert psutil.pid_exists(pid)
    child.send_signal(signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "redis-server outlived the killed test process"
        time.sleep(0.1)
    shutil.rmtree(folder)  # what a killed run leaves: a folder in the temporary directory
