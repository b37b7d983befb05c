"""The vital signs VitalWatch knows: names, units, plausible ranges, codes.

One table that ingest validation, the alarm engine, the dashboard and the
simulators all read, so that a metric is described in exactly one place.
Numbers come from docs/clinical-defaults.md.
"""

from __future__ import annotations

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

Protocol = Literal["ketamine-iv", "ketamine-im", "esketamine-in", "custom"]
PROTOCOLS: Final[tuple[Protocol, ...]] = ("ketamine-iv", "ketamine-im", "esketamine-in", "custom")


def derived_map(sbp: float, dbp: float) -> float:
    """Mean arterial pressure from a cuff reading, when the device sends none."""
    return (sbp + 2.0 * dbp) / 3.0
