"""Which alarms a session has switched off, compared with its protocol's defaults.

IEC 60601-1-8 asks for an "alarm off" indicator: a limit the protocol sets
that the session has removed, a baseline-rise alarm removed, or an alarm
delay (sustain time) longer than the clinic accepts is an alarm that cannot
sound. Pure data, no I/O: the session view, the timeline and the tiles share
one definition.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from vitalwatch.sessions.thresholds import Thresholds, defaults_for
from vitalwatch.vitals import METRIC_INFO, METRICS

OffLimit = Literal["low", "high", "critical_low", "critical_high", "for_s", "baseline_rise"]

_LIMIT_WORDS: dict[str, str] = {
    "low": "low",
    "high": "high",
    "critical_low": "high-priority low",
    "critical_high": "high-priority high",
    "baseline_rise": "rise over baseline",
}
_RISE_METRICS = ("sbp", "dbp", "hr")


class AlarmOff(BaseModel):
    """One alarm that cannot sound: `limit` removed (or `for_s` over the maximum)."""

    metric: str
    limit: OffLimit
    default: float | None  # the protocol's value for it
    value: float | None  # in force now (the long alarm delay; null for a removed limit)
    label: str  # as the timeline says it: "SpO2 low", "HR alarm delay 600 s"


def _label(metric: str, limit: str, value: float | None) -> str:
    name = METRIC_INFO[metric].label
    if limit == "for_s":
        return f"{name} alarm delay {value:g} s"
    return f"{name} {_LIMIT_WORDS[limit]}"


def alarms_off(protocol: str, thresholds: Thresholds, max_sustain_s: float) -> list[AlarmOff]:
    """The alarms of `thresholds` that are off compared with `protocol`'s defaults."""
    defaults = defaults_for(protocol)
    out: list[AlarmOff] = []
    for metric in METRICS:
        now, base = getattr(thresholds, metric), getattr(defaults, metric)
        for limit in ("critical_low", "low", "high", "critical_high"):
            default = getattr(base, limit)
            if default is not None and getattr(now, limit) is None:
                out.append(
                    AlarmOff(
                        metric=metric,
                        limit=limit,
                        default=default,
                        value=None,
                        label=_label(metric, limit, None),
                    )
                )
        if now.for_s is not None and now.for_s > max_sustain_s:
            out.append(
                AlarmOff(
                    metric=metric,
                    limit="for_s",
                    default=base.for_s,
                    value=now.for_s,
                    label=_label(metric, "for_s", now.for_s),
                )
            )
    for rise_metric in _RISE_METRICS:
        default = getattr(defaults.baseline_rise, rise_metric)
        if default is not None and getattr(thresholds.baseline_rise, rise_metric) is None:
            out.append(
                AlarmOff(
                    metric=rise_metric,
                    limit="baseline_rise",
                    default=default,
                    value=None,
                    label=_label(rise_metric, "baseline_rise", None),
                )
            )
    return out


def timeline_details(
    before: list[AlarmOff], after: list[AlarmOff], reason: str | None
) -> list[tuple[str, str]]:
    """Timeline entries (kind, detail) for what a change switched off and back on."""

    def key(a: AlarmOff) -> tuple[str, str]:
        return (a.metric, a.limit)

    was, now = {key(a) for a in before}, {key(a) for a in after}
    out: list[tuple[str, str]] = []
    switched_off = [a.label for a in after if key(a) not in was]
    if switched_off:
        why = reason.strip() if reason and reason.strip() else "no reason given"
        out.append(("alarm_off", f"alarm off: {', '.join(switched_off)} ({why})"))
    back_on = [a.label for a in before if key(a) not in now]
    if back_on:
        out.append(("alarm_on", f"alarm back on: {', '.join(back_on)}"))
    return out
