"""What an alarm says to a nurse, rebuilt from its conditions whenever they
change, so the text stays true as the values move ("SpO2 84% below 88% for
2 min (lowest 82%)", "BP 204/122: SBP above 180, DBP above 110, SBP +82 over
baseline 122")."""

from __future__ import annotations

from collections.abc import Mapping

from vitalwatch.alarms.engine.lifecycle import Alarm, Condition
from vitalwatch.vitals import METRIC_INFO

_ORDER = {"sbp": 0, "dbp": 1, "map": 2}


def fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"


def fmt_of(metric: str | None, v: float) -> str:
    """Pressures in whole mmHg, as monitors show them; others as measured."""
    return f"{v:.0f}" if metric in ("sbp", "dbp", "map") else fmt(v)


def with_unit(metric: str, v: float) -> str:
    unit = METRIC_INFO[metric].unit
    return f"{fmt_of(metric, v)}{unit}" if unit in ("%", "/min") else f"{fmt_of(metric, v)} {unit}"


def duration(seconds: float) -> str:
    s = int(seconds)
    if s < 120:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


def _label(c: Condition) -> str:
    return METRIC_INFO[c.metric].label if c.metric else c.rule


def _is_rise(c: Condition) -> bool:
    return c.rule.endswith("_baseline_rise")


def _limit_phrase(c: Condition, units: bool) -> str:
    """ "above 180 mmHg" / "+82 over baseline 122"."""
    assert c.metric is not None
    if _is_rise(c) and c.baseline is not None and c.value is not None:
        rise = fmt_of(c.metric, c.value - c.baseline)
        return f"+{rise} over baseline {fmt_of(c.metric, c.baseline)}"
    where = "above" if c.high else "below"
    limit = c.limit if c.limit is not None else float("nan")
    return f"{where} {with_unit(c.metric, limit) if units else fmt_of(c.metric, limit)}"


def _worst(c: Condition, named: bool) -> str:
    """ " (peak 210)" when the worst value differs from the current one."""
    if c.worst is None or c.value is None or abs(c.worst - c.value) < 0.5 or c.metric is None:
        return ""
    word = "peak" if c.high else "lowest"
    name = f"{_label(c)} " if named else ""
    return f" ({word} {name}{with_unit(c.metric, c.worst)})"


def _beyond(c: Condition) -> bool:
    """The current value is past the limit (inside the clearing margin it is not,
    though the condition has not cleared yet)."""
    if c.value is None or c.limit is None:
        return True
    if _is_rise(c):
        return c.value >= c.limit
    return c.value > c.limit if c.high else c.value < c.limit


def _held(c: Condition) -> str:
    if c.since is None or c.value_at is None or c.value_at - c.since < 1:
        return ""
    return f" for {duration(c.value_at - c.since)}"


def physiological(alarm: Alarm, latest: Mapping[str, float]) -> str:
    """The message of a limit problem (bp, hr, spo2, rr) from its conditions."""
    main = alarm.primary()
    if main is None or main.metric is None:
        return alarm.message
    active = sorted(
        (c for c in alarm.conditions.values() if c.priority is not None),
        key=lambda c: (_is_rise(c), _ORDER.get(c.metric or "", 9)),
    )
    if alarm.rule == "bp":
        return _bp(alarm, main, active, latest)
    value = with_unit(main.metric, main.value) if main.value is not None else "?"
    if not active:
        return f"{_label(main)} now {value}: was {_limit_phrase(main, True)}{_worst(main, False)}"
    if len(active) == 1:
        c = active[0]
        if not _beyond(c):
            return f"{_label(c)} now {value}: was {_limit_phrase(c, True)}{_worst(c, False)}"
        if _is_rise(c):
            return f"{_label(c)} {value}, {_limit_phrase(c, True)}"
        return f"{_label(c)} {value} {_limit_phrase(c, True)}{_held(c)}{_worst(c, False)}"
    parts = [
        ("" if _beyond(c) else "was ") + _limit_phrase(c, True) + ("" if _is_rise(c) else _held(c))
        for c in active
    ]
    return f"{_label(main)} {value}: {', '.join(parts)}{_worst(main, False)}"


def _bp(alarm: Alarm, main: Condition, active: list[Condition], latest: Mapping[str, float]) -> str:
    sbp, dbp = latest.get("sbp"), latest.get("dbp")
    if sbp is not None and dbp is not None:
        head = f"BP {fmt_of('sbp', sbp)}/{fmt_of('dbp', dbp)}"
    else:
        value = fmt_of(main.metric, main.value) if main.value is not None else "?"
        head = f"{_label(main)} {value}"
    if not active:
        phrase = f"{_label(main)} {_limit_phrase(main, False)}"
        return f"{head} now: was {phrase}{_worst(main, True)}"
    parts = []
    for c in active:
        shown = f" {fmt_of('map', c.value)}" if c.metric == "map" and c.value is not None else ""
        was = "" if _beyond(c) else " was"
        parts.append(f"{_label(c)}{shown}{was} {_limit_phrase(c, False)}")
    return f"{head}: {', '.join(parts)}{_worst(main, True)}"


_TECHNICAL = {"offline": "Monitor offline", "moaa_s_low": "MOAA/S at or below 2"}


def condition_note(c: Condition, tier: str | None) -> str:
    """One condition's log line: "SBP above 180 mmHg (high)", "SBP above 160 mmHg: ended"."""
    if c.metric is None or (c.limit is None and not _is_rise(c)):
        head, _, metric = c.rule.partition(":")
        if head == "no_signal" and metric in METRIC_INFO:
            what = f"No {METRIC_INFO[metric].label} signal"
        else:
            what = _TECHNICAL.get(c.rule, c.rule.replace("_", " ").capitalize())
        return f"{what} ({tier})" if tier else f"{what}: ended"
    text = f"{_label(c)} {_limit_phrase(c, True)}"
    return f"{text} ({tier})" if tier else f"{text}: ended"
