"""`vitalwatch demo` in a process group of its own, as a terminal runs it, and
what every demo test checks of it: a nurse's client once its rooms are open,
and a clean stop (nothing left running, every session ended)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.support import free_port, wait_for

DEMO_NURSE = {"username": "nurse", "password": "demo-nurse-pw"}


@dataclass
class Demo:
    proc: subprocess.Popen[bytes]
    folder: Path
    log: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def sessions_in_db(self) -> list[tuple[int, str]]:
        with sqlite3.connect(self.folder / "vitalwatch.db") as db:
            return list(db.execute("SELECT id, status FROM sessions"))


@pytest.fixture
def demo_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Demo] = []

    def start(
        port: int,
        *extra: str,
        by_env: bool,
        folder: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Demo:
        folder = folder or tmp_path / f"demo{len(started)}"
        log = tmp_path / f"demo{len(started)}.out"
        env = {**os.environ, "COLUMNS": "160", **(env or {})}
        args = [sys.executable, "-m", "vitalwatch", "demo", "--folder", str(folder), *extra]
        if by_env:
            env["VITALWATCH_PORT"] = str(port)
        else:
            env["VITALWATCH_PORT"] = str(free_port())  # --port wins over it
            args += ["--port", str(port)]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args,
                cwd=tmp_path,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group of its own, as a terminal gives
            )
        demo = Demo(proc, folder, log, port)
        started.append(demo)
        return demo

    yield start
    for demo in started:  # a failed test must not leave a demo running
        if demo.proc.poll() is None:
            for child in demo.descendants():
                child.kill()
            demo.proc.kill()
            demo.proc.wait()


async def staff_client(demo: Demo) -> httpx.AsyncClient:
    """A nurse's client once the demo's service answers and its rooms are open."""
    deadline = time.monotonic() + 90
    last = "no answer"
    while True:
        assert demo.proc.poll() is None, demo.output()
        try:
            # a sign-in hashes a password: on a loaded machine it takes seconds, and
            # one given up on still runs, so a short timeout only piles them up
            r = httpx.post(demo.url + "/api/v1/auth/token", data=DEMO_NURSE, timeout=30)
            if r.status_code == 200:
                break
            last = f"{r.status_code} {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        assert time.monotonic() < deadline, f"the demo did not start ({last}):\n{demo.output()}"
        await asyncio.sleep(0.3)
    client = httpx.AsyncClient(
        base_url=demo.url,
        headers={"Authorization": f"Bearer {r.json()['access_token']}"},
        timeout=10,
    )

    async def six_rooms() -> bool:
        """Six rooms open, each with its history posted (readings up to now)."""
        active = (await client.get("/api/v1/sessions", params={"status": "active"})).json()
        now = time.time()
        return len(active) == 6 and all(
            "hr" in s["latest"] and now - ts_of(s["latest"]["hr"]["ts"]) < 10  # type: ignore[operator]
            for s in active
        )

    await wait_for(six_rooms, timeout=60, interval=0.3)
    return client


def ts_of(ts: str | None) -> float | None:
    return None if ts is None else datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def stopped_cleanly(demo: Demo, within_s: float) -> None:
    children = demo.descendants()
    assert children, "the demo runs the service as a child"
    try:
        demo.proc.wait(within_s)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the demo was still running {within_s} s after the signal")
    out = demo.output()
    assert demo.proc.returncode == 0, out
    assert "Traceback" not in out and "not acknowledged" not in out, out
    assert "VitalWatch demo stopped." in out
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"left running: {[p.pid for p in alive]}"
    sessions = demo.sessions_in_db()
    assert len(sessions) >= 6 and {s for _, s in sessions} == {"ended"}, sessions
