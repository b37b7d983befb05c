"""Alarm limits in force for a session: the contract's threshold shape.

Protocol profiles give the defaults of docs/clinical-defaults.md; a session may
override them at creation and a nurse may PATCH them (merged field by field).
Pure data and validation, no I/O; the API, the sessions and the reports share
one definition (the engine reads them through its own `Limits` protocol, and
the protocol profiles are in vitals.py).
"""

from __future__ import annotations

import itertools
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vitalwatch.vitals import METRIC_INFO, METRICS


class _LimitFields(BaseModel):
    """The fields of one metric's limits, whole (MetricLimits) or sent (the patch)."""

    model_config = ConfigDict(extra="forbid")

    low: float | None = None
    high: float | None = None
    critical_low: float | None = None
    critical_high: float | None = None
    for_s: float | None = Field(default=None, ge=0, le=3600)


class MetricLimits(_LimitFields):
    """Limits for one metric; a null field means "no such limit"."""

    def ordered(self) -> list[tuple[str, float]]:
        """The limits present, in the order critical_low < low < high < critical_high."""
        names = ("critical_low", "low", "high", "critical_high")
        return [(n, v) for n in names if (v := getattr(self, n)) is not None]


class BaselineRise(BaseModel):
    """Rise above the pre-dose baseline that raises an alarm (null: off)."""

    model_config = ConfigDict(extra="forbid")

    sbp: float | None = Field(default=None, gt=0, le=200)
    dbp: float | None = Field(default=None, gt=0, le=150)
    hr: float | None = Field(default=None, gt=0, le=200)


class Thresholds(BaseModel):
    """The complete limits in force for a session (every metric present)."""

    model_config = ConfigDict(extra="forbid")

    hr: MetricLimits = MetricLimits()
    sbp: MetricLimits = MetricLimits()
    dbp: MetricLimits = MetricLimits()
    map: MetricLimits = MetricLimits()
    spo2: MetricLimits = MetricLimits()
    rr: MetricLimits = MetricLimits()
    baseline_rise: BaselineRise = BaselineRise()

    @model_validator(mode="after")
    def _check(self) -> Thresholds:
        validate_limits(self)
        return self


class MetricLimitsPatch(_LimitFields):
    """Partial limits: only the fields sent replace those in force."""


class ThresholdsPatch(BaseModel):
    """Overrides at session creation or by PATCH: any subset of the shape."""

    model_config = ConfigDict(extra="forbid")

    hr: MetricLimitsPatch | None = None
    sbp: MetricLimitsPatch | None = None
    dbp: MetricLimitsPatch | None = None
    map: MetricLimitsPatch | None = None
    spo2: MetricLimitsPatch | None = None
    rr: MetricLimitsPatch | None = None
    baseline_rise: BaselineRise | None = None


class ThresholdError(ValueError):
    """Limits that contradict each other; `loc` names the offending field."""

    def __init__(self, loc: tuple[str, ...], msg: str, other: str | None = None) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg
        self.other = other  # the other field of a contradicting pair


def validate_limits(t: Thresholds) -> None:
    """Each limit inside the metric's plausible range and strictly ordered."""
    for metric in METRICS:
        info = METRIC_INFO[metric]
        limits: MetricLimits = getattr(t, metric)
        present = limits.ordered()
        for name, value in present:
            if not info.plausible_low <= value <= info.plausible_high:
                raise ThresholdError(
                    (metric, name),
                    f"{metric}.{name} {value:g} is outside the plausible range "
                    f"{info.plausible_low:g}-{info.plausible_high:g} {info.unit}",
                )
        for (lo_name, lo), (hi_name, hi) in itertools.pairwise(present):
            if not lo < hi:
                raise ThresholdError(
                    (metric, hi_name),
                    f"{metric}.{lo_name} ({lo:g}) must be below {metric}.{hi_name} ({hi:g})",
                    other=lo_name,
                )


def merge(base: Thresholds, patch: ThresholdsPatch) -> Thresholds:
    """The limits in force after applying `patch`: fields sent replace, others stay.

    A field sent as null removes that limit. Raises ThresholdError when the
    result is contradictory, so nothing half-applied is ever stored.
    """
    data = base.model_dump()
    for section, value in patch.model_dump(exclude_unset=True).items():
        if value is None:
            continue
        sent = getattr(patch, section).model_dump(exclude_unset=True)
        data[section].update(sent)
    return Thresholds.model_validate(data)


def _limits(
    low: float | None = None,
    high: float | None = None,
    critical_low: float | None = None,
    critical_high: float | None = None,
    for_s: float | None = None,
) -> dict[str, float | None]:
    return {
        "low": low,
        "high": high,
        "critical_low": critical_low,
        "critical_high": critical_high,
        "for_s": for_s,
    }


#: clinical-defaults.md "Default absolute limits": for_s 0 means the first reading counts.
DEFAULT_THRESHOLDS: Final[dict[str, Any]] = {
    "hr": _limits(50, 120, 40, 140, 10),
    "sbp": _limits(90, 160, 80, 180, 0),
    "dbp": _limits(None, 100, None, 110, 0),
    "map": _limits(65, None, 60, None, 0),
    "spo2": _limits(92, None, 88, None, 15),
    "rr": _limits(8, 24, 6, 30, 15),
    "baseline_rise": {"sbp": 40, "dbp": 25, "hr": 30},
}


def defaults_for(protocol: str) -> Thresholds:
    """The clinic's default limits for a protocol (the same absolute limits for all)."""
    del protocol  # all protocols share clinical-defaults.md's absolute limits today
    return Thresholds.model_validate(DEFAULT_THRESHOLDS)
