"""Limit changes read from their audit entries: what changed, which way, in words.

An entry of `PATCH /api/v1/sessions/{id}/thresholds` keeps the complete
limits before and after (`old`, `new`) and the reason; what it switched off
or on is worked out with the same definition as the session page's
(sessions/alarms_off.py). Pure data, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, cast

from pydantic import ValidationError

from vitalwatch.reports.schemas import LimitChange, LimitChangeItem, LimitSummary
from vitalwatch.reports.words import limit_label
from vitalwatch.sessions.alarms_off import AlarmOff, alarms_off
from vitalwatch.sessions.thresholds import Thresholds
from vitalwatch.vitals import METRICS

_FIELDS: Final = ("critical_low", "low", "high", "critical_high", "for_s")
_RISES: Final = ("sbp", "dbp", "hr")
_UNITS: Final = {"for_s": " s"}


def _value(v: float | None, limit: str) -> str:
    """A limit's value in words: a removed limit is "off", no alarm delay is "none"."""
    if v is None:
        return "none" if limit == "for_s" else "off"
    return f"{v:g}{_UNITS.get(limit, '')}"


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _pairs(limits: Mapping[str, Any]) -> dict[tuple[str, str], float | None]:
    """(metric, limit) -> value of a stored thresholds object."""
    out: dict[tuple[str, str], float | None] = {}
    for metric in METRICS:
        fields = limits.get(metric) or {}
        for name in _FIELDS:
            out[(metric, name)] = _number(fields.get(name))
    rises = limits.get("baseline_rise") or {}
    for metric in _RISES:
        out[(metric, "baseline_rise")] = _number(rises.get(metric))
    return out


def changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[LimitChangeItem]:
    """Every limit whose value differs between two stored thresholds objects."""
    before, after = _pairs(old), _pairs(new)
    items: list[LimitChangeItem] = []
    for key, was in before.items():
        now = after[key]
        if was != now:
            metric, limit = key
            items.append(
                LimitChangeItem(
                    metric=metric,
                    limit=cast(Any, limit),
                    old=was,
                    new=now,
                    label=f"{limit_label(metric, limit)} {_value(was, limit)} -> "
                    f"{_value(now, limit)}",
                )
            )
    return items


def _off(protocol: str, limits: Mapping[str, Any], max_sustain_s: float) -> list[AlarmOff]:
    try:
        return alarms_off(protocol, Thresholds.model_validate(limits), max_sustain_s)
    except ValidationError:  # not a complete thresholds object: nothing to compare
        return []


def change_of(row: Any, max_sustain_s: float) -> LimitChange:
    """A limit change from its audit row (ts, actor_name, entity_id, detail, room, protocol)."""
    detail: Mapping[str, Any] = row.detail or {}
    old, new = detail.get("old") or {}, detail.get("new") or {}
    was = {(a.metric, a.limit): a.label for a in _off(row.protocol, old, max_sustain_s)}
    now = {(a.metric, a.limit): a.label for a in _off(row.protocol, new, max_sustain_s)}
    reason = detail.get("reason")
    return LimitChange(
        at=row.ts,
        user=row.actor_name,
        session_id=int(row.entity_id),
        room=row.room,
        protocol=row.protocol,
        changes=changed(old, new),
        reason=(reason.strip() or None) if isinstance(reason, str) else None,
        switched_off=[label for key, label in now.items() if key not in was],
        switched_on=[label for key, label in was.items() if key not in now],
    )


def summary(changes: Iterable[LimitChange]) -> list[LimitSummary]:
    """Per limit: how often it was changed and which way, most changed first."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for change in changes:
        for item in change.changes:
            c = counts.setdefault(
                (item.metric, item.limit),
                {"changes": 0, "raised": 0, "lowered": 0, "removed": 0, "added": 0},
            )
            c["changes"] += 1
            if item.new is None:
                c["removed"] += 1
            elif item.old is None:
                c["added"] += 1
            elif item.new > item.old:
                c["raised"] += 1
            else:
                c["lowered"] += 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1]["changes"], kv[0]))
    return [
        LimitSummary(metric=metric, limit=limit, label=limit_label(metric, limit), **c)
        for (metric, limit), c in ordered
    ]
