"""A simulated bedside monitor talking to VitalWatch through the public contract.

It numbers its samples (`seq`), posts them in batches with its device token,
and retries the same batch after a network error or a 5xx, so the service
can count the retries as duplicates. Faults are injected here.

A fault window starts at a simulated time but lasts in real (wall-clock)
seconds: the service times its technical alarms (no SpO2 signal after 15 s,
monitor offline after 60 s) on its own clock, so a 20-s probe-off must last
20 s for the nurse at --speed 1 and at --speed 600 alike.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from simulators.physiology import Patient


def iso(epoch_s: float) -> str:
    return (
        datetime.fromtimestamp(epoch_s, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


@dataclass(frozen=True)
class Window:
    """A fault from `at_s` simulated seconds after the dose, for `wall_s` real seconds."""

    at_s: float
    wall_s: float


@dataclass
class Faults:
    """What goes wrong with this monitor."""

    probe_off: Window | None = None  # SpO2 probe off: no spo2, no (pulse) hr
    offline: Window | None = None  # the monitor sends nothing
    artefacts_every_s: float | None = None  # short motion spikes (shorter than any sustain)
    lost_ack_rate: float = 0.0  # the reply is lost: the same batch is posted again
    clock_skew_s: float = 0.0  # the device clock is off (negative: behind)


class Refused(Exception):
    """The service refused a request (4xx): a problem of this room, not of the ward."""

    def __init__(self, what: str, response: httpx.Response) -> None:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        self.status = response.status_code
        super().__init__(f"{what} refused ({response.status_code}): {str(detail)[:200]}")


class NotAcknowledged(Exception):
    """A batch got no acknowledgement after every retry (the service unreachable)."""


@dataclass
class SimDevice:
    """One monitor bound to one session: turns a patient into posted batches."""

    client: httpx.AsyncClient
    token: str
    patient: Patient
    sim_start: float  # epoch seconds of simulated t = 0
    faults: Faults = field(default_factory=Faults)
    seq: int = 0
    latest: dict[str, float] = field(default_factory=dict)
    duplicates: int = 0
    retries: int = 0
    clock: Callable[[], float] = time.monotonic  # real time, for fault windows
    _rng: random.Random = field(default_factory=random.Random)
    _began: dict[str, float] = field(default_factory=dict)  # fault -> real time it began

    def __post_init__(self) -> None:
        self._rng = random.Random(self.patient.seed + 7)

    def _in(self, fault: str, t: float, now: float) -> bool:
        """Whether a fault holds for the sample of simulated second t, sent now."""
        window: Window | None = getattr(self.faults, fault)
        if window is None or t - self.patient.dose_at_s < window.at_s:
            return False
        began = self._began.setdefault(fault, now)
        return now < began + window.wall_s

    def at(self, t: float) -> str:
        """The wall-clock time of simulated second `t` (RFC 3339)."""
        return iso(self.sim_start + t)

    def samples_between(self, t0: int, t1: int) -> list[dict[str, Any]]:
        """The samples of simulated seconds [t0, t1), faults applied."""
        out = []
        now = self.clock()
        for t in range(t0, t1):
            if self._in("offline", t, now):
                continue
            values = self.patient.sample(t)
            if self._in("probe_off", t, now):
                for metric in ("spo2", "hr"):  # the table shows them missing, too
                    values.pop(metric, None)
                    self.latest.pop(metric, None)
                if not values:
                    continue
            every = self.faults.artefacts_every_s
            if every and t % int(every) < 3 and t > 60:  # a 3-s motion spike
                values["hr"] = 178.0
            self.latest.update(values)
            ts = self.sim_start + t + self.faults.clock_skew_s
            out.append({"ts": iso(ts), "seq": self.seq, **values})
            self.seq += 1
        return out

    async def post(self, samples: list[dict[str, Any]], attempts: int = 8) -> dict[str, int]:
        """Post a batch until it is acknowledged; the same batch on every retry."""
        if not samples:
            return {"accepted": 0, "duplicates": 0}
        body = {"samples": samples}
        headers = {"Authorization": f"Bearer {self.token}"}
        delay = 0.2
        lost_once = False
        for attempt in range(attempts):
            try:
                r = await self.client.post("/api/v1/readings", json=body, headers=headers)
            except httpx.TransportError:
                r = None
            if r is not None and r.status_code == 202:
                ack: dict[str, int] = r.json()
                self.duplicates += ack["duplicates"]
                lose = self.faults.lost_ack_rate and self._rng.random() < self.faults.lost_ack_rate
                if lose and not lost_once:
                    lost_once = True  # the reply "got lost": send the same batch again
                    self.retries += 1
                    continue
                return ack
            if r is not None and r.status_code < 500:
                raise Refused("readings", r)
            self.retries += 1
            await asyncio.sleep(delay * (1 + attempt))
        raise NotAcknowledged(f"{len(samples)} samples not acknowledged after {attempts} tries")
