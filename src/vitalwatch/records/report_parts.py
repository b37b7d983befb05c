"""Parts of the session report a chart needs, built from stored rows: each
alarm's whole history (raise, acknowledgements, silences, escalations,
resolution), the vitals table at the clinic's interval, the session's dose
total and staff named by their profile."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from vitalwatch.alarms.models import Alarm, AlarmLogEntry
from vitalwatch.auth.models import User
from vitalwatch.db import from_ms
from vitalwatch.records.text import num
from vitalwatch.sessions.schemas import DoseRecord
from vitalwatch.vitals import METRICS

_RANK = {"low": 0, "medium": 1, "high": 2}
_PAUSED = re.compile(r"paused (\d+) s")


@dataclass
class AlarmStep:
    ts: datetime
    what: str  # "acknowledged", "silenced 120 s", "escalated to high"
    by: str | None


@dataclass
class AlarmRow:
    raised_at: datetime
    priority: str  # the highest it reached
    message: str
    acked_by: str | None
    acked_at: datetime | None
    ack_s: float | None  # from raise to the first acknowledgement
    resolved_at: datetime | None
    resolved_by: str | None
    escalated: bool
    steps: list[AlarmStep] = field(default_factory=list)  # after the raise, in order
    struck_note: str | None = None  # raised by a reading later struck out: who, when, why
    metric: str | None = None
    worst_value: float | None = None
    conditions: frozenset[str] = frozenset()  # every limit rule it met ("spo2_low", ...)

    @property
    def text(self) -> str:
        """The alarm in plain text; one a struck reading raised is marked struck out."""
        return (
            f"struck out: {self.message} ({self.struck_note})" if self.struck_note else self.message
        )


def alarm_row(
    alarm: Alarm, log: Sequence[AlarmLogEntry], name: Staff, struck_note: str | None = None
) -> AlarmRow:
    top = max([alarm.priority, *(e.priority for e in log)], key=_RANK.__getitem__)
    raised = next((e for e in log if e.action == "raised"), None)
    steps = []
    for e in log:
        if e.action == "acknowledged":
            steps.append(AlarmStep(e.ts, "acknowledged", name.of(e.user)))
        elif e.action == "silenced":
            m = _PAUSED.search(e.message)
            steps.append(
                AlarmStep(e.ts, f"audio paused {m.group(1)} s" if m else e.message, name.of(e.user))
            )
        elif e.action == "escalated":
            steps.append(AlarmStep(e.ts, f"escalated ({e.priority}): {e.message}", None))
        elif e.action == "priority_raised":
            steps.append(AlarmStep(e.ts, f"rose to {e.priority}: {e.message}", None))
        elif e.action == "resolved":
            steps.append(AlarmStep(e.ts, f"resolved: {e.message}", name.of(e.user)))
    first_ack = next((s for s in steps if s.what == "acknowledged"), None)
    acked_at = first_ack.ts if first_ack else alarm.acked_at
    return AlarmRow(
        raised_at=alarm.raised_at,
        priority=top,
        message=raised.message if raised else alarm.message,
        acked_by=(first_ack.by if first_ack else name.of(alarm.acked_by)),
        acked_at=acked_at,
        ack_s=(acked_at - alarm.raised_at).total_seconds() if acked_at else None,
        resolved_at=alarm.resolved_at,
        resolved_by=name.of(alarm.resolved_by),
        escalated=any(e.action == "escalated" for e in log),
        steps=steps,
        struck_note=struck_note,
        metric=alarm.metric,
        worst_value=alarm.worst_value,
        conditions=frozenset(str(c.get("rule")) for c in alarm.conditions or []),
    )


class Staff:
    """Staff as a record names them: "Sam Patel, RN" from the profile (the user
    name while the profile is empty), by user name or user id."""

    def __init__(self, users: Sequence[User]) -> None:
        self.by_name = {u.username: u for u in users}
        self.by_id = {u.id: u for u in users}

    def of(self, username: str | None) -> str | None:
        if username is None:
            return None
        user = self.by_name.get(username)
        return user.signature() if user else username

    def of_id(self, user_id: int | None) -> str | None:
        user = self.by_id.get(user_id) if user_id is not None else None
        return user.signature() if user else None


@dataclass
class VitalsRow:
    start: datetime
    end: datetime
    #: metric -> (last value in the interval, lowest, highest); missing: no value
    values: dict[str, tuple[float, float, float]]
    bps: list[tuple[datetime, float, float]]  # every BP in the interval


def vitals_table(
    ts: Sequence[int], rows: Sequence[Sequence[float | None]], minutes: int
) -> list[VitalsRow]:
    """HR, SpO2 and RR per interval of `minutes` on the clock (the last value, lowest
    and highest) and every BP of it; intervals without any reading left out."""
    if not ts:
        return []
    t = np.asarray(ts, dtype=np.int64)
    table = np.array(rows, dtype=np.float64)
    step = minutes * 60_000
    bins = t // step  # on the clock: 10:00-10:05, 10:05-10:10 ...
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    ends = np.r_[starts[1:], len(t)]
    cols = {m: METRICS.index(m) for m in ("hr", "spo2", "rr", "sbp", "dbp")}
    out = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        values = {}
        for metric in ("hr", "spo2", "rr"):
            col = table[a:b, cols[metric]]
            kept = col[~np.isnan(col)]
            if kept.size:
                values[metric] = (float(kept[-1]), float(kept.min()), float(kept.max()))
        sbp, dbp = table[a:b, cols["sbp"]], table[a:b, cols["dbp"]]
        has_bp = np.flatnonzero(~np.isnan(sbp) & ~np.isnan(dbp))
        bps = [(from_ms(int(t[a + i])), float(sbp[i]), float(dbp[i])) for i in has_bp.tolist()]
        if values or bps:
            begin = int(bins[a]) * step
            out.append(VitalsRow(from_ms(begin), from_ms(begin + step), values, bps))
    return out


def dose_total(doses: Sequence[DoseRecord]) -> str | None:
    """The session's total: "3 x 28 mg = 84 mg", "28 mg + 56 mg = 84 mg", "56 mg"."""
    mg = [
        d.total_mg if d.total_mg is not None else (d.amount if d.unit == "mg" else None)
        for d in doses
    ]
    parts = [float(m) for m in mg if m is not None]
    if not parts or len(parts) < len(mg):
        return None
    total = num(sum(parts))
    if len(parts) == 1:
        return f"{total} mg"
    if len(set(parts)) == 1:
        return f"{len(parts)} x {num(parts[0])} mg = {total} mg"
    return " + ".join(f"{num(p)} mg" for p in parts) + f" = {total} mg"
