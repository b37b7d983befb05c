"""`vitalwatch simulate --transport hl7` against a real server: the ward on
PCD-01/PCD-04 over MLLP, in every dialect, raises the alarms the same ward
raises over HTTP, and the monitors' own alarms reach the timeline."""

from __future__ import annotations

from typing import Any

import pytest
from simulators.device import Faults
from simulators.hl7 import Hl7SimDevice
from simulators.runner import Simulation, SimulationConfig

from tests.support import ADMIN, Api, ServerProcess, mllp_port


def _met(alarm: dict[str, Any]) -> set[tuple[str, str]]:
    """The conditions an alarm met with their priority: one alarm per clinical
    problem lists them; one alarm per rule is its own (an unacknowledged medium
    RR alarm has escalated to high by the end of the run)."""
    conditions = alarm.get("conditions") or []
    if conditions:
        return {(c["rule"], c["priority"]) for c in conditions}
    rule = alarm["rule"]
    return {(rule, "medium" if rule == "rr_low" else alarm["priority"])}


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"  # 70 simulated minutes; storage is covered on both in test_mllp


async def test_an_hl7_ward_raises_exactly_the_expected_alarms(hl7_server: ServerProcess) -> None:
    api = Api(hl7_server.url)
    sim = Simulation(
        SimulationConfig(
            url=hl7_server.url,
            user=ADMIN[0],
            password=ADMIN[1],
            patients=6,
            scenario="mixed",
            speed=600,
            seed=8,
            duration_min=70,
            transport="hl7",
            mllp=str(mllp_port(hl7_server)),
            faults={0: Faults(artefacts_every_s=97), 2: Faults(lost_ack_rate=0.5)},
        )
    )
    try:
        await sim.setup()
        dialects = [r.device.dialect for r in sim.rooms if isinstance(r.device, Hl7SimDevice)]
        assert dialects == ["ihe", "philips", "mindray", "vitalrecorder", "ihe", "philips"]
        while sim.sim_t < 70 * 60:
            await sim.step(min(sim.sim_t + 120, 70 * 60))
        assert all(r.problem is None for r in sim.rooms), [r.problem for r in sim.rooms]
        for room in sim.rooms:
            r = await api.http.get(
                "/api/v1/alarms", params={"session_id": room.session_id}, headers=await api.auth()
            )
            expected = {(e.rule, e.priority) for e in room.expected}
            raised = {c for a in r.json() if a["kind"] == "physiological" for c in _met(a)}
            assert raised == expected, (room.name, room.device.dialect, r.json())
        retrier = sim.rooms[2].device
        assert retrier.retries > 0
        rows = await hl7_server.sql(
            "SELECT count(*), count(DISTINCT ts_ms) FROM readings WHERE session_id = :s",
            s=sim.rooms[2].session_id,
        )
        assert rows[0][0] == rows[0][1] > 0  # resent messages stored once
        desaturation = sim.rooms[1]
        assert desaturation.scenario.name == "desaturation"
        events: list[dict[str, Any]] = (
            await api.http.get(
                f"/api/v1/sessions/{desaturation.session_id}/events", headers=await api.auth()
            )
        ).json()
        shown = [e["detail"] for e in events if e["kind"] == "monitor_alarm"]
        assert "Monitor: *** Desat (patient alarm)" in shown
        assert "Monitor: *** Desat (patient alarm, ended)" in shown
    finally:
        await sim.end()
        await sim.close()
        await api.aclose()
