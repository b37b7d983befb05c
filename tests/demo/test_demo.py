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
import time
from typing import Any

import psutil
import pytest
from simulators.clinic import STAGES, stage
from simulators.protocols import observation_from_min

from tests.demo.conftest import staff_client, stopped_cleanly, ts_of
from tests.support import free_port

pytestmark = [pytest.mark.slow, pytest.mark.servers]
ALARM_WITHIN_S = 90  # the clinic's alarms come within the first minute


async def test_first_minute_at_the_wall_clock_then_ctrl_c_in_a_terminal(
    demo_factory: Any,
) -> None:
    launched = time.time()
    demo = demo_factory(free_port(), by_env=True)
    client = await staff_client(demo)
    opened = time.time()
    try:
        sessions = (await client.get("/api/v1/sessions", params={"status": "active"})).json()
        stages = set()
        for s in sessions:
            started, dose = ts_of(s["started_at"]), ts_of(s["first_dose_at"])
            assert started is not None and started < opened
            if dose is not None:
                assert started <= dose <= opened, s
                until = ts_of(s["observation_until"])
                # from the end of the last administration (an infusion's end)
                observed = observation_from_min(s["protocol"]) + s["observation_min"]
                assert until == pytest.approx(dose + observed * 60, abs=0.01)
            for value in s["latest"].values():  # no reading dated ahead of the clock
                assert ts_of(value["ts"]) <= time.time() + 1  # type: ignore[operator]
            assert opened - ts_of(s["latest"]["hr"]["ts"]) < 15  # type: ignore[operator]
            events = (await client.get(f"/api/v1/sessions/{s['id']}/events")).json()
            assert all(ts_of(e["ts"]) >= started for e in events)  # type: ignore[operator]
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
                raised = ts_of(alarm["raised_at"])
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
    stopped_cleanly(demo, within_s=10)


async def test_sigterm_ends_the_sessions_and_stops_the_service(demo_factory: Any) -> None:
    demo = demo_factory(free_port(), by_env=False)
    client = await staff_client(demo)
    await client.aclose()
    assert demo.port == int(demo.url.rsplit(":", 1)[1])  # --port won over VITALWATCH_PORT
    demo.proc.send_signal(signal.SIGTERM)
    stopped_cleanly(demo, within_s=10)


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
    client = await staff_client(demo)
    await client.aclose()
    children = demo.descendants()
    demo.proc.kill()
    demo.proc.wait()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, "the service outlived a demo killed with SIGKILL"
    # the same folder again: the sessions the killed demo left active are ended
    # first (six active rooms, not twelve), and this one stops cleanly
    again = demo_factory(port, by_env=True, folder=demo.folder)
    client = await staff_client(again)
    await client.aclose()
    deadline = time.monotonic() + 60  # its clinic seeded: six ended, six new
    while len(again.sessions_in_db()) < 12 and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
    assert "ended 6 sessions an earlier demo left active" in again.output()
    os.killpg(again.proc.pid, signal.SIGINT)
    stopped_cleanly(again, within_s=10)
    assert len(again.sessions_in_db()) == 12
