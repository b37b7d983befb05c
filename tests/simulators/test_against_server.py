"""Simulated monitors against a real server, through the public contract only."""

from __future__ import annotations

import asyncio
from typing import Any

from simulators.device import Faults
from simulators.runner import Simulation, SimulationConfig

from tests.support import ADMIN, Api, ServerProcess


def simulation(server: ServerProcess, **config: Any) -> Simulation:
    """A simulated ward logged in to `server` as the admin (one calm room at 1x unless told)."""
    defaults: dict[str, Any] = {"patients": 1, "scenario": "calm", "speed": 1}
    return Simulation(
        SimulationConfig(url=server.url, user=ADMIN[0], password=ADMIN[1], **(defaults | config))
    )


async def play(sim: Simulation, until_s: int, step_s: int = 120) -> None:
    """Advance simulated time as fast as the service acknowledges."""
    for t in range(step_s, until_s + step_s, step_s):
        await sim.step(min(t, until_s))


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
    sim = simulation(
        server,
        patients=6,
        scenario="mixed",
        speed=600,
        seed=42,
        duration_min=70,
        # room 1 (calm) has motion artefacts; room 3 (calm) loses replies and retries
        faults={0: Faults(artefacts_every_s=97), 2: Faults(lost_ack_rate=0.5)},
    )
    try:
        await sim.setup()
        await play(sim, 70 * 60)
        got = await alarms_by_room(api, sim)
        for room in sim.rooms:
            expected = {(e.rule, e.priority) for e in room.scenario.expected}
            raised = {(a["rule"], a["priority"]) for a in got[room.name]}
            # an unacknowledged medium escalates to high after 60 s of real time
            raised = {(rule, "medium" if rule == "rr_low" else p) for rule, p in raised}
            assert raised == expected, (room.name, room.scenario.name, got[room.name])

        retrier = sim.rooms[2].device
        assert retrier.duplicates > 0, "lost replies must be retried and counted as duplicates"
        rows = await server.sql(
            "SELECT count(*), count(DISTINCT seq) FROM readings WHERE session_id = :s",
            s=sim.rooms[2].session_id,
        )
        assert rows[0][0] == rows[0][1] == retrier.seq
    finally:
        await sim.end()
        await sim.close()


async def test_probe_off_raises_the_signal_lost_alarm(api: Api, server: ServerProcess) -> None:
    sim = simulation(server, seed=7, duration_min=30)
    try:
        await sim.setup()
        device = sim.rooms[0].device
        await sim.step(5)
        device.faults = Faults(probe_off=(-10_000, 10_000))  # probe falls off now
        for t in range(6, 24):  # 18 s of real time, only RR (and BP) still arrive
            await sim.step(t)
            await asyncio.sleep(1)
        got = (await alarms_by_room(api, sim))["Room 1"]
        lost = {a["rule"].split(":")[1] for a in got if a["rule"].startswith("signal_lost")}
        assert lost == {"hr", "spo2"}
        spo2 = next(a for a in got if a["rule"].startswith("signal_lost:spo2"))
        assert spo2["kind"] == "technical" and spo2["priority"] == "medium"
        assert spo2["message"] == "No SpO2 signal from Room 1 monitor"
    finally:
        await sim.end()
        await sim.close()


async def test_load_mode_holds_its_rate(server: ServerProcess) -> None:
    from simulators.load import run_load

    result = await run_load(server.url, ADMIN[0], ADMIN[1], devices=10, rate=5, batch=2, seconds=2)
    assert result.errors == 0
    assert 150 <= result.samples <= 260  # 10 devices x 5/s x 2 samples x ~2 s
    assert result.percentile(99) < 2_000
    assert "samples/s acknowledged" in result.summary()


async def test_device_clock_skew_is_kept_as_measured(api: Api, server: ServerProcess) -> None:
    sim = simulation(server, seed=9, duration_min=10, faults={0: Faults(clock_skew_s=-45)})
    try:
        await sim.setup()
        await sim.step(5)
        rows = await server.sql(
            "SELECT max(ts_ms), max(received_ms) FROM readings WHERE session_id = :s",
            s=sim.rooms[0].session_id,
        )
        measured, received = rows[0]
        assert 40_000 <= received - measured <= 50_000  # 45 s behind, stored as sent
    finally:
        await sim.end()
        await sim.close()
