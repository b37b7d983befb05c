"""BICEPS states as plain values: a numeric metric's value, an alert condition.

Read on sdc11073's threads, where its callbacks fire; what leaves here holds
no library object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Validities whose value is a measurement (BICEPS MeasurementValidity).
VALID = frozenset({"Vld", "Vldated"})
_PRIORITY = {"Hi": "high", "Me": "medium", "Lo": "low"}
_KIND = {"Phy": "physiological", "Tec": "technical", "Oth": "advisory"}


@dataclass(frozen=True, slots=True)
class Reading:
    """One numeric metric's value as the provider determined it."""

    handle: str
    code: str  # the metric's MDC code (its descriptor's Type)
    unit: str  # the MDC dimension code (its descriptor's Unit)
    value: float | None
    ts_ms: int | None  # the determination time
    validity: str  # Vld, Vldated, Qst, Calib, Inv, NA...


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert condition of the provider's alert system, as it stands."""

    handle: str
    code: str
    label: str
    kind: str  # physiological | technical | advisory
    priority: str | None  # high | medium | low | None
    present: bool
    ts_ms: int | None
    source: str | None  # the handle of the metric it is about
    source_code: str | None


def _code(coded: Any) -> str:
    return str(coded.Code) if coded is not None and coded.Code is not None else ""


def _label(coded: Any, fallback: str) -> str:
    for text in getattr(coded, "ConceptDescription", None) or []:
        if text.text:
            return str(text.text).strip()
    return fallback


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(float(seconds) * 1000)


def reading_of(mdib: Any, state: Any) -> Reading | None:
    """A numeric metric state's value (None for any other state)."""
    if type(state).__name__ != "NumericMetricStateContainer":
        return None
    descriptor = mdib.descriptions.handle.get_one(state.DescriptorHandle, allow_none=True)
    if descriptor is None:
        return None
    mv = state.MetricValue
    if mv is None:
        return None
    validity = mv.MetricQuality.Validity if mv.MetricQuality is not None else None
    return Reading(
        handle=state.DescriptorHandle,
        code=_code(descriptor.Type),
        unit=_code(descriptor.Unit),
        value=None if mv.Value is None else float(mv.Value),
        ts_ms=_ms(mv.DeterminationTime),
        validity=str(getattr(validity, "value", validity) or "Vld"),
    )


def alert_of(mdib: Any, state: Any) -> Alert | None:
    """An alert condition state (None for any other state)."""
    if not getattr(state, "is_alert_condition", False):
        return None
    d = mdib.descriptions.handle.get_one(state.DescriptorHandle, allow_none=True)
    if d is None:
        return None
    source = d.Source[0] if d.Source else None
    source_d = mdib.descriptions.handle.get_one(source, allow_none=True) if source else None
    priority = state.ActualPriority or d.Priority
    on = str(getattr(state.ActivationState, "value", state.ActivationState)) == "On"
    return Alert(
        handle=state.DescriptorHandle,
        code=_code(d.Type),
        label=_label(d.Type, _code(d.Type) or state.DescriptorHandle),
        kind=_KIND.get(str(getattr(d.Kind, "value", d.Kind)), "advisory"),
        priority=_PRIORITY.get(str(getattr(priority, "value", priority))),
        present=bool(state.Presence) and on,
        ts_ms=_ms(state.DeterminationTime),
        source=source,
        source_code=_code(source_d.Type) if source_d is not None else None,
    )
