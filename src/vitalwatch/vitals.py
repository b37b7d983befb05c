"""The vital signs VitalWatch knows: names, units, plausible ranges, codes.

One table that ingest validation, the alarm engine, the dashboard and the
reports all read, so that a metric (and a protocol) is described in exactly
one place. Plain data, standard library only: the engine may import it.
Numbers come from docs/clinical-defaults.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

Metric = Literal["hr", "sbp", "dbp", "map", "spo2", "rr"]

#: Column order used everywhere a sample is an array row (engine, storage).
METRICS: Final[tuple[Metric, ...]] = ("hr", "sbp", "dbp", "map", "spo2", "rr")
METRIC_INDEX: Final[dict[str, int]] = {m: i for i, m in enumerate(METRICS)}


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """What a nurse and a device integrator need to know about one metric."""

    name: Metric
    label: str  # as a nurse reads it on a monitor
    unit: str  # as printed next to the number
    plausible_low: float  # below: not a reading but a device error (422)
    plausible_high: float
    clear_margin: float  # hysteresis: how far back inside a limit to clear
    loinc: str
    ucum: str
    mdc: str


METRIC_INFO: Final[dict[str, MetricInfo]] = {
    "hr": MetricInfo("hr", "HR", "/min", 20, 300, 5, "8867-4", "/min", "147842"),
    "sbp": MetricInfo("sbp", "SBP", "mmHg", 40, 300, 5, "8480-6", "mm[Hg]", "150021"),
    "dbp": MetricInfo("dbp", "DBP", "mmHg", 15, 200, 5, "8462-4", "mm[Hg]", "150022"),
    "map": MetricInfo("map", "MAP", "mmHg", 20, 250, 5, "8478-0", "mm[Hg]", "150023"),
    "spo2": MetricInfo("spo2", "SpO2", "%", 50, 100, 2, "59408-5", "%", "150456"),
    "rr": MetricInfo("rr", "RR", "/min", 0, 80, 2, "9279-1", "/min", "151562"),
}


def whole(v: float) -> int:
    """A value in whole units rounded half up, as a monitor shows it (a baseline
    median of 114.5 mmHg reads 115); Python's round() and format() round half to
    even (114)."""
    return math.floor(v + 0.5)


def whole_with_unit(metric: str, v: float) -> str:
    """ "115 mmHg", "72/min", "97%": a whole value with its metric's unit."""
    unit = METRIC_INFO[metric].unit
    return f"{whole(v)}{unit}" if unit in ("%", "/min") else f"{whole(v)} {unit}"


Protocol = Literal["ketamine-iv", "ketamine-im", "esketamine-in", "custom"]
PROTOCOLS: Final[tuple[Protocol, ...]] = ("ketamine-iv", "ketamine-im", "esketamine-in", "custom")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolProfile:
    """What a protocol means for monitoring (clinical-defaults.md "Protocol profiles")."""

    name: Protocol
    label: str
    observation_min: int | None  # minimum observation after the (last) dose
    dosing_min: int  # how long dosing itself takes (IV infusion: 40 min)
    cuff_interval_s: int  # BP interval while dosing and at the peak (the shortest)
    bp_check_after_dose_s: int | None  # a BP reading expected at about this time
    predose_bp_advisory: tuple[float, float] | None  # (sbp, dbp) above: review first
    bp_before_s: int = 900  # BP interval before the dose
    bp_recovery_s: int = 900  # BP interval in recovery
    peak_min: int = 30  # the peak lasts this long after dosing (`dosing_min`) ends

    def bp_interval_at(self, first_dose_at: float | None, t: float) -> int:
        """The BP interval of the phase at `t` (epoch s): before the dose, dosing
        and peak (`dosing_min` + `peak_min` from the first dose), recovery."""
        if first_dose_at is None or t < first_dose_at:
            return self.bp_before_s
        if t < first_dose_at + (self.dosing_min + self.peak_min) * 60:
            return self.cuff_interval_s
        return self.bp_recovery_s

    def bp_phase_at(self, first_dose_at: float | None, t: float) -> str:
        if first_dose_at is None or t < first_dose_at:
            return "before the dose"
        if t < first_dose_at + (self.dosing_min + self.peak_min) * 60:
            return "dosing and peak"
        return "recovery"


PROFILES: Final[dict[str, ProtocolProfile]] = {
    "ketamine-iv": ProtocolProfile(
        name="ketamine-iv",
        label="Ketamine IV infusion",
        observation_min=60,
        dosing_min=40,
        cuff_interval_s=300,
        bp_check_after_dose_s=None,
        predose_bp_advisory=None,
        bp_before_s=300,
        bp_recovery_s=900,
        peak_min=20,
    ),
    "ketamine-im": ProtocolProfile(
        name="ketamine-im",
        label="Ketamine IM injection",
        observation_min=90,
        dosing_min=0,
        cuff_interval_s=600,
        bp_check_after_dose_s=None,
        predose_bp_advisory=None,
        bp_before_s=600,
        bp_recovery_s=900,
        peak_min=30,
    ),
    "esketamine-in": ProtocolProfile(
        name="esketamine-in",
        label="Esketamine nasal spray",
        observation_min=120,
        dosing_min=10,
        cuff_interval_s=900,
        bp_check_after_dose_s=40 * 60,
        predose_bp_advisory=(140.0, 90.0),
        bp_before_s=900,
        bp_recovery_s=1800,
        peak_min=50,
    ),
    "custom": ProtocolProfile(
        name="custom",
        label="Custom protocol",
        observation_min=None,
        dosing_min=0,
        cuff_interval_s=900,
        bp_check_after_dose_s=None,
        predose_bp_advisory=None,
    ),
}
