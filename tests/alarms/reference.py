"""A plain, per-sample reference of the engine's condition and alarm logic.

Deliberately simple: one loop over samples, one state machine per session
and channel, no arrays. The property test checks the vectorised engine
against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vitalwatch.alarms.engine import CHANNELS, MIN_GAP_S
from vitalwatch.alarms.thresholds import Thresholds
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
    latching: bool
    condition_active: bool = True


@dataclass
class Reference:
    thresholds: dict[int, Thresholds]
    channels: dict[tuple[int, int], ChannelState] = field(default_factory=dict)
    last_ts: dict[tuple[int, int], float] = field(default_factory=dict)
    alarms: dict[tuple[int, str], RefAlarm] = field(default_factory=dict)
    out: list[tuple[int, str, str, str, float, float | None]] = field(default_factory=list)

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
        events.sort(key=lambda e: -e[0])
        for _, c, raised, v, limit, t in events:
            self.apply(sid, c, raised, v, limit, t)

    def apply(self, sid: int, c: int, raised: bool, v: float, limit: float, ts: float) -> None:
        ch = CHANNELS[c]
        siblings = [i for i, other in enumerate(CHANNELS) if other.rule == ch.rule]
        before = any(self.channels.get((sid, i), ChannelState()).met for i in siblings)
        self.channels[(sid, c)].met = raised
        after = any(self.channels.get((sid, i), ChannelState()).met for i in siblings)
        key = (sid, ch.rule)
        alarm = self.alarms.get(key)
        if raised and not before:
            if alarm is None:
                self.alarms[key] = RefAlarm(ch.tier, latching=ch.tier == "high")
                self.out.append((sid, ch.rule, "raised", ch.tier, ts, v))
            else:
                alarm.condition_active = True
                if RANK[ch.tier] > RANK[alarm.priority]:
                    alarm.priority = ch.tier
                alarm.latching = alarm.latching or alarm.priority == "high"
                self.out.append((sid, ch.rule, "condition_returned", alarm.priority, ts, v))
        elif raised and alarm is not None and RANK[ch.tier] > RANK[alarm.priority]:
            alarm.priority = ch.tier
            alarm.latching = alarm.latching or ch.tier == "high"
            self.out.append((sid, ch.rule, "escalated", ch.tier, ts, v))
        elif not raised and before and not after and alarm is not None and alarm.condition_active:
            if alarm.latching:
                alarm.condition_active = False
                self.out.append((sid, ch.rule, "condition_cleared", alarm.priority, ts, None))
            else:
                del self.alarms[key]
                self.out.append((sid, ch.rule, "resolved", alarm.priority, ts, None))
