"""Drive a running VitalWatch as a ward of monitors: register, start, dose, stream, end.

Simulated time runs `speed` times faster than real time. With speed > 1 the
simulated clock starts in the past (now - duration), so every timestamp sent
is a real past time and none is ahead of the service's clock.

A room whose request the service refuses (a 409 when its session was ended
from the dashboard, a 422 for a reading it finds impossible) stops and says
why in the live table and the summary; the other rooms go on. An expired
staff token is renewed by logging in again (simulators.staff).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from simulators import hl7
from simulators.device import Faults, NotAcknowledged, Refused, SimDevice, iso
from simulators.physiology import Patient
from simulators.scenarios import ExpectedAlarm, Scenario, for_patient
from simulators.staff import Staff

PROTOCOL_CYCLE = ("esketamine-in", "ketamine-iv", "ketamine-im")


@dataclass
class Room:
    name: str
    scenario: Scenario
    device: SimDevice
    session_id: int | None  # None: the service refused to start the session
    expected: tuple[ExpectedAlarm, ...] = ()
    dose_posted: bool = False
    alarms: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None  # the last thing the service refused, for the nurse
    stopped_at: int | None = None  # simulated second the room stopped at

    @property
    def running(self) -> bool:
        return self.session_id is not None and self.stopped_at is None


@dataclass
class SimulationConfig:
    url: str
    user: str
    password: str
    patients: int = 6
    scenario: str = "mixed"
    speed: float = 1.0
    seed: int = 1
    duration_min: float = 120.0
    pre_dose_min: float = 10.0
    batch_s: float = 1.0  # real seconds between posts
    faults: dict[int, Faults] = field(default_factory=dict)  # per patient index
    end_sessions: bool = True
    transport: str = "http"  # http | hl7 | mixed (every other room on HL7 over MLLP)
    mllp: str = "2575"  # the service's MLLP address, "[host:]port"


class Simulation:
    """A ward: one session, one monitor and one patient per room."""

    def __init__(self, cfg: SimulationConfig) -> None:
        self.cfg = cfg
        self.client = httpx.AsyncClient(base_url=cfg.url, timeout=30)
        self.staff = Staff(self.client, cfg.user, cfg.password)
        self.rooms: list[Room] = []
        self.sim_start = 0.0
        self.sim_t = 0

    async def setup(self) -> None:
        """Register one monitor per patient and start its session."""
        cfg = self.cfg
        duration_s = cfg.duration_min * 60
        now = time.time()
        self.sim_start = now - duration_s if cfg.speed > 1 else now
        run = secrets.token_hex(5)
        for i in range(cfg.patients):
            room = f"Room {i + 1}"
            scenario = for_patient(cfg.scenario, i)
            protocol = PROTOCOL_CYCLE[i % len(PROTOCOL_CYCLE)]
            on_hl7 = hl7.transport_of(cfg.transport, i) == "hl7"
            dialect = hl7.DIALECTS[(i // 2 if cfg.transport == "mixed" else i) % 4]
            who = hl7.room_identity(run, i)
            body: dict[str, Any] = {"name": f"{room} monitor", "model": "VitalWatch simulator"}
            if on_hl7:
                body |= {
                    "model": f"VitalWatch simulator (HL7, {dialect})",
                    "hl7_ids": [who.hl7_id(dialect)],
                    "hl7_timezone": "UTC",
                }
            r = await self.staff.request("POST", "/api/v1/devices", json=body)
            if r.status_code != 201:
                raise RuntimeError(f"registering a device needs an admin login: {r.text}")
            device = r.json()
            r = await self.staff.request(
                "POST",
                "/api/v1/sessions",
                json={
                    "patient": {
                        "ref": f"SIM-{cfg.seed}-{i + 1:03d}",
                        "display_name": f"Patient {chr(65 + i % 26)}.",
                    },
                    "protocol": protocol,
                    "room": room,
                    "device_ids": [device["id"]],
                },
            )
            patient = Patient(
                protocol, scenario, seed=cfg.seed * 1000 + i, dose_at_s=cfg.pre_dose_min * 60
            )
            faults = cfg.faults.get(i, Faults())
            sim_device = SimDevice(self.client, device["token"], patient, self.sim_start, faults)
            if on_hl7:
                host, port = hl7.parse_address(cfg.mllp, httpx.URL(cfg.url).host)
                sim_device = hl7.Hl7SimDevice(
                    self.client,
                    device["token"],
                    patient,
                    self.sim_start,
                    faults,
                    host=host,
                    port=port,
                    dialect=dialect,
                    who=who,
                )
            expected = patient.expected_alarms(duration_s, faults.clock_skew_s)
            started = r.status_code == 201
            self.rooms.append(
                Room(room, scenario, sim_device, r.json()["id"] if started else None, expected)
            )
            if not started:
                self.rooms[-1].problem = str(Refused("starting the session", r))

    async def step(self, until_t: int) -> None:
        """Advance simulated time to `until_t` seconds: post every room's samples."""
        if until_t <= self.sim_t:
            return
        t0, self.sim_t = self.sim_t, until_t
        await asyncio.gather(*(self._advance(room, t0, until_t) for room in self.rooms))

    async def _advance(self, room: Room, t0: int, t1: int) -> None:
        """One room's samples and dose; what the service refuses stops this room only."""
        if not room.running:
            return
        try:
            await room.device.post(room.device.samples_between(t0, t1))
            await self._dose(room, t1)
        except Refused as e:
            room.problem, room.stopped_at = str(e), t0
        except NotAcknowledged as e:  # the monitor goes on with its next batch
            room.problem = str(e)

    async def _dose(self, room: Room, t1: int) -> None:
        dose_at = room.device.patient.dose_at_s
        if room.dose_posted or t1 <= dose_at:
            return
        r = await self.staff.request(
            "POST",
            f"/api/v1/sessions/{room.session_id}/events",
            json={
                "kind": "dose",
                "ts": iso(self.sim_start + dose_at),
                "detail": f"{room.device.patient.protocol} dose (simulated)",
            },
        )
        if r.status_code != 201:
            raise Refused("the dose event", r)
        room.dose_posted = True

    async def refresh_alarms(self) -> None:
        for room in self.rooms:
            if room.session_id is None:
                continue
            r = await self.staff.request(
                "GET", "/api/v1/alarms", params={"session_id": room.session_id}
            )
            if r.status_code == 200:
                room.alarms = r.json()

    async def run(self, on_tick: Callable[[Simulation], None] | None = None) -> None:
        """Play the whole session at `speed`, then end the sessions."""
        cfg = self.cfg
        total = int(cfg.duration_min * 60)
        started = time.monotonic()
        last_alarm_poll = 0.0
        try:
            while self.sim_t < total and any(room.running for room in self.rooms):
                target = min(total, int((time.monotonic() - started) * cfg.speed) + 1)
                if target > self.sim_t:
                    await self.step(target)
                if on_tick is not None and time.monotonic() - last_alarm_poll > 2:
                    last_alarm_poll = time.monotonic()
                    await self.refresh_alarms()
                    on_tick(self)
                await asyncio.sleep(cfg.batch_s)
        finally:
            if cfg.end_sessions:
                await self.end()

    async def end(self) -> None:
        """End every session started so far (also after Ctrl-C during setup)."""
        await self.staff.end_sessions(r.session_id for r in self.rooms if r.session_id is not None)

    def summary(self) -> list[str]:
        """One line a room: expected and raised alarms, and what stopped it."""
        lines = []
        for room in self.rooms:
            expected = {e.rule for e in room.expected}
            raised = {a["rule"] for a in room.alarms if a.get("kind") == "physiological"}
            line = (
                f"{room.name} ({room.scenario.name}, {room.device.patient.response} response): "
                f"expected {', '.join(sorted(expected)) or 'none'}; "
                f"raised {', '.join(sorted(raised)) or 'none'}"
            )
            dose = room.device.patient.dose_at_s
            due = {e.rule for e in room.expected if dose + e.within_s[1] <= self.sim_t}
            if missing := due - raised:  # only where the run got past the alarm's time
                line += f"; NOT RAISED: {', '.join(sorted(missing))}"
            if room.session_id is None:
                line += f"; not started: {room.problem}"
            elif room.stopped_at is not None:
                line += f"; stopped at {room.stopped_at / 60:.0f} simulated min: {room.problem}"
            elif room.problem:
                line += f"; last problem: {room.problem}"
            lines.append(line)
        return lines

    async def close(self) -> None:
        for room in self.rooms:
            if isinstance(room.device, hl7.Hl7SimDevice):
                await room.device.close()
        await self.client.aclose()


async def run_simulation(
    cfg: SimulationConfig, on_tick: Callable[[Simulation], None] | None = None
) -> Simulation:
    """Set up and play a simulation to the end (Ctrl-C ends the sessions too)."""
    sim = Simulation(cfg)
    await drive(sim, on_tick)
    return sim


async def drive(sim: Simulation, on_tick: Callable[[Simulation], None] | None = None) -> None:
    """Set up and play `sim` to the end, then close it; its sessions end however it stops."""
    cfg = sim.cfg
    try:
        try:
            await sim.setup()
        except BaseException:
            if cfg.end_sessions:
                await sim.end()
            raise
        await sim.run(on_tick)
        if on_tick is not None:
            await sim.refresh_alarms()
            on_tick(sim)
    finally:
        await sim.close()
