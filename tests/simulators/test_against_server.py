"""Simulated monitors against a real server, through the public contract only."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from rich.console import Console
from simulators.cli import ward_table
from simulators.device import Faults, Window
from simulators.runner import Simulation, SimulationConfig
from simulators.scenarios import raised_conditions

from tests.support import ADMIN, Api, ServerProcess, wait_for


def simulation(server: ServerProcess, **config: Any) -> Simulation:
    """A simulated ward logged in to `server` as the admin (one calm room at 1x unless told)."""
    defaults: dict[str, Any] = {"patients": 1, "scenario": "calm", "speed": 1}
    return Simulation(
        SimulationConfig(url=server.url, user=ADMIN[0], password=ADMIN[1], **(defaults | config))
    )


@contextlib.asynccontextmanager
async def ward(server: ServerProcess, **config: Any) -> AsyncIterator[Simulation]:
    """A simulation set up on `server`; its sessions end and its client closes after."""
    sim = simulation(server, **config)
    try:
        await sim.setup()
        yield sim
    finally:
        await sim.end()
        await sim.close()


async def play(sim: Simulation, until_s: int, step_s: int = 120) -> None:
    """Advance simulated time (from where it is) as fast as the service acknowledges."""
    while sim.sim_t < until_s:
        await sim.step(min(sim.sim_t + step_s, until_s))


async def alarms_by_room(api: Api, sim: Simulation) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for room in sim.rooms:
        r = await api.http.get(
            "/api/v1/alarms", params={"session_id": room.session_id}, headers=await api.auth()
        )
        out[room.name] = list(r.json())
    return out


async def test_mixed_ward_raises_exactly_the_expected_alarms(
    api: Api, server: ServerProcess
) -> None:
    async with ward(
        server,
        patients=6,
        scenario="mixed",
        speed=600,
        seed=8,
        duration_min=70,
        # room 1 (calm) has motion artefacts; room 3 (typical) loses replies and retries
        faults={0: Faults(artefacts_every_s=97), 2: Faults(lost_ack_rate=0.5)},
    ) as sim:
        # seed 8 draws rooms 2 and 3 a large BP response: those alarms come from the draw
        sizes = [r.device.patient.response for r in sim.rooms]
        assert sizes == ["mild", "large", "large", "mild", "severe", "mild"]
        assert {e.rule for e in sim.rooms[2].expected} >= {"sbp_baseline_rise"}
        await play(sim, 70 * 60)
        got = await alarms_by_room(api, sim)
        for room in sim.rooms:
            expected = {(e.rule, e.priority) for e in room.expected}
            raised = {
                condition
                for a in got[room.name]
                if a["kind"] == "physiological"
                for condition in raised_conditions(a)
            }
            assert raised == expected, (room.name, room.scenario.name, got[room.name])

        retrier = sim.rooms[2].device
        assert retrier.duplicates > 0, "lost replies must be retried and counted as duplicates"
        rows = await server.sql(
            "SELECT count(*), count(DISTINCT seq) FROM readings WHERE session_id = :s",
            s=sim.rooms[2].session_id,
        )
        assert rows[0][0] == rows[0][1] == retrier.seq


async def test_probe_off_at_600x_lasts_as_long_for_the_nurse_as_at_1x(
    api: Api, server: ServerProcess
) -> None:
    """Fault windows last in real time: at 600x a 18-s probe-off still raises the
    service's technical alarm (15 s on its own clock) and clears when the probe is
    back; a 5-s one, a wiggle, raises nothing, as at 1x."""
    async with ward(
        server,
        patients=2,
        speed=600,
        seed=7,
        duration_min=215,  # 21.5 s of real time
        end_sessions=False,
        faults={
            0: Faults(probe_off=Window(at_s=-500, wall_s=18)),
            1: Faults(probe_off=Window(at_s=-500, wall_s=5)),
        },
    ) as sim:
        await sim.run()
        got = await alarms_by_room(api, sim)
        # one entry for the monitor, naming both signals it lost
        [lost] = [a for a in got["Room 1"] if a["rule"].startswith("monitor:")]
        assert {c["rule"] for c in lost["conditions"]} == {"no_signal:hr", "no_signal:spo2"}
        assert lost["kind"] == "technical" and lost["priority"] == "medium"
        assert lost["message"] == "No HR or SpO2 signal from Room 1 monitor"
        assert lost["state"] == "resolved", lost  # the probe is back on
        assert [a["rule"] for a in got["Room 2"]] == []


async def test_a_refused_room_stops_and_says_why_while_the_ward_goes_on(
    api: Api, server: ServerProcess
) -> None:
    # room 1's clock runs an hour ahead (422: readings from the future); room 2's
    # session is ended from the dashboard (409); room 3 carries on
    async with ward(
        server,
        patients=3,
        speed=600,
        seed=3,
        duration_min=40,
        faults={0: Faults(clock_skew_s=3600)},
    ) as sim:
        await play(sim, 300)
        r = await api.http.post(
            f"/api/v1/sessions/{sim.rooms[1].session_id}/end", headers=await api.auth()
        )
        assert r.status_code == 200
        await play(sim, 40 * 60)
        refused, ended, carried_on = sim.rooms
        assert refused.stopped_at == 0 and "(422)" in str(refused.problem)
        assert ended.stopped_at == 300 and "(409)" in str(ended.problem)
        assert carried_on.running and carried_on.problem is None and carried_on.dose_posted
        rows = await server.sql(
            "SELECT count(*) FROM readings WHERE session_id = :s", s=carried_on.session_id
        )
        assert rows[0][0] == carried_on.device.seq == 40 * 60
        summary = sim.summary()
        assert "stopped at 0 simulated min: readings refused (422)" in summary[0]
        assert "stopped at 5 simulated min: readings refused (409)" in summary[1]
        assert "stopped" not in summary[2]
        console = Console(record=True, width=250)
        console.print(ward_table(sim))
        lines = console.export_text().splitlines()
        assert "stopped: readings refused (422)" in next(x for x in lines if "Room 1" in x)
        assert "sending" in next(x for x in lines if "Room 3" in x)


async def test_an_expired_staff_login_is_renewed(api: Api, server: ServerProcess) -> None:
    """A staff token that stops working mid-run (injected: the service answers 401
    as it does when a long run outlives its token) does not lose the dose or
    leave the session open."""
    async with ward(server, speed=600, seed=4, duration_min=20) as sim:
        await play(sim, 300)
        sim.staff.token = "expired-token"
        await play(sim, 20 * 60)
        assert sim.rooms[0].problem is None and sim.staff.logins == 2
        sid = sim.rooms[0].session_id
        events = await api.http.get(f"/api/v1/sessions/{sid}/events", headers=await api.auth())
        assert [e["kind"] for e in events.json()] == ["dose"]
        sim.staff.token = "expired-token"
        await sim.end()
        session = await api.http.get(f"/api/v1/sessions/{sid}", headers=await api.auth())
        assert session.json()["status"] == "ended" and sim.staff.logins == 3


async def test_load_mode_holds_its_rate_and_ends_its_sessions(
    api: Api, server: ServerProcess
) -> None:
    from simulators.load import run_load

    result = await run_load(server.url, ADMIN[0], ADMIN[1], devices=10, rate=5, batch=2, seconds=2)
    assert result.errors == 0
    assert 150 <= result.samples <= 260  # 10 devices x 5/s x 2 samples x ~2 s
    assert result.percentile(99) < 2_000
    assert "samples/s acknowledged" in result.summary()
    started = await sessions_by_status(api, "LOAD-")
    assert started["active"] == 0 and started["ended"] == 10, started


async def sessions_by_status(api: Api, ref_prefix: str) -> Counter[str]:
    """How many of the sessions whose patient ref starts so are active, ended."""
    r = await api.http.get("/api/v1/sessions", headers=await api.auth())
    refs = ((s["status"], s["patient"]["ref"]) for s in r.json())
    return Counter(status for status, ref in refs if ref.startswith(ref_prefix))


@pytest.mark.parametrize(
    ("args", "prefix", "rooms"),
    [
        (["--load", "--devices", "3", "--rate", "2", "--seconds", "120"], "LOAD-", 3),
        (["--patients", "2", "--speed", "10", "--seed", "77"], "SIM-77-", 2),
    ],
    ids=["load", "ward"],
)
async def test_sigterm_ends_the_sessions_it_started(
    api: Api, server: ServerProcess, args: list[str], prefix: str, rooms: int
) -> None:
    before = await sessions_by_status(api, prefix)  # earlier tests' (ended) ones
    cli = [sys.executable, "-m", "vitalwatch", "simulate", "--url", server.url]
    proc = await asyncio.create_subprocess_exec(
        *cli,
        "--user",
        ADMIN[0],
        "--password",
        ADMIN[1],
        *args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    async def all_active() -> bool:
        return (await sessions_by_status(api, prefix))["active"] == before["active"] + rooms

    try:
        await wait_for(all_active, timeout=20, interval=0.2)
        await asyncio.sleep(1)  # streaming now
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 15)
        assert proc.returncode == 0, err.decode()
        counts = await sessions_by_status(api, prefix)
        assert counts == {"ended": before.total() + rooms}, counts
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_device_clock_skew_is_kept_as_measured(api: Api, server: ServerProcess) -> None:
    async with ward(server, seed=9, duration_min=10, faults={0: Faults(clock_skew_s=-45)}) as sim:
        await sim.step(5)
        rows = await server.sql(
            "SELECT max(ts_ms), max(received_ms) FROM readings WHERE session_id = :s",
            s=sim.rooms[0].session_id,
        )
        measured, received = rows[0]
        assert 40_000 <= received - measured <= 50_000  # 45 s behind, stored as sent
