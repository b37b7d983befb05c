"""A patient on a monitor during a ketamine or esketamine session.

Pure and seeded: the same seed gives the same stream. Each patient has its
own baseline and noise; after the dose, blood pressure and heart rate rise by
a per-patient amount, peaking about 40 minutes after esketamine, at the end
of a 40-minute IV infusion, or about 20 minutes after an IM injection, and
easing back over 1-2 hours. The size of the rise is drawn per patient as
clinical-defaults.md reports it (Gen Hosp Psychiatry 2024: mean +16/+11 mmHg, severe
hypertension in ~1% of sessions; esketamine trials count +40/+25 mmHg as a
significant rise): mostly mild, some large, rarely severe.

Noise is an Ornstein-Uhlenbeck (AR(1)) drift per metric plus a small
measurement error, both bounded, so a mild patient provably stays inside
every default limit. Whether a large or severe response crosses a limit is
read off the patient's own cuff readings (`expected_alarms`), so what the
runner expects is what the service must raise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulators.protocols import BP_LIMITS, PROTOCOLS
from simulators.scenarios import ExpectedAlarm, Scenario

#: When the drug effect peaks, minutes after the dose, per protocol.
PEAK_MIN = {"ketamine-iv": 40.0, "ketamine-im": 20.0, "esketamine-in": 40.0, "custom": 30.0}
RR_EVERY_S = 4
#: The cuff's first reading comes this long after the session starts, so no
#: reading falls on a whole-minute dose time or baseline-window edge.
CUFF_PHASE_S = 30
#: Chance of each drawn response size (the rest is mild).
P_LARGE = 0.08
P_SEVERE = 0.01
#: The pre-dose baseline window (clinical-defaults.md: 10 min before the first dose).
BASELINE_WINDOW_S = 600.0
_PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2}


def _bounded_normal(rng: np.random.Generator, sd: float, k: float = 2.5) -> float:
    """A normal draw cut at k standard deviations: noise with a known worst case."""
    return _clip(float(rng.normal(0.0, sd)), -k * sd, k * sd)


def _clip(x: float, low: float, high: float) -> float:
    """np.clip for one number, without numpy's per-call cost (1 Hz x 2 h x rooms)."""
    return low if x < low else high if x > high else x


@dataclass
class Drift:
    """An Ornstein-Uhlenbeck drift: correlated over `tau_s`, kept within `bound`."""

    sd: float
    tau_s: float
    bound: float
    x: float = 0.0
    t: float | None = None

    def at(self, t: float, rng: np.random.Generator) -> float:
        """The drift at time t (times asked in increasing order)."""
        dt = 0.0 if self.t is None else max(0.0, t - self.t)
        self.t = t
        a = math.exp(-dt / self.tau_s)
        step = self.sd * math.sqrt(1.0 - a * a) * float(rng.normal())
        self.x = _clip(self.x * a + step, -self.bound, self.bound)
        return self.x


def _drifts() -> dict[str, Drift]:
    """Per-metric drift. Worst cases (bound + 2.5 sd of measurement error) are
    what keep a mild patient inside limits: HR 7.5, SpO2 1.75, RR 3.25,
    SBP 9, DBP 6 (see `_draw_rise`)."""
    return {
        "hr": Drift(sd=2.0, tau_s=180.0, bound=5.0),
        "spo2": Drift(sd=0.4, tau_s=120.0, bound=1.0),
        "rr": Drift(sd=0.8, tau_s=120.0, bound=2.0),
        "sbp": Drift(sd=2.5, tau_s=1800.0, bound=5.0),
        "dbp": Drift(sd=1.5, tau_s=1800.0, bound=3.0),
    }


#: Measurement error (standard deviations; cut at 2.5 sd).
_ERROR_SD = {"hr": 1.0, "spo2": 0.3, "rr": 0.5, "sbp": 1.6, "dbp": 1.2}


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
    response: str = field(init=False)  # "mild" | "large" | "severe"
    rise_sbp: float = field(init=False)
    rise_dbp: float = field(init=False)
    rise_hr: float = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.hr0 = float(np.clip(rng.normal(72, 7), 60, 88))
        self.sbp0 = float(np.clip(rng.normal(118, 7), 104, 128))
        self.dbp0 = float(np.clip(self.sbp0 * 0.63 + rng.normal(0, 3), 62, 78))
        self.spo2_0 = float(rng.uniform(96.5, 98.8))
        self.rr0 = float(np.clip(rng.normal(14, 1.5), 12, 18))
        self.response = self._draw_response(rng)
        self._draw_rise(rng)
        self._noise = np.random.default_rng(self.seed + 1)
        self._drift = _drifts()
        self._bp_noise = np.random.default_rng([self.seed, 2])
        self._bp_drift = _drifts()
        self._bp: list[tuple[float, float]] = []  # noise of cuff reading k, in order

    def _draw_response(self, rng: np.random.Generator) -> str:
        u = float(rng.uniform())  # drawn for every patient, so seeds stay aligned
        if self.scenario.response != "drawn":
            return self.scenario.response
        return "severe" if u < P_SEVERE else "large" if u < P_SEVERE + P_LARGE else "mild"

    def _draw_rise(self, rng: np.random.Generator) -> None:
        """The rise at the peak, by response size.

        mild: SBP +4..20 (peak <= 148), DBP +2..11, which with the noise's worst
        case stays below +40/+25 and 160/100; large: the reading nearest the
        peak about +44..58 above baseline, SBP kept under 170, DBP under 102;
        severe: that reading at SBP 191-208. HR rises at most 12/min in all,
        so HR alarms come only from a scenario's event."""
        a, b, c = (float(x) for x in rng.normal(size=3))
        reach = self.peak_reading_effect()
        if self.response == "mild":
            self.rise_sbp = float(np.clip(13 + 4 * a, 4, min(20.0, 148 - self.sbp0)))
            self.rise_dbp = float(np.clip(self.rise_sbp * 0.75 + 2 * b, 2, 11))
            self.rise_hr = float(np.clip(8 + 3 * c, 0, 12))
            return
        if self.response == "large":
            target = float(np.clip(51 + 4 * a, 44, 58))
            self.rise_sbp = min(target, 170 - self.sbp0) / reach
            self.rise_dbp = float(np.clip(0.65 * self.rise_sbp + 3 * b, 20, 102 - self.dbp0))
        else:
            peak = float(np.clip(199 + 4 * a, 191, 208))
            self.rise_sbp = (peak - self.sbp0) / reach
            self.rise_dbp = float(np.clip(0.6 * self.rise_sbp + 3 * b, 30, 125 - self.dbp0))
        self.rise_hr = float(np.clip(10 + 2 * c, 4, 12))

    @property
    def cuff_interval_s(self) -> int:
        return PROTOCOLS[self.protocol].cuff_interval_s

    def cuff_times(self, until_s: float) -> range:
        """The simulated seconds at which the cuff measures, up to `until_s`."""
        return range(CUFF_PHASE_S, max(CUFF_PHASE_S, math.ceil(until_s)), self.cuff_interval_s)

    def peak_reading_effect(self) -> float:
        """The largest drug effect any cuff reading sees (< 1 when no reading
        falls exactly on the peak, e.g. esketamine's 15-min cycle)."""
        horizon = self.dose_at_s + (PEAK_MIN[self.protocol] + 60) * 60
        return max(0.05, max(self.drug_effect(t) for t in self.cuff_times(horizon)))

    def drug_effect(self, t: float) -> float:
        """0..1: the size of the BP/HR response at t seconds into the session."""
        since = (t - self.dose_at_s) / 60.0
        if since <= 2:
            return 0.0
        peak = PEAK_MIN[self.protocol]
        if since <= peak:
            return math.sin(0.5 * math.pi * (since - 2) / (peak - 2)) ** 2
        return math.exp(-(since - peak) / 50.0)  # eases back over 1-2 h

    def _bp_error(self, k: int) -> tuple[float, float]:
        """The noise of cuff reading k, the same whatever order readings are asked in."""
        interval = self.cuff_interval_s
        while len(self._bp) <= k:
            t = CUFF_PHASE_S + len(self._bp) * interval
            n, d = self._bp_noise, self._bp_drift
            self._bp.append(
                (
                    d["sbp"].at(t, n) + _bounded_normal(n, _ERROR_SD["sbp"]),
                    d["dbp"].at(t, n) + _bounded_normal(n, _ERROR_SD["dbp"]),
                )
            )
        return self._bp[k]

    def bp_reading(self, t: int) -> tuple[int, int, int]:
        """(sbp, dbp, map) the cuff reads at cuff time t."""
        k = (t - CUFF_PHASE_S) // self.cuff_interval_s
        e_sbp, e_dbp = self._bp_error(k)
        effect = self.drug_effect(t)
        sbp = self.sbp0 + self.rise_sbp * effect + e_sbp
        dbp = self.dbp0 + self.rise_dbp * effect + e_dbp
        sbp_i = round(float(np.clip(sbp, 60, 260)))
        dbp_i = round(float(np.clip(dbp, 35, min(180, sbp_i - 15))))
        return sbp_i, dbp_i, round((sbp_i + 2 * dbp_i) / 3)

    def sample(self, t: float) -> dict[str, float]:
        """The monitor's values at t (whole seconds, asked in increasing order):
        HR and SpO2 every second, RR every few seconds, BP on cuff cycles only."""
        n, d = self._noise, self._drift
        effect = self.drug_effect(t)
        ev = self.scenario.at(t - self.dose_at_s)
        hr = self.hr0 + self.rise_hr * effect + d["hr"].at(t, n)
        spo2 = self.spo2_0 + d["spo2"].at(t, n)
        rr = self.rr0 + d["rr"].at(t, n)
        sd = _ERROR_SD
        hr = hr + _bounded_normal(n, sd["hr"]) if ev.hr is None else ev.hr + n.normal(0, 1.0)
        spo2 = (
            spo2 + _bounded_normal(n, sd["spo2"]) if ev.spo2 is None else ev.spo2 + n.normal(0, 0.3)
        )
        rr = rr + _bounded_normal(n, sd["rr"]) if ev.rr is None else ev.rr + n.normal(0, 0.2)
        out: dict[str, float] = {
            "hr": round(_clip(hr, 25, 220)),
            "spo2": round(_clip(spo2, 60, 100)),
        }
        if int(t) % RR_EVERY_S == 0:
            out["rr"] = round(_clip(rr, 3, 40))
        cuff = int(t) >= CUFF_PHASE_S and (int(t) - CUFF_PHASE_S) % self.cuff_interval_s == 0
        if ev.sbp is not None and ev.dbp is not None:
            if cuff or int(t - self.dose_at_s) % 60 == 0:
                out.update(sbp=ev.sbp, dbp=ev.dbp, map=round((ev.sbp + 2 * ev.dbp) / 3))
        elif cuff:
            sbp, dbp, map_ = self.bp_reading(int(t))
            out.update(sbp=sbp, dbp=dbp, map=map_)
        return out

    def expected_alarms(self, until_s: float, skew_s: float = 0.0) -> tuple[ExpectedAlarm, ...]:
        """What the service must raise for this patient up to `until_s` under the
        default limits: the scenario's events, plus the BP alarms the drawn
        response reaches, read off the patient's own cuff readings with
        clinical-defaults.md's rules (baseline: the median of the readings in the 10 min
        before the dose; a BP limit counts from the first reading past it).
        `skew_s`: the monitor's clock error, which moves readings against the
        baseline window."""
        times = list(self.cuff_times(until_s))
        readings = {t: self.bp_reading(t) for t in times}
        window = [
            readings[t]
            for t in times
            if self.dose_at_s - BASELINE_WINDOW_S <= t + skew_s < self.dose_at_s
        ]
        found: dict[str, tuple[str, float, float]] = {}  # rule -> (priority, first, top)

        def met(rule: str, priority: str, since_dose: float) -> None:
            old = found.get(rule)
            if old is None:
                found[rule] = (priority, since_dose, since_dose)
            elif _PRIORITY_RANK[priority] > _PRIORITY_RANK[old[0]]:
                found[rule] = (priority, old[1], since_dose)

        for i, metric in enumerate(("sbp", "dbp")):
            limits = BP_LIMITS[metric]
            rise = limits.baseline_rise
            base = float(np.median([r[i] for r in window])) if window else None
            for t in times:
                value, since = readings[t][i], t + skew_s - self.dose_at_s
                if base is not None and since >= 0 and value - round(base, 1) >= rise:
                    met(f"{metric}_baseline_rise", "medium", since)
                for limit, priority in ((limits.high, "medium"), (limits.critical_high, "high")):
                    if limit is not None and value > limit:
                        met(f"{metric}_high", priority, since)
        out = list(self.scenario.expected)
        named = {e.rule for e in out}
        out += [
            ExpectedAlarm(rule, priority, (first, max(first, top) + 1))
            for rule, (priority, first, top) in found.items()
            if rule not in named
        ]
        return tuple(out)
