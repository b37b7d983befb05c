"""`vitalwatch demo` as a person runs it: its own process group, a real terminal's
Ctrl-C (SIGINT to the whole group), `kill` (SIGTERM), a taken port.

The first test is also the demo's first minute through the API: rooms at every
stage, times that agree with the clock, one alarm of each priority that a nurse
acknowledges.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
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
from simulators.clinic import STAGES, stage
from simulators.protocols import observation_from_min

from tests.support import free_port, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.servers]
DEMO_NURSE = {"username": "nurse", "password": "demo-nurse-pw"}
ALARM_WITHIN_S = 90  # the clinic's alarms come within the first minute


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

    def start(port: int, *, by_env: bool, folder: Path | None = None) -> Demo:
        folder = folder or tmp_path / f"demo{len(started)}"
        log = tmp_path / f"demo{len(started)}.out"
        env = {**os.environ, "COLUMNS": "160"}
        args = [sys.executable, "-m", "vitalwatch", "demo", "--folder", str(folder)]
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


async def _staff(demo: Demo) -> httpx.AsyncClient:
    """A nurse's client once the demo's service answers and its rooms are open."""
    deadline = time.monotonic() + 90
    while True:
        assert demo.proc.poll() is None, demo.output()
        try:
            r = httpx.post(demo.url + "/api/v1/auth/token", data=DEMO_NURSE, timeout=2)
            if r.status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the demo did not start:\n" + demo.output()
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
            "hr" in s["latest"] and now - _t(s["latest"]["hr"]["ts"]) < 10  # type: ignore[operator]
            for s in active
        )

    await wait_for(six_rooms, timeout=60, interval=0.3)
    return client


def _t(ts: str | None) -> float | None:
    return None if ts is None else datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def _stopped_cleanly(demo: Demo, within_s: float) -> None:
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


async def test_first_minute_at_the_wall_clock_then_ctrl_c_in_a_terminal(
    demo_factory: Any,
) -> None:
    launched = time.time()
    demo = demo_factory(free_port(), by_env=True)
    client = await _staff(demo)
    opened = time.time()
    try:
        sessions = (await client.get("/api/v1/sessions", params={"status": "active"})).json()
        stages = set()
        for s in sessions:
            started, dose = _t(s["started_at"]), _t(s["first_dose_at"])
            assert started is not None and started < opened
            if dose is not None:
                assert started <= dose <= opened, s
                until = _t(s["observation_until"])
                # from the end of the last administration (an infusion's end)
                observed = observation_from_min(s["protocol"]) + s["observation_min"]
                assert until == pytest.approx(dose + observed * 60, abs=0.01)
            for value in s["latest"].values():  # no reading dated ahead of the clock
                assert _t(value["ts"]) <= time.time() + 1  # type: ignore[operator]
            assert opened - _t(s["latest"]["hr"]["ts"]) < 15  # type: ignore[operator]
            events = (await client.get(f"/api/v1/sessions/{s['id']}/events")).json()
            assert all(_t(e["ts"]) >= started for e in events)  # type: ignore[operator]
            stages.add(stage(s["protocol"], None if dose is None else opened - dose))
        assert stages == set(STAGES)

        rooms = {s["id"] for s in sessions}
        acknowledged: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + ALARM_WITHIN_S
        while len(acknowledged) < 3:
            assert time.monotonic() < deadline, f"alarms acknowledged: {acknowledged}"
            for alarm in (await client.get("/api/v1/alarms", params={"state": "active"})).json():
                if alarm["session_id"] not in rooms:
                    continue  # the station's own (no dashboard is watching this test)
                assert alarm["kind"] == "physiological", alarm  # no monitor went silent
                # raised live (none from the pre-aged history), none ahead of the clock
                raised = _t(alarm["raised_at"])
                assert launched < raised <= time.time() + 1, alarm  # type: ignore[operator]
                if alarm["priority"] in acknowledged:
                    continue
                r = await client.post(f"/api/v1/alarms/{alarm['id']}/ack")
                assert r.status_code == 200, r.text
                assert r.json()["state"] == "acknowledged" and r.json()["acked_by"] == "nurse"
                acknowledged[alarm["priority"]] = r.json()
            await asyncio.sleep(0.5)
        assert set(acknowledged) == {"high", "medium", "low"}
        assert time.time() - launched < 120  # within the demo's first two minutes
    finally:
        await client.aclose()
    os.killpg(demo.proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _stopped_cleanly(demo, within_s=10)


async def test_sigterm_ends_the_sessions_and_stops_the_service(demo_factory: Any) -> None:
    demo = demo_factory(free_port(), by_env=False)
    client = await _staff(demo)
    await client.aclose()
    assert demo.port == int(demo.url.rsplit(":", 1)[1])  # --port won over VITALWATCH_PORT
    demo.proc.send_signal(signal.SIGTERM)
    _stopped_cleanly(demo, within_s=10)


async def test_a_taken_port_is_said_plainly(demo_factory: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = demo_factory(port, by_env=True)
        demo.proc.wait(30)
    out = demo.output()
    assert demo.proc.returncode == 1, out
    assert f"Port {port} is already in use" in out
    assert f"VITALWATCH_PORT={port + 1} make demo" in out
    assert "Traceback" not in out


async def test_a_killed_demo_takes_its_service_along_and_the_next_one_cleans_up(
    demo_factory: Any,
) -> None:
    port = free_port()
    demo = demo_factory(port, by_env=True)
    client = await _staff(demo)
    await client.aclose()
    children = demo.descendants()
    demo.proc.kill()
    demo.proc.wait()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, "the service outlived a demo killed with SIGKILL"
    # the same folder again: the sessions the killed demo left active are ended
    # first (six active rooms, not twelve), and this one stops cleanly
    again = demo_factory(port, by_env=True, folder=demo.folder)
    client = await _staff(again)
    await client.aclose()
    deadline = time.monotonic() + 60  # its clinic seeded: six ended, six new
    while len(again.sessions_in_db()) < 12 and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
    assert "ended 6 sessions an earlier demo left active" in again.output()
    os.killpg(again.proc.pid, signal.SIGINT)
    _stopped_cleanly(again, within_s=10)
    assert len(again.sessions_in_db()) == 12
