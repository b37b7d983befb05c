"""Drive a running VitalWatch as a ward of monitors: register, start, dose, stream, end.

Simulated time runs `speed` times faster than real time. With speed > 1 the
simulated clock starts in the past (now - duration), so every timestamp sent
is a real past time and none is ahead of the service's clock; the sessions are
entered as having started then (`started_at`), so no dose precedes its start.

A room may be pre-aged (`RoomPlan.age_s`, the demo's clinic): its session is
entered as begun that long ago, its history (readings, the dose at its time)
is posted with the times it happened before the live part starts, and then it
plays on from there, so at 1x every time agrees with the wall clock.

A room whose request the service refuses (a 409 when its session was ended
from the dashboard, a 422 for a reading it finds impossible) stops and says
why in the live table and the summary; the other rooms go on. An expired
staff token is renewed by logging in again (simulators.staff).

The first `sdc_rooms` rooms' monitors speak IEEE 11073 SDC on the loopback
adapter (simulators.sdc_room): a provider process each, bound to the room's
device through the service's binding API, as an admin binds one.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from simulators import hl7
from simulators.device import Faults, NotAcknowledged, Refused, SimDevice, iso
from simulators.physiology import Patient
from simulators.protocols import PROTOCOLS, observation_from_min
from simulators.records import RecordKeeper
from simulators.scenarios import ExpectedAlarm, Scenario, for_patient, raised_conditions
from simulators.sdc_room import SdcProvider, SdcSimDevice, bind, start_provider
from simulators.staff import Staff

PROTOCOL_CYCLE = ("esketamine-in", "ketamine-iv", "ketamine-im")
#: History is posted in requests of this many simulated seconds (the service
#: takes up to 10,000 samples per request).
HISTORY_CHUNK_S = 1800


@dataclass(frozen=True)
class RoomPlan:
    """One room: its protocol, what happens to its patient, and how long its
    session had been running when the simulation starts (0: it starts now)."""

    protocol: str
    scenario: Scenario
    seed: int
    age_s: int = 0
    story: str = ""  # what the room shows, for the live table
    faults: Faults | None = None  # this patient's monitor's faults (else the config's)


@dataclass
class Room:
    name: str
    scenario: Scenario
    device: SimDevice
    session_id: int | None  # None: the service refused to start the session
    expected: tuple[ExpectedAlarm, ...] = ()
    #: The session's own second at live t = 0: its age when the simulation
    #: started (negative for a patient admitted later, see `turnover`).
    age_s: int = 0
    story: str = ""
    t: int = 0  # the session's own seconds posted so far
    device_id: int = 0
    admissions: int = 0  # patients this room had before this one
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
    #: The first this many rooms have SDC monitors on `lo` (the service's
    #: consumer must listen there, on this WS-Discovery port).
    sdc_rooms: int = 0
    sdc_discovery_port: int = 3702
    sdc_logs: Path | None = None  # a folder for the SDC monitors' logs
    #: Rooms planned one by one (the demo's clinic); empty: `patients` rooms
    #: of `scenario`, protocols in turn, all starting now.
    rooms: tuple[RoomPlan, ...] = ()
    #: A clinic's turnover: a patient ready for discharge for `discharge_after_min`
    #: is discharged (the session ended) and the room's next patient admitted,
    #: planned by this (room index, admission number); None: no turnover.
    next_patient: Callable[[int, int], RoomPlan] | None = None
    discharge_after_min: float = 10.0

    def plans(self) -> tuple[RoomPlan, ...]:
        if self.rooms:
            return self.rooms
        return tuple(
            RoomPlan(
                PROTOCOL_CYCLE[i % len(PROTOCOL_CYCLE)],
                for_patient(self.scenario, i),
                seed=self.seed * 1000 + i,
            )
            for i in range(self.patients)
        )


class Simulation:
    """A ward: one session, one monitor and one patient per room."""

    def __init__(self, cfg: SimulationConfig) -> None:
        self.cfg = cfg
        self.client = httpx.AsyncClient(base_url=cfg.url, timeout=30)
        self.staff = Staff(self.client, cfg.user, cfg.password)
        self.records = RecordKeeper(self.staff)  # the nurse's documentation
        self.rooms: list[Room] = []
        self.sim_start = 0.0
        self.sim_t = 0
        self._run = secrets.token_hex(5)  # names this run's HL7 monitors
        self.unsigned: list[str] = []  # rooms whose session `end` ended unsigned
        self.providers: dict[int, SdcProvider] = {}  # room index -> its SDC monitor

    async def setup(self) -> None:
        """Register one monitor per room, start its session and post its history."""
        cfg = self.cfg
        duration_s = cfg.duration_min * 60
        now = time.time()
        self.sim_start = now - duration_s if cfg.speed > 1 else now
        if self.staff.token is None:
            await self.staff.login()  # once, not once per room
        # opened side by side; self.rooms holds each as soon as its session exists
        # (so that Ctrl-C or a failure during the setup still ends it), then the
        # rooms are put in order
        opened = await asyncio.gather(
            *(self._open_room(i, plan, duration_s) for i, plan in enumerate(cfg.plans())),
            return_exceptions=True,
        )
        for result in opened:
            if isinstance(result, BaseException):
                raise result
        self.rooms = [r for r in opened if isinstance(r, Room)]
        await asyncio.gather(*(self._pre_age(room) for room in self.rooms))

    def _hl7(self, i: int) -> tuple[str, hl7.Identity] | None:
        """Room i's HL7 dialect and identity, when its monitor speaks HL7."""
        cfg = self.cfg
        if i < cfg.sdc_rooms or hl7.transport_of(cfg.transport, i) != "hl7":
            return None
        dialect = hl7.DIALECTS[(i // 2 if cfg.transport == "mixed" else i) % 4]
        return dialect, hl7.room_identity(self._run, i)

    async def _open_room(self, i: int, plan: RoomPlan, duration_s: float) -> Room:
        body: dict[str, Any] = {"name": f"Room {i + 1} monitor", "model": "VitalWatch simulator"}
        speaks = self._hl7(i)
        if speaks is not None:
            dialect, who = speaks
            body |= {
                "model": f"VitalWatch simulator (HL7, {dialect})",
                "hl7_ids": [who.hl7_id(dialect)],
                "hl7_timezone": "UTC",
            }
        if i < self.cfg.sdc_rooms:
            body["model"] = "VitalWatch simulator (SDC)"
        r = await self.staff.request("POST", "/api/v1/devices", json=body)
        if r.status_code != 201:
            raise RuntimeError(f"registering a device needs an admin login: {r.text}")
        device = r.json()
        if i < self.cfg.sdc_rooms:
            await self._sdc_monitor(i, device["id"])
        return await self._admit(i, plan, device["id"], device["token"], duration_s)

    async def _sdc_monitor(self, i: int, device_id: int) -> None:
        """Start room i's SDC monitor and bind it to the room's device."""
        cfg = self.cfg
        serial = f"VW-DEMO-{self._run}-{i + 1}"  # a new provider per run: never bound yet
        log = cfg.sdc_logs / f"sdc-room-{i + 1}.log" if cfg.sdc_logs is not None else None
        provider = await start_provider(serial, str(i + 1), cfg.sdc_discovery_port, log)
        self.providers[i] = provider  # stopped by close() from now on, bound or not
        await bind(self.staff, provider, device_id)

    async def _admit(
        self,
        i: int,
        plan: RoomPlan,
        device_id: int,
        token: str,
        duration_s: float,
        admission: int = 0,
        seq: int = 0,
    ) -> Room:
        """Start room i's session for the patient of `plan` (now, or `age_s` ago)."""
        cfg = self.cfg
        room = f"Room {i + 1}"
        age = plan.age_s - self.sim_t  # the session's own second at live t = 0
        began = self.sim_start - age
        ref = f"SIM-{cfg.seed}-{i + 1:03d}" + (f"-{admission}" if admission else "")
        body: dict[str, Any] = {
            "patient": {
                "ref": ref,
                "display_name": f"Patient {chr(65 + (i + admission * 7) % 26)}.",
            },
            "protocol": plan.protocol,
            "room": room,
            "device_ids": [device_id],
        }
        if began < time.time() - 1:  # entered now, begun earlier
            body["started_at"] = iso(began)
        r = await self.staff.request("POST", "/api/v1/sessions", json=body)
        patient = Patient(
            plan.protocol, plan.scenario, seed=plan.seed, dose_at_s=cfg.pre_dose_min * 60
        )
        faults = plan.faults or cfg.faults.get(i, Faults())
        sim_device = SimDevice(self.client, token, patient, began, faults, seq=seq)
        speaks = self._hl7(i)
        if i in self.providers:  # the same SDC monitor for every patient of the room
            sim_device = SdcSimDevice(
                self.client,
                token,
                patient,
                began,
                faults,
                seq=seq,
                provider=self.providers[i],
                live_from=self.sim_start,  # the live part: its readings go over SDC
            )
        elif speaks is not None:
            host, port = hl7.parse_address(cfg.mllp, httpx.URL(cfg.url).host)
            sim_device = hl7.Hl7SimDevice(
                self.client,
                token,
                patient,
                began,
                faults,
                host=host,
                port=port,
                dialect=speaks[0],
                who=speaks[1],
            )
        expected = patient.expected_alarms(age + duration_s, faults.clock_skew_s)
        started = r.status_code == 201
        opened = Room(
            room,
            plan.scenario,
            sim_device,
            r.json()["id"] if started else None,
            expected,
            age_s=age,
            story=plan.story,
            device_id=device_id,
            admissions=admission,
        )
        if not started:
            opened.problem = str(Refused("starting the session", r))
        self.rooms.append(opened)
        return opened

    async def turnover(self) -> None:
        """Discharge the patients whose observation ended `discharge_after_min` ago
        (counted from the end of the last administration, as the service counts
        it) and admit each room's next patient (the clinic's day goes on). A
        patient the record keeper has not signed off is signed off first, with
        the reason on the record: a session never ends without its sign-off."""
        cfg = self.cfg
        if cfg.next_patient is None:
            return
        for idx, room in enumerate(list(self.rooms)):
            patient = room.device.patient
            minutes = PROTOCOLS[patient.protocol].observation_min
            if not room.running or not room.dose_posted or minutes is None:
                continue
            observed = observation_from_min(patient.protocol) + minutes + cfg.discharge_after_min
            if room.t - patient.dose_at_s < observed * 60:
                continue
            assert room.session_id is not None
            await self.records.sign_off(room.session_id, overdue=True)
            await self.staff.end_sessions([room.session_id])
            self.rooms.remove(room)
            if isinstance(room.device, hl7.Hl7SimDevice):
                await room.device.close()  # the next patient's monitor connects anew
            nxt = await self._admit(
                idx,
                cfg.next_patient(idx, room.admissions + 1),
                room.device_id,
                room.device.token,
                cfg.duration_min * 60,
                admission=room.admissions + 1,
                seq=room.device.seq,  # the same monitor: its counter goes on
            )
            self.rooms.remove(nxt)
            self.rooms.insert(idx, nxt)

    async def _pre_age(self, room: Room) -> None:
        """Post a pre-aged room's history, oldest first, the dose at its place."""
        while room.running and room.t < room.age_s:
            await self._advance(room, min(room.age_s, room.t + HISTORY_CHUNK_S))

    async def step(self, until_t: int) -> None:
        """Advance simulated time to `until_t` seconds: post every room's samples."""
        if until_t <= self.sim_t:
            return
        self.sim_t = until_t
        await asyncio.gather(*(self._advance(room, room.age_s + until_t) for room in self.rooms))
        await self.turnover()

    async def _advance(self, room: Room, t1: int) -> None:
        """One room's samples up to its own second t1 and its dose; what the service
        refuses stops this room only."""
        if not room.running or t1 <= room.t:
            return
        t0 = room.t
        try:
            dose_at = int(room.device.patient.dose_at_s)
            if not room.dose_posted and t0 <= dose_at < t1:
                # the readings before the dose first: they are its baseline
                await room.device.post(room.device.samples_between(t0, dose_at + 1))
                t0 = dose_at + 1
            await room.device.post(room.device.samples_between(t0, t1))
            await self._dose(room, t1)
            if room.session_id is not None:
                patient = room.device.patient
                await self.records.after_step(
                    room.session_id, patient.protocol, t1, patient.dose_at_s, room.device.at
                )
            room.t = t1
        except Refused as e:
            room.problem, room.stopped_at = str(e), t0
        except NotAcknowledged as e:  # the monitor goes on with its next batch
            room.problem = str(e)
            room.t = t1

    async def _dose(self, room: Room, t1: int) -> None:
        dose_at = room.device.patient.dose_at_s
        if room.dose_posted or t1 <= dose_at:
            return
        assert room.session_id is not None
        protocol = room.device.patient.protocol
        await self.records.before_dose(room.session_id)
        r = await self.staff.request(
            "POST",
            f"/api/v1/sessions/{room.session_id}/events",
            json=self.records.dose_body(
                protocol, iso(room.device.sim_start + dose_at), f"{protocol} dose (simulated)"
            ),
        )
        if r.status_code != 201:
            raise Refused("the dose event", r)
        self.records.dosed(room.session_id, r.json())
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
        if cfg.speed == 1:  # the wall clock: what the setup took is caught up at once
            started -= max(0.0, time.time() - self.sim_start)
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
        """End every session started so far (also after Ctrl-C during setup); the
        ones not signed off are named in the summary (the service flags each
        one ended before its observation time)."""
        ids = {r.name: r.session_id for r in self.rooms if r.session_id is not None}
        self.unsigned = [name for name, sid in ids.items() if not self.records.signed(sid)]
        await self.staff.end_sessions(ids.values())

    def summary(self) -> list[str]:
        """One line a room: expected and raised alarms, the scripted ones still
        to come, and what stopped it; then the sessions ended without sign-off."""
        lines = []
        for room in self.rooms:
            expected = {e.rule for e in room.expected}
            raised = {rule for a in room.alarms for rule, _ in raised_conditions(a)}
            dose = room.device.patient.dose_at_s
            to_come = sorted(
                (e for e in room.expected if dose + e.within_s[0] > room.t),
                key=lambda e: e.within_s[0],
            )
            shown = ", ".join(sorted(raised)) or ("none yet" if to_come else "none")
            line = (
                f"{room.name} ({room.scenario.name}, {room.device.patient.response} response): "
                f"expected {', '.join(sorted(expected)) or 'none'}; raised {shown}"
            )
            if to_come:
                line += "; still to come: " + ", ".join(
                    f"{e.rule} ({e.priority}) in {_minutes(dose + e.within_s[0] - room.t)}"
                    for e in to_come
                )
            due = {e.rule for e in room.expected if dose + e.within_s[1] <= room.t}
            if missing := due - raised:  # only where the run got past the alarm's time
                line += f"; NOT RAISED: {', '.join(sorted(missing))}"
            if room.session_id is None:
                line += f"; not started: {room.problem}"
            elif room.stopped_at is not None:
                line += f"; stopped at {room.stopped_at / 60:.0f} simulated min: {room.problem}"
            elif room.problem:
                line += f"; last problem: {room.problem}"
            lines.append(line)
        if self.unsigned:
            lines.append(
                f"Ended without a discharge sign-off (the simulation stopped): "
                f"{', '.join(self.unsigned)}; each record shows whether it ended before "
                f"its observation time was over."
            )
        return lines

    async def close(self) -> None:
        for room in self.rooms:
            if isinstance(room.device, hl7.Hl7SimDevice):
                await room.device.close()
        await asyncio.gather(*(p.stop() for p in self.providers.values()))
        await self.client.aclose()


def _minutes(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


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
