"""The alarm-load figures: plain numpy over one range's alarms and sessions.

Day boundaries are local midnights in the clinic's zone (a day with a DST
change has 23 or 25 hours); medians and percentiles are computed here rather
than in SQL, where they are backend-specific (PostgreSQL's percentile_cont
has no SQLite counterpart). No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

#: Cleared by itself within this long of its raise, untouched: a nuisance candidate.
NUISANCE_S: Final = 30.0


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def day_bounds(since: date, until: date, zone: ZoneInfo) -> tuple[list[date], F64]:
    """The days of the range and their boundaries (epoch s): len(days) + 1 of them."""
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    edges = [*days, until + timedelta(days=1)]
    return days, np.array([local_midnight(d, zone).timestamp() for d in edges])


def overlap_hours(start: F64, end: F64, bounds: F64) -> F64:
    """Hours each session (row) was monitored on each day (column)."""
    if start.size == 0:
        return np.zeros((0, bounds.size - 1))
    lo = np.maximum(start[:, None], bounds[None, :-1])
    hi = np.minimum(end[:, None], bounds[None, 1:])
    hours: F64 = np.clip(hi - lo, 0.0, None) / 3600.0
    return hours


def day_of(ts: F64, bounds: F64) -> I64:
    """The day (column) each time falls on; -1 outside the range."""
    idx = np.searchsorted(bounds, ts, side="right") - 1
    idx[(idx < 0) | (idx >= bounds.size - 1)] = -1
    return idx.astype(np.int64)


def problem_of(rule: str) -> str:
    """The report's rule: every monitor's technical alarm is one "monitor" rule."""
    head, sep, _ = rule.partition(":")
    return head if sep and head == "monitor" else rule


@dataclass(frozen=True, slots=True)
class AlarmFacts:
    """One row per alarm raised in the range, in the columns the figures need."""

    day: I64
    protocol: npt.NDArray[np.str_]
    rule: npt.NDArray[np.str_]
    conditions: list[frozenset[str]]
    ack_delay_s: F64  # first alert to first acknowledgement; NaN: never acknowledged
    escalated: B
    unanswered: B
    nuisance: B
    open: B

    @property
    def size(self) -> int:
        return int(self.day.size)

    def with_condition(self, mask: B, condition: str) -> B:
        has = np.fromiter((condition in c for c in self.conditions), bool, self.size)
        both: B = mask & has
        return both


@dataclass(frozen=True, slots=True)
class Figures:
    alarms: int
    acknowledged: int
    ack_median_s: float | None
    ack_p90_s: float | None
    unanswered: int
    escalated: int
    nuisance: int
    open: int


def figures(facts: AlarmFacts, mask: B) -> Figures:
    """Counts and time-to-acknowledge percentiles of the alarms in `mask`."""
    delays = facts.ack_delay_s[mask]
    delays = delays[~np.isnan(delays)]
    median = p90 = None
    if delays.size:
        q = np.percentile(delays, [50.0, 90.0])
        median, p90 = round(float(q[0]), 3), round(float(q[1]), 3)
    return Figures(
        alarms=int(mask.sum()),
        acknowledged=int(delays.size),
        ack_median_s=median,
        ack_p90_s=p90,
        unanswered=int((facts.unanswered & mask).sum()),
        escalated=int((facts.escalated & mask).sum()),
        nuisance=int((facts.nuisance & mask).sum()),
        open=int((facts.open & mask).sum()),
    )


def per_hour(alarms: int, hours: float) -> float | None:
    return round(alarms / hours, 3) if hours > 0 else None


def ack_delays(alerted: F64, raised: F64, first_ack: F64) -> F64:
    """Seconds from the first alert to the first acknowledgement (NaN: none).

    `alerted` is when the alarm's current alert began; an alarm that alerted
    again after its first acknowledgement (a worse condition) has a later one,
    and its first alert is then its raise."""
    start = np.where(alerted <= first_ack, alerted, raised)
    return np.clip(first_ack - start, 0.0, None)


def nuisance_of(raised: F64, resolved: F64, by_user: B, acked: B, silenced: B) -> B:
    """Cleared by itself within NUISANCE_S of its raise, nobody having acted on it."""
    quick = (resolved - raised) <= NUISANCE_S  # NaN (still open) compares False
    return quick & ~by_user & ~acked & ~silenced
