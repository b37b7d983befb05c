"""A patient on a monitor during a ketamine or esketamine session.

Pure and seeded: the same seed gives the same stream. Each patient has its
own baseline and noise; after the dose, blood pressure and heart rate rise by
a per-patient amount, peaking about 40 minutes after esketamine, at the end
of a 40-minute IV infusion, or about 20 minutes after an IM injection, and
easing back over 1-2 hours (Gen Hosp Psychiatry 2024: mean +16/+11 mmHg,
~1% severe). A scenario adds the event a nurse must be alerted to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulators.scenarios import Scenario
from vitalwatch.alarms.thresholds import PROFILES

#: When the drug effect peaks, minutes after the dose, per protocol.
PEAK_MIN = {"ketamine-iv": 40.0, "ketamine-im": 20.0, "esketamine-in": 40.0, "custom": 30.0}
RR_EVERY_S = 4


@dataclass
class Patient:
    """One simulated patient; `sample(t)` gives what the monitor reads at t."""

    protocol: str
    scenario: Scenario
    seed: int
    dose_at_s: float = 600.0  # seconds after the session starts
    hr0: float = field(init=False)
    sbp0: float = field(init=False)
    dbp0: float = field(init=False)
    spo2_0: float = field(init=False)
    rr0: float = field(init=False)
    rise_sbp: float = field(init=False)
    rise_dbp: float = field(init=False)
    rise_hr: float = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.hr0 = float(np.clip(rng.normal(72, 7), 58, 88))
        self.sbp0 = float(np.clip(rng.normal(120, 7), 104, 128))
        self.dbp0 = float(np.clip(self.sbp0 * 0.63 + rng.normal(0, 3), 62, 80))
        self.spo2_0 = float(rng.uniform(96.5, 98.8))
        self.rr0 = float(np.clip(rng.normal(14, 1.5), 11, 18))
        # mostly mild rises; the calm patient stays well inside every limit
        self.rise_sbp = float(np.clip(rng.normal(14, 5), 4, min(24.0, 148 - self.sbp0)))
        self.rise_dbp = float(np.clip(self.rise_sbp * 0.65 + rng.normal(0, 2), 2, 16))
        self.rise_hr = float(np.clip(rng.normal(8, 3), 0, 16))
        self._noise = np.random.default_rng(self.seed + 1)

    @property
    def cuff_interval_s(self) -> int:
        return PROFILES[self.protocol].cuff_interval_s

    def drug_effect(self, t: float) -> float:
        """0..1: the size of the BP/HR response at t seconds into the session."""
        since = (t - self.dose_at_s) / 60.0
        if since <= 2:
            return 0.0
        peak = PEAK_MIN[self.protocol]
        if since <= peak:
            return math.sin(0.5 * math.pi * (since - 2) / (peak - 2)) ** 2
        return math.exp(-(since - peak) / 50.0)  # eases back over 1-2 h

    def sample(self, t: float) -> dict[str, float]:
        """The monitor's values at t (whole seconds): HR and SpO2 every second,
        RR every few seconds, BP on cuff cycles only."""
        n = self._noise
        effect = self.drug_effect(t)
        drift = math.sin(t / 900.0 + self.seed) * 1.5
        ev = self.scenario.at(t - self.dose_at_s)
        hr = self.hr0 + self.rise_hr * effect + drift + n.normal(0, 1.5)
        spo2 = self.spo2_0 + n.normal(0, 0.4)
        rr = self.rr0 + n.normal(0, 0.7)
        if ev.hr is not None:
            hr = ev.hr + n.normal(0, 1.0)
        if ev.spo2 is not None:
            spo2 = ev.spo2 + n.normal(0, 0.3)
        if ev.rr is not None:
            rr = ev.rr + n.normal(0, 0.2)
        out: dict[str, float] = {
            "hr": round(float(np.clip(hr, 25, 220))),
            "spo2": round(float(np.clip(spo2, 60, 100))),
        }
        if int(t) % RR_EVERY_S == 0:
            out["rr"] = round(float(np.clip(rr, 3, 40)))
        if int(t) % self.cuff_interval_s == 0:
            sbp = self.sbp0 + self.rise_sbp * effect + n.normal(0, 3)
            dbp = self.dbp0 + self.rise_dbp * effect + n.normal(0, 2)
            if ev.sbp is not None:
                sbp = ev.sbp + n.normal(0, 2)
            if ev.dbp is not None:
                dbp = ev.dbp + n.normal(0, 1.5)
            sbp_i = round(float(np.clip(sbp, 60, 260)))
            dbp_i = round(float(np.clip(dbp, 35, min(180, sbp_i - 15))))
            out.update(sbp=sbp_i, dbp=dbp_i, map=round((sbp_i + 2 * dbp_i) / 3))
        return out
