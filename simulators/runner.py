"""Drive a running VitalWatch as a ward of monitors: register, start, dose, stream, end.

Simulated time runs `speed` times faster than real time. With speed > 1 the
simulated clock starts in the past (now - duration), so every timestamp sent
is a real past time and none is ahead of the service's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from simulators.device import Faults, SimDevice, iso
from simulators.physiology import Patient
from simulators.scenarios import Scenario, for_patient

PROTOCOL_CYCLE = ("esketamine-in", "ketamine-iv", "ketamine-im")


@dataclass
class Room:
    name: str
    scenario: Scenario
    device: SimDevice
    session_id: int
    dose_posted: bool = False
    alarms: list[dict[str, Any]] = field(default_factory=list)


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


class Simulation:
    """A ward: one session, one monitor and one patient per room."""

    def __init__(self, cfg: SimulationConfig) -> None:
        self.cfg = cfg
        self.client = httpx.AsyncClient(base_url=cfg.url, timeout=30)
        self.rooms: list[Room] = []
        self.sim_start = 0.0
        self.sim_t = 0
        self._staff: dict[str, str] = {}

    async def _staff_headers(self) -> dict[str, str]:
        if "Authorization" not in self._staff:
            r = await self.client.post(
                "/api/v1/auth/token",
                data={"username": self.cfg.user, "password": self.cfg.password},
            )
            if r.status_code != 200:
                raise RuntimeError(f"login as {self.cfg.user} failed: {r.text}")
            self._staff["Authorization"] = f"Bearer {r.json()['access_token']}"
        return self._staff

    async def setup(self) -> None:
        """Register one monitor per patient and start its session."""
        cfg = self.cfg
        duration_s = cfg.duration_min * 60
        now = time.time()
        self.sim_start = now - duration_s if cfg.speed > 1 else now
        headers = await self._staff_headers()
        for i in range(cfg.patients):
            room = f"Room {i + 1}"
            scenario = for_patient(cfg.scenario, i)
            protocol = PROTOCOL_CYCLE[i % len(PROTOCOL_CYCLE)]
            r = await self.client.post(
                "/api/v1/devices",
                json={"name": f"{room} monitor", "model": "VitalWatch simulator"},
                headers=headers,
            )
            if r.status_code != 201:
                raise RuntimeError(f"registering a device needs an admin login: {r.text}")
            device = r.json()
            r = await self.client.post(
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
                headers=headers,
            )
            r.raise_for_status()
            patient = Patient(
                protocol, scenario, seed=cfg.seed * 1000 + i, dose_at_s=cfg.pre_dose_min * 60
            )
            sim_device = SimDevice(
                self.client,
                device["token"],
                patient,
                self.sim_start,
                faults=cfg.faults.get(i, Faults()),
            )
            self.rooms.append(Room(room, scenario, sim_device, r.json()["id"]))

    async def step(self, until_t: int) -> None:
        """Advance simulated time to `until_t` seconds: post every room's samples."""
        t0, self.sim_t = self.sim_t, until_t
        await asyncio.gather(*(self._advance(room, t0, until_t) for room in self.rooms))

    async def _advance(self, room: Room, t0: int, t1: int) -> None:
        await room.device.post(room.device.samples_between(t0, t1))
        dose_at = room.device.patient.dose_at_s
        if not room.dose_posted and t1 > dose_at:
            room.dose_posted = True
            r = await self.client.post(
                f"/api/v1/sessions/{room.session_id}/events",
                json={
                    "kind": "dose",
                    "ts": iso(self.sim_start + dose_at),
                    "detail": f"{room.device.patient.protocol} dose (simulated)",
                },
                headers=await self._staff_headers(),
            )
            r.raise_for_status()

    async def refresh_alarms(self) -> None:
        headers = await self._staff_headers()
        for room in self.rooms:
            r = await self.client.get(
                "/api/v1/alarms", params={"session_id": room.session_id}, headers=headers
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
            while self.sim_t < total:
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
        headers = await self._staff_headers()
        for room in self.rooms:
            with contextlib.suppress(httpx.HTTPError):
                await self.client.post(f"/api/v1/sessions/{room.session_id}/end", headers=headers)

    async def close(self) -> None:
        await self.client.aclose()


async def run_simulation(
    cfg: SimulationConfig, on_tick: Callable[[Simulation], None] | None = None
) -> Simulation:
    """Set up and play a simulation to the end (Ctrl-C ends the sessions too)."""
    sim = Simulation(cfg)
    try:
        try:
            await sim.setup()
        except BaseException:
            if cfg.end_sessions:
                await sim.end()
            raise
        await sim.run(on_tick)
    finally:
        await sim.close()
    return sim
