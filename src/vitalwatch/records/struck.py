"""Struck readings in the record: an alarm a typed-in reading raised before a
nurse struck it out happened (it stays in the alarm log), but its value was a
typo: the record shows it crossed out, and readiness does not count it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from vitalwatch.db import from_ms
from vitalwatch.readings.repository import StruckReading
from vitalwatch.records.text import hm

#: an alarm raised this long before the reading's own time still counts as its
#: (the engine may date a raise by the service clock)
_EARLY = timedelta(minutes=1)


def raised_by(
    metric: str | None,
    values: Iterable[float | None],
    raised_at: datetime,
    struck: Sequence[StruckReading],
) -> StruckReading | None:
    """The struck reading that raised an alarm on `metric` at `raised_at`: the same
    metric and one of the alarm's `values` (the value it was raised on, its current
    and its worst: later readings move the current one), raised after it was
    measured and before it was struck."""
    known = {v for v in values if v is not None}
    if metric is None or not known:
        return None
    for x in struck:
        if x.values.get(metric) in known and from_ms(x.ts_ms) - _EARLY <= raised_at <= x.struck_at:
            return x
    return None


def note(x: StruckReading, tz: ZoneInfo) -> str:
    """Who struck the reading, when and why, in a nurse's words."""
    why = f": {x.reason}" if x.reason else ""
    who = x.struck_by or "staff"
    return f"raised by a typed-in reading struck out at {hm(x.struck_at, tz)} by {who}{why}"
