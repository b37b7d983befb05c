"""The demo's first 12 minutes show every kind of alarm (issue 27 item 10):
the clinic's rooms, their history and 12 live minutes, played on a simulated
clock through the service's own alarm engine; and the summary names the
scripted events still to come."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from simulators.clinic import PRE_DOSE_MIN, TIMELINE, clinic
from simulators.device import Faults, SimDevice
from simulators.physiology import Patient
from simulators.runner import Room, RoomPlan, Simulation, SimulationConfig

from vitalwatch.alarms.engine import AlarmEngine, SessionConfig, Transition
from vitalwatch.alarms.engine.model import Action
from vitalwatch.samples import SampleBatch
from vitalwatch.sessions.thresholds import defaults_for
from vitalwatch.vitals import METRICS

T0 = 1_800_000_000.0  # the demo opens (epoch s)
LOOK_S = 12 * 60
DOSE_S = PRE_DOSE_MIN * 60


class Clock:
    now = T0


def _batch(sid: int, dev: int, rows: list[dict[str, Any]], received: float) -> SampleBatch:
    values = np.full((len(rows), len(METRICS)), np.nan)
    for i, row in enumerate(rows):
        for k, v in row.items():
            if k in METRICS:
                values[i, METRICS.index(k)] = v
    ts = [datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).timestamp() for r in rows]
    return SampleBatch(
        np.full(len(rows), sid, dtype=np.int64),
        np.full(len(rows), dev, dtype=np.int64),
        np.array([r["seq"] for r in rows], dtype=np.int64),
        np.rint(np.array(ts) * 1000).astype(np.int64),
        values,
        round(received * 1000),
    )


def _config(
    sid: int, protocol: str, began: float, history: list[dict[str, Any]], dosed: bool
) -> SessionConfig:
    """The session as the service holds it; once dosed, its baseline is the
    median of the 10 min before the dose (sessions/baseline.py)."""
    dose = began + DOSE_S
    pre = [r for r in history if dose - 600 <= _epoch(r) < dose]
    baseline = {
        m: float(np.median([r[m] for r in pre if m in r]))
        for m in ("hr", "sbp", "dbp")
        if any(m in r for r in pre)
    }
    return SessionConfig(
        session_id=sid,
        protocol=protocol,
        thresholds=defaults_for(protocol),
        device_names={sid: f"Room {sid} monitor"},
        started_at=began,
        first_dose_at=dose if dosed else None,
        baseline=baseline if dosed else None,
    )


def _device(plan: RoomPlan, began: float) -> SimDevice:
    """The room's monitor, its faults timed by the simulated clock."""
    patient = Patient(plan.protocol, plan.scenario, seed=plan.seed, dose_at_s=DOSE_S)
    faults = plan.faults or Faults()
    return SimDevice(None, "token", patient, began, faults, clock=lambda: Clock.now)  # type: ignore[arg-type]


def _epoch(row: dict[str, Any]) -> float:
    return datetime.fromisoformat(row["ts"].replace("Z", "+00:00")).timestamp()


def _play(look_s: int) -> dict[int, list[Transition]]:
    """Every room's alarm transitions from the demo's start to `look_s` in."""
    engine = AlarmEngine()
    out: dict[int, list[Transition]] = {}
    rooms = []
    for i, plan in enumerate(clinic(6, seed=int(T0) // 1000)):
        sid = i + 1
        began = T0 - plan.age_s
        device = _device(plan, began)
        history = device.samples_between(0, plan.age_s)
        dosed = plan.age_s > DOSE_S
        out[sid] = list(engine.upsert_session(_config(sid, plan.protocol, began, history, dosed)))
        out[sid] += engine.evaluate(_batch(sid, sid, history, T0))
        rooms.append((sid, plan, device, history, dosed))
    for k in range(look_s):
        Clock.now = T0 + k
        for n, (sid, plan, device, history, dosed) in enumerate(rooms):
            rows = device.samples_between(plan.age_s + k, plan.age_s + k + 1)
            history += rows
            if not dosed and plan.age_s + k >= DOSE_S:  # the waiting room's dose
                began = T0 - plan.age_s
                out[sid] += engine.upsert_session(_config(sid, plan.protocol, began, history, True))
                rooms[n] = (sid, plan, device, history, True)
            if rows:
                out[sid] += engine.evaluate(_batch(sid, sid, rows, Clock.now))
        for t in engine.tick(Clock.now):
            out.setdefault(t.view.session_id, []).append(t)
    return out


def _met(transitions: list[Transition]) -> set[tuple[str, str, str]]:
    """(condition, priority, kind) of every condition met."""
    seen = set()
    for t in transitions:
        if t.action is Action.CONDITION_MET and t.condition:
            seen.add((t.condition, t.priority, t.kind))
        if t.action is Action.RAISED:
            for c in t.view.conditions:
                seen.add((c.rule, c.priority, t.kind))
    return seen


def test_a_twelve_minute_look_sees_every_kind_of_alarm() -> None:
    met = {sid: _met(ts) for sid, ts in _play(LOOK_S).items()}
    everything = set().union(*met.values())
    # each scripted event raises its alarms in its room, within the 12 minutes
    for room, after, what, alarms in TIMELINE:
        assert after < LOOK_S - 60, what
        for rule, priority in alarms:
            assert any(r == rule and p == priority for r, p, _ in met[room + 1]), (what, met)
    # every priority, every vital sign's problem and a technical alarm
    physiological = {(r, p) for r, p, k in everything if k == "physiological"}
    assert {p for _, p in physiological} == {"high", "medium", "low"}
    problems = {r.split("_")[0] for r, _ in physiological}
    assert {"spo2", "rr", "hr", "sbp"} <= problems
    assert any(k == "technical" and r.startswith("no_signal") for r, _, k in everything)


def test_the_history_raises_nothing_and_the_summary_says_what_is_to_come() -> None:
    before = _play(1)
    assert not [t for ts in before.values() for t in ts if t.action is Action.RAISED]
    sim = Simulation(SimulationConfig(url="http://127.0.0.1:9", user="u", password="p"))
    for i, plan in enumerate(clinic(6, seed=7)):
        device = _device(plan, T0 - plan.age_s)
        room = Room(f"Room {i + 1}", plan.scenario, device, i + 1, plan.scenario.expected)
        room.t, room.dose_posted = plan.age_s + 60, True  # one minute into the demo
        sim.rooms.append(room)
    lines = sim.summary()
    assert "still to come: hr_high (high) in 1 min 30 s" in lines[5], lines[5]
    assert "still to come: sbp_high (high) in 3 min 30 s" in lines[1], lines[1]
    assert "no_signal:spo2 (medium) in 7 min 30 s" in lines[2], lines[2]
    assert "raised none yet" in lines[5]
    assert not any("raised none;" in line for line in lines if "still to come" in line)
