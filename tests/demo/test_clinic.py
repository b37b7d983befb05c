"""The demo's clinic, pre-aged against a real server on both backends: each room's
history is posted at the times it happened, rooms stand at every stage, and the
history raises no alarm (the alarms come live, at the wall clock)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from simulators.clinic import STAGES, clinic, next_patient, stage
from simulators.runner import RoomPlan, Simulation, SimulationConfig
from simulators.scenarios import CALM

from tests.support import ADMIN, Api, ServerProcess


def _t(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


async def test_pre_aged_rooms_stand_at_every_stage_with_their_history(
    api: Api, server: ServerProcess
) -> None:
    plans = clinic(6, seed=5)
    sim = Simulation(
        SimulationConfig(
            url=server.url, user=ADMIN[0], password=ADMIN[1], speed=1, seed=5, rooms=plans
        )
    )
    opened = time.time()
    try:
        await sim.setup()
        posted = time.time()
        stages = set()
        for room, plan in zip(sim.rooms, plans, strict=True):
            assert room.running and room.problem is None, room.problem
            s = await _get(api, f"/api/v1/sessions/{room.session_id}")
            started = _t(s["started_at"])
            assert abs(started - (opened - plan.age_s)) < 2  # entered as begun age_s ago
            dose_at = started + 600
            if plan.age_s > 600:
                assert abs(_t(s["first_dose_at"]) - dose_at) < 0.01
                assert s["baseline"]["hr"] is not None  # from the history before the dose
                stages.add(stage(plan.protocol, posted - dose_at))
            else:
                assert s["first_dose_at"] is None
                stages.add(stage(plan.protocol, None))
            hr = await _get(
                api, f"/api/v1/sessions/{room.session_id}/readings", params={"metric": "hr"}
            )
            times = [_t(ts) for ts in hr["ts"]]
            assert len(times) == room.age_s  # one a second since the start
            assert started <= times[0] < started + 1 and times[-1] <= posted
            assert times == sorted(times)
        assert stages == set(STAGES)
        alarms = await _get(api, "/api/v1/alarms")
        mine = {r.session_id for r in sim.rooms}
        assert [a for a in alarms if a["session_id"] in mine] == []
    finally:
        await sim.end()
        await sim.close()


async def test_a_patient_ready_for_discharge_makes_way_for_the_next(
    api: Api, server: ServerProcess
) -> None:
    """Turnover: 10 min after the observation time the session is ended and the
    room's monitor is bound to the next patient's session, started then."""
    sim = Simulation(
        SimulationConfig(
            url=server.url,
            user=ADMIN[0],
            password=ADMIN[1],
            speed=600,
            duration_min=130,
            rooms=(RoomPlan("ketamine-im", CALM, seed=3),),
            next_patient=lambda room, n: RoomPlan("esketamine-in", CALM, seed=40 + n),
        )
    )
    try:
        await sim.setup()
        first = sim.rooms[0]
        # observation 90 min after the dose (10 min in), discharged 10 min later
        while sim.sim_t < 110 * 60 - 60:
            await sim.step(min(sim.sim_t + 600, 110 * 60 - 60))
        assert sim.rooms[0] is first
        while sim.sim_t < 115 * 60:
            await sim.step(sim.sim_t + 60)
        nxt = sim.rooms[0]
        assert nxt is not first and nxt.admissions == 1 and nxt.device_id == first.device_id
        old = await _get(api, f"/api/v1/sessions/{first.session_id}")
        new = await _get(api, f"/api/v1/sessions/{nxt.session_id}")
        assert old["status"] == "ended" and not old["ended_early"]
        assert new["status"] == "active" and new["device_ids"] == [first.device_id]
        assert new["protocol"] == "esketamine-in" and new["first_dose_at"] is None
        assert new["room"] == old["room"] == "Room 1"
        admitted = sim.sim_start + 110 * 60
        assert abs(_t(new["started_at"]) - admitted) < 61
        assert _t(old["ended_at"]) > _t(new["started_at"])  # ended now, on the service's clock
        hr = await _get(api, f"/api/v1/sessions/{nxt.session_id}/readings", params={"metric": "hr"})
        assert hr["ts"] and _t(hr["ts"][0]) >= _t(new["started_at"])
    finally:
        await sim.end()
        await sim.close()


def test_next_patients_rotate_protocols_and_scenarios() -> None:
    plan = next_patient(seed=2)
    admitted = [plan(0, n) for n in range(1, 7)]
    assert {p.protocol for p in admitted} == {"esketamine-in", "ketamine-iv", "ketamine-im"}
    assert len({p.scenario.name for p in admitted}) == 6
    assert all(p.age_s == 0 for p in admitted)


async def test_more_rooms_than_six_are_calm_and_fewer_keep_the_first() -> None:
    assert [p.story for p in clinic(3)] == [p.story for p in clinic(6)[:3]]
    big = clinic(16)
    assert len(big) == 16 and all(p.scenario.events == () for p in big[6:])
    assert all(0 < p.age_s < 12 * 3600 for p in big)


def test_stages_follow_the_protocol() -> None:
    assert stage("ketamine-iv", None) == "waiting for dose"
    assert stage("ketamine-iv", 39 * 60) == "dosing"  # the 40-min infusion
    assert stage("ketamine-iv", 41 * 60) == "peak"
    assert stage("ketamine-iv", 56 * 60) == "recovery"
    # observed 60 min from the infusion's end (40 min), as the service counts
    assert stage("ketamine-iv", 99 * 60) == "recovery"
    assert stage("ketamine-iv", 100 * 60) == "ready for discharge"
    assert stage("ketamine-im", 1 * 60) == "peak"  # an injection: no dosing stage
    assert stage("esketamine-in", 5 * 60) == "dosing"
    assert stage("esketamine-in", 119 * 60) == "recovery"
    assert stage("esketamine-in", 121 * 60) == "ready for discharge"
    assert stage("custom", 600 * 60) == "recovery"  # no observation time set


async def _get(api: Api, url: str, **kwargs: Any) -> Any:
    r = await api.http.get(url, headers=await api.auth(), **kwargs)
    assert r.status_code == 200, r.text
    return r.json()
