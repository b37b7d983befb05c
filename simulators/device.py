"""A simulated bedside monitor talking to VitalWatch through the public contract.

It numbers its samples (`seq`), posts them in batches with its device token,
and retries the same batch after a network error or a 5xx, so the service
can count the retries as duplicates. Faults are injected here.
"""

from __future__ import annotations

import asyncio
import random
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


@dataclass
class Faults:
    """What goes wrong with this monitor, in simulated seconds after the dose."""

    probe_off: tuple[float, float] | None = None  # SpO2 probe off: no spo2, no hr
    offline: tuple[float, float] | None = None  # the monitor sends nothing
    artefacts_every_s: float | None = None  # short motion spikes (shorter than any sustain)
    lost_ack_rate: float = 0.0  # the reply is lost: the same batch is posted again
    clock_skew_s: float = 0.0  # the device clock is off (negative: behind)


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
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.patient.seed + 7)

    def _in(self, window: tuple[float, float] | None, t: float) -> bool:
        since = t - self.patient.dose_at_s
        return window is not None and window[0] <= since < window[1]

    def samples_between(self, t0: int, t1: int) -> list[dict[str, Any]]:
        """The samples of simulated seconds [t0, t1), faults applied."""
        out = []
        for t in range(t0, t1):
            if self._in(self.faults.offline, t):
                continue
            values = self.patient.sample(t)
            if self._in(self.faults.probe_off, t):
                values.pop("spo2", None)
                values.pop("hr", None)
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
                raise RuntimeError(f"readings refused ({r.status_code}): {r.text[:300]}")
            self.retries += 1
            await asyncio.sleep(delay * (1 + attempt))
        raise RuntimeError("readings not acknowledged after retries")
