"""A plain, per-sample reference of the engine's condition and alarm logic.

Deliberately simple: one loop over samples, one state machine per session
and channel, one alarm per session and problem (bp, hr, spo2, rr) whose
priority is the highest among its conditions (a high one latched), no arrays.
The property test checks the vectorised engine against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vitalwatch.alarms.engine import CHANNELS, MIN_GAP_S
from vitalwatch.sessions.thresholds import Thresholds
from vitalwatch.vitals import METRIC_INFO, METRICS

RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass
class ChannelState:
    met: bool = False
    run: float | None = None
    clear: float | None = None


@dataclass
class RefAlarm:
    priority: str
    latched_high: bool
    condition_active: bool = True


@dataclass
class Reference:
    thresholds: dict[int, Thresholds]
    channels: dict[tuple[int, int], ChannelState] = field(default_factory=dict)
    last_ts: dict[tuple[int, int], float] = field(default_factory=dict)
    alarms: dict[tuple[int, str], RefAlarm] = field(default_factory=dict)
    out: list[tuple[int, str, str, str, float]] = field(default_factory=list)

    def limit(self, sid: int, c: int) -> tuple[float | None, float]:
        ch = CHANNELS[c]
        limits = getattr(self.thresholds[sid], METRICS[ch.metric])
        if ch.source == "baseline":
            return None, 0.0
        return getattr(limits, ch.source), float(limits.for_s or 0.0)

    def feed_batch(self, batch: list[tuple[int, float, dict[str, float]]]) -> None:
        for sid, ts, values in sorted(batch, key=lambda r: (r[0], r[1])):
            self.feed(sid, ts, values)

    def feed(self, sid: int, ts: float, values: dict[str, float]) -> None:
        if "map" not in values and "sbp" in values and "dbp" in values:
            values = {**values, "map": (values["sbp"] + 2 * values["dbp"]) / 3}
        events: list[tuple[int, int, bool, float, float, float]] = []
        for m, metric in enumerate(METRICS):
            if metric not in values:
                continue
            v = values[metric]
            last = self.last_ts.get((sid, m))
            if last is not None and ts < last:
                continue  # older than what was evaluated: stored, not evaluated
            gap = math.inf if last is None else ts - last
            self.last_ts[(sid, m)] = ts
            margin = METRIC_INFO[metric].clear_margin
            for c, ch in enumerate(CHANNELS):
                if ch.metric != m:
                    continue
                limit, for_s = self.limit(sid, c)
                if limit is None:
                    continue
                st = self.channels.setdefault((sid, c), ChannelState())
                broken = gap > max(for_s, MIN_GAP_S)
                cond = v > limit if ch.high else v < limit
                clear = v <= limit - margin if ch.high else v >= limit + margin
                if cond:
                    if st.run is None or broken:
                        st.run = ts
                else:
                    st.run = None
                if clear:
                    if st.clear is None or broken:
                        st.clear = ts
                else:
                    st.clear = None
                if cond and not st.met and ts - st.run >= for_s:  # type: ignore[operator]
                    events.append((RANK[ch.tier], c, True, v, limit, ts))
                elif clear and st.met and ts - st.clear >= for_s:  # type: ignore[operator]
                    events.append((RANK[ch.tier], c, False, v, limit, ts))
        problems = {CHANNELS[c].problem for _, c, _, _, _, _ in events}
        before = {p: self.priority_of(sid, p) for p in problems}
        for _, c, raised, _, _, _ in events:
            self.channels[(sid, c)].met = raised
        for problem in sorted(problems):
            if self.priority_of(sid, problem) != before[problem]:
                self.move(sid, problem, ts)

    def priority_of(self, sid: int, problem: str) -> str | None:
        """The highest tier met among the problem's channels."""
        out: str | None = None
        for c, ch in enumerate(CHANNELS):
            met = ch.problem == problem and self.channels.get((sid, c), ChannelState()).met
            if met and (out is None or RANK[ch.tier] > RANK[out]):
                out = ch.tier
        return out

    def move(self, sid: int, problem: str, ts: float) -> None:
        p = self.priority_of(sid, problem)
        key = (sid, problem)
        alarm = self.alarms.get(key)
        if alarm is None:
            if p is not None:
                self.alarms[key] = RefAlarm(p, latched_high=p == "high")
                self.out.append((sid, problem, "raised", p, ts))
            return
        if not alarm.condition_active:  # latched
            if p is not None:
                alarm.condition_active = True
                self.out.append((sid, problem, "condition_returned", alarm.priority, ts))
            return
        if p is None:
            if alarm.latched_high:
                alarm.condition_active = False
                self.out.append((sid, problem, "condition_cleared", alarm.priority, ts))
            else:
                del self.alarms[key]
                self.out.append((sid, problem, "resolved", alarm.priority, ts))
            return
        shown = "high" if alarm.latched_high else p
        if RANK[shown] > RANK[alarm.priority]:
            alarm.priority = shown
            alarm.latched_high = alarm.latched_high or shown == "high"
            self.out.append((sid, problem, "priority_raised", shown, ts))
        elif RANK[shown] < RANK[alarm.priority]:
            alarm.priority = shown
            self.out.append((sid, problem, "priority_lowered", shown, ts))
