"""What an alarm says to a nurse, rebuilt from its conditions whenever they
change, so the text stays true as the values move ("SpO2 84% below 88% for
2 min (worst 82%)", "BP 204/122 mmHg: SBP above 180 mmHg, DBP above 110 mmHg,
SBP +82 mmHg over baseline 122 mmHg").

The rules: the first number is the current value (the latest the tile
shows); a worst value is labelled "worst"; the limit quoted is the one the
condition was judged against; a duration is how long the condition has held
up to the latest sample, and the engine words the text again as it goes on;
every number carries its unit.
"""

from __future__ import annotations

from collections.abc import Mapping

from vitalwatch.alarms.engine.lifecycle import Alarm, Condition
from vitalwatch.vitals import METRIC_INFO, whole, whole_with_unit

_ORDER = {"sbp": 0, "dbp": 1, "map": 2}


def fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"


def fmt_of(metric: str | None, v: float) -> str:
    """Pressures in whole mmHg (rounded half up), as monitors show them; others as measured."""
    return str(whole(v)) if metric in ("sbp", "dbp", "map") else fmt(v)


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


def _limit_phrase(c: Condition, beyond: bool) -> str:
    """ "above 180 mmHg"; a rise: "+82 mmHg over baseline 122 mmHg" while the
    value is past it, else the rise it was judged against ("30/min or more
    over baseline 70/min"): never a negative rise. The baseline (a median, so
    114.5 or 71.5) reads in whole units and the rise is counted from what it reads."""
    assert c.metric is not None
    if _is_rise(c) and c.baseline is not None:
        base = whole_with_unit(c.metric, c.baseline)
        if beyond and c.value is not None:
            return f"+{with_unit(c.metric, c.value - whole(c.baseline))} over baseline {base}"
        rise = (c.limit if c.limit is not None else float("nan")) - c.baseline
        return f"{with_unit(c.metric, rise)} or more over baseline {base}"
    where = "above" if c.high else "below"
    limit = c.limit if c.limit is not None else float("nan")
    return f"{where} {with_unit(c.metric, limit)}"


def _worst(c: Condition, named: bool) -> str:
    """ " (worst 210 mmHg)" when the worst value reads differently from the current one."""
    if c.worst is None or c.value is None or c.metric is None:
        return ""
    if fmt_of(c.metric, c.worst) == fmt_of(c.metric, c.value):
        return ""
    name = f"{_label(c)} " if named else ""
    return f" (worst {name}{with_unit(c.metric, c.worst)})"


def _beyond(c: Condition) -> bool:
    """The current value is past the limit (inside the clearing margin it is not,
    though the condition has not cleared yet)."""
    if c.priority is None:
        return False
    if c.value is None or c.limit is None:
        return True
    if _is_rise(c):
        return c.value >= c.limit
    return c.value > c.limit if c.high else c.value < c.limit


def _held(c: Condition) -> str:
    if c.since is None or c.value_at is None or c.value_at - c.since < 1:
        return ""
    return f" for {duration(c.value_at - c.since)}"


def _phrase(c: Condition, held: bool = True) -> str:
    """One condition after the value: "below 88% for 20 s", "was above 120/min"
    (a cuff's spot readings say no duration)."""
    if not _beyond(c):
        return f"was {_limit_phrase(c, False)}"
    return _limit_phrase(c, True) + (_held(c) if held and not _is_rise(c) else "")


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
        return _bp(main, active, latest)
    value = with_unit(main.metric, main.value) if main.value is not None else "?"
    shown = active or [main]
    if not any(_beyond(c) for c in shown):  # "HR now 117/min: was above 120/min"
        parts = ", ".join(_phrase(c) for c in shown)
        return f"{_label(main)} now {value}: {parts}{_worst(main, False)}"
    if len(active) == 1:
        c = active[0]
        sep = ", " if _is_rise(c) else " "
        return f"{_label(c)} {value}{sep}{_phrase(c)}{_worst(c, False)}"
    parts = ", ".join(_phrase(c) for c in active)
    return f"{_label(main)} {value}: {parts}{_worst(main, False)}"


def _bp(main: Condition, active: list[Condition], latest: Mapping[str, float]) -> str:
    sbp, dbp = latest.get("sbp"), latest.get("dbp")
    if sbp is not None and dbp is not None:
        head = f"BP {fmt_of('sbp', sbp)}/{fmt_of('dbp', dbp)} mmHg"
    else:
        assert main.metric is not None
        value = with_unit(main.metric, main.value) if main.value is not None else "?"
        head = f"{_label(main)} {value}"
    if not active:
        return f"{head} now: {_label(main)} was {_limit_phrase(main, False)}{_worst(main, True)}"
    parts = []
    for c in active:
        mean = c.metric == "map" and c.value is not None and _beyond(c)
        shown = f" {with_unit('map', c.value)}" if mean and c.value is not None else ""
        parts.append(f"{_label(c)}{shown} {_phrase(c, held=False)}")
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
    text = f"{_label(c)} {_limit_phrase(c, tier is not None and _beyond(c))}"
    return f"{text} ({tier})" if tier else f"{text}: ended"
