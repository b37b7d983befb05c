"""SQLite faults with the real server: another process holds the write lock for
10 s; the disk fills during ingest. Devices get 503 + Retry-After, nothing
acknowledged is lost, the database stays intact, ingest resumes by itself."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from tests.support import Api, ServerProcess, iso, now_utc

#: starts processes of its own (not through ServerProcess): not in `make check`
pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


class Stream:
    """A device posting one batch after the other, noting every answer."""

    def __init__(self, api: Api, token: str) -> None:
        self.api, self.token = api, token
        self.acked: set[int] = set()
        self.answers: list[tuple[float, int, str | None]] = []
        self.seq = 0
        self.stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            batch = [
                {"ts": iso(now_utc()), "seq": self.seq + i, "hr": 70 + i, "spo2": 97}
                for i in range(20)
            ]
            try:
                r = await self.api.post(self.token, batch)
            except httpx.HTTPError:
                await asyncio.sleep(0.2)
                continue
            self.answers.append((time.monotonic(), r.status_code, r.headers.get("retry-after")))
            if r.status_code == 202:
                self.acked.update(range(self.seq, self.seq + 20))
                self.seq += 20  # a refused batch is sent again, as a device does
            else:
                await asyncio.sleep(float(r.headers.get("retry-after", "0.2")) / 4)
            await asyncio.sleep(0.02)

    def since(self, t: float) -> list[int]:
        return [status for at, status, _ in self.answers if at >= t]


async def _stored(server: ServerProcess, device_id: int) -> set[int]:
    rows = await server.sql("SELECT seq FROM readings WHERE device_id = :d", d=device_id)
    return {seq for (seq,) in rows}


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
async def streaming(
    request: pytest.FixtureRequest, new_server: Callable[..., ServerProcess]
) -> AsyncIterator[tuple[ServerProcess, Api, Stream, int]]:
    params: dict[str, str] = getattr(request, "param", {})
    server = new_server(VITALWATCH_SQLITE_BUSY_TIMEOUT_S="2", **params)
    server.start()
    api = Api(server.url)
    device, _ = await api.monitored()
    stream = Stream(api, device["token"])
    task = asyncio.create_task(stream.run())
    yield server, api, stream, device["id"]
    stream.stop.set()
    await task
    await api.aclose()


async def test_write_lock_held_by_another_process_for_10_s(
    streaming: tuple[ServerProcess, Api, Stream, int],
) -> None:
    server, api, stream, device_id = streaming
    await asyncio.sleep(1)
    assert 202 in stream.since(0)
    path = str(server.database_url).split(":///", 1)[1]
    holder = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on in a thread
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
            "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(10);"
            "c.execute('ROLLBACK')",
            path,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    locked_at = time.monotonic()
    # staff writes meet the same lock: 503, never 500
    r = await api.http.post(
        "/api/v1/devices", json={"name": "x"}, headers=await api.auth(("admin", "admin-password-1"))
    )
    assert r.status_code == 503 and r.headers["retry-after"]
    await asyncio.to_thread(holder.wait, 20)
    released_at = time.monotonic()
    await asyncio.sleep(2)
    during = [s for at, s, _ in stream.answers if locked_at + 0.5 < at < released_at - 1.5]
    assert during and set(during) == {503}, during
    assert all(ra for at, s, ra in stream.answers if s == 503)
    assert 202 in stream.since(released_at + 0.5), "ingest resumed without a restart"
    stream.stop.set()
    await asyncio.sleep(0.5)
    missing = stream.acked - await _stored(server, device_id)
    assert not missing, f"{len(missing)} acknowledged samples lost"
    assert _integrity(Path(path)) == "ok"


def _mount_tmpfs(where: Path, size_kib: int) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> AsyncIterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount_tmpfs(disk, 6 * 1024):
        pytest.skip("needs root to mount a small tmpfs for the database (not root here)")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


async def test_the_disk_fills_during_ingest(
    small_disk: Path, new_server: Callable[..., ServerProcess]
) -> None:
    server = new_server()
    server.database_url = f"sqlite+aiosqlite:///{small_disk / 'vitalwatch.db'}"
    server.create_users()
    server.start()
    api = Api(server.url)
    device, _ = await api.monitored()
    stream = Stream(api, device["token"])
    task = asyncio.create_task(stream.run())
    try:
        await asyncio.sleep(1)
        filler = small_disk / "filler"
        # every free byte, as another program would; unbuffered, so that closing
        # the file has nothing left to flush onto the full disk
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        full_at = time.monotonic()
        deadline = full_at + 20
        while 503 not in stream.since(full_at):
            assert time.monotonic() < deadline, stream.since(full_at)[-10:]
            await asyncio.sleep(0.2)
        assert all(ra for _, s, ra in stream.answers if s == 503)
        r = await api.http.get("/healthz")
        assert r.status_code == 200  # the service is up, answering
        filler.unlink()
        freed_at = time.monotonic()
        deadline = freed_at + 15
        while 202 not in stream.since(freed_at):
            assert time.monotonic() < deadline, "ingest did not resume when space returned"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)
    finally:
        stream.stop.set()
        await task
        await api.aclose()
    server.stop()
    missing = stream.acked - await _stored(server, device["id"])
    assert not missing, f"{len(missing)} acknowledged samples lost"
    assert _integrity(small_disk / "vitalwatch.db") == "ok"
