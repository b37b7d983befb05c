"""Condition channels, vectorised: when each limit rule becomes met and unmet.

Each metric has up to four absolute channels (low, critical_low, high,
critical_high) plus a baseline-rise channel. A channel is *met* once its
condition has held for `for_s` seconds, measured on the samples' own
timestamps, and unmet again once the value has been back inside the limit by
the metric's clearing margin for the same time (hysteresis). For a whole batch
this is done with array operations per metric: run starts, forward-filled run
start times, first sample of each run reaching `for_s`, then "consecutive
duplicates removed" to turn candidate raise/clear points into the alternating
events a state machine would produce. There is no Python loop per sample.

Gaps: a sample with the metric absent neither breaks nor continues a run;
two consecutive samples of the metric further apart than max(for_s, 5 s)
break it (a probe off for minutes is not "sustained"). A sample older than
the last evaluated sample of the same metric is not evaluated here: its
session is reported as stale, and the engine re-reads it in measurement
order (see `AlarmEngine.resync`).

Several channels make one *condition* (`sbp_high` = the high and the
critical_high channel); several conditions make one *problem*, the alarm a
nurse sees (`bp` = every SBP, DBP and MAP condition).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from vitalwatch.alarms.engine.model import F64, I64, B, Limits
from vitalwatch.vitals import METRIC_INDEX, METRIC_INFO, METRICS

MIN_GAP_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class Channel:
    """One limit: a metric compared with one threshold."""

    condition: str  # the condition it feeds: "sbp_high", "hr_baseline_rise" ...
    metric: int
    high: bool  # True: value above the limit; False: below
    tier: str  # priority when met
    source: str  # "low" | "high" | "critical_low" | "critical_high" | "baseline"
    inclusive: bool  # baseline rises count "at least"; absolute limits "beyond"

    @property
    def problem(self) -> str:
        """The alarm this channel's condition belongs to."""
        name = METRICS[self.metric]
        return "bp" if name in ("sbp", "dbp", "map") else name


#: Rises over the pre-dose baseline: (metric, priority when met).
BASELINE_RULES: Final = {"sbp": "medium", "dbp": "medium", "hr": "low"}
#: hr rises above baseline must hold 30 s (clinical defaults); BP rises: first reading.
BASELINE_FOR_S: Final = {"sbp": 0.0, "dbp": 0.0, "hr": 30.0}


def _build_channels() -> tuple[Channel, ...]:
    """Each metric's channels side by side (its baseline channel right after its
    limits), so a metric's state is one column slice: gathering it for a batch
    copies a few adjacent values per session row, where indexing rows and
    columns with two arrays (np.ix_) was the main cost at 10,000 sessions."""
    out: list[Channel] = []
    for m in METRICS:
        i = METRIC_INDEX[m]
        out += [
            Channel(f"{m}_low", i, False, "medium", "low", False),
            Channel(f"{m}_low", i, False, "high", "critical_low", False),
            Channel(f"{m}_high", i, True, "medium", "high", False),
            Channel(f"{m}_high", i, True, "high", "critical_high", False),
        ]
        if m in BASELINE_RULES:
            out.append(Channel(f"{m}_baseline_rise", i, True, BASELINE_RULES[m], "baseline", True))
    return tuple(out)


CHANNELS: Final = _build_channels()
N_CHANNELS: Final = len(CHANNELS)
_BY_METRIC: Final = {
    m: np.array([c for c, ch in enumerate(CHANNELS) if ch.metric == m], dtype=np.int64)
    for m in range(len(METRICS))
}
_SLICE: Final = {m: slice(int(c[0]), int(c[-1]) + 1) for m, c in _BY_METRIC.items()}
assert all(s.stop - s.start == len(_BY_METRIC[m]) for m, s in _SLICE.items())
_HIGHS: Final = {m: np.array([CHANNELS[c].high for c in cs]) for m, cs in _BY_METRIC.items()}
_INCLUSIVE: Final = {
    m: np.array([CHANNELS[c].inclusive for c in cs]) for m, cs in _BY_METRIC.items()
}
#: The channels of each condition, lowest tier first.
CONDITION_CHANNELS: Final[dict[str, tuple[int, ...]]] = {}
for _c, _ch in enumerate(CHANNELS):
    CONDITION_CHANNELS[_ch.condition] = (*CONDITION_CHANNELS.get(_ch.condition, ()), _c)


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """A channel becoming met (raised) or unmet, at one sample."""

    slot: int
    ts: float
    channel: int
    raised: bool
    value: float
    limit: float
    since: float  # when the run that raised it began (raise only; else ts)


@dataclass(frozen=True, slots=True)
class SlotState:
    """One session's channel state, copied out (for a replay in measurement order)."""

    met: B
    starts: F64
    last_ts: F64
    last_val: F64


class ChannelBank:
    """Per-session channel state in arrays indexed by a session slot."""

    def __init__(self, capacity: int) -> None:
        self.capacity = 0
        # per channel: the limit (NaN: none) and how long it must hold, side by
        # side so a batch reads both with one index operation; thr and for_s
        # are views of it
        self._limits = np.empty((0, N_CHANNELS, 2))
        self.thr, self._for = self._limits[:, :, 0], self._limits[:, :, 1]
        self.base = np.empty((0, N_CHANNELS))  # the baseline a baseline channel compares with
        self.met = np.empty((0, N_CHANNELS), dtype=bool)
        # per channel: start of the current condition run and of the current
        # clearing run (NaN: none), side by side so a batch reads and writes
        # both with one index operation
        self._starts = np.empty((0, N_CHANNELS, 2))
        self.last_ts = np.empty((0, len(METRICS)))
        self.last_val = np.empty((0, len(METRICS)))
        self.grow(capacity)

    def grow(self, capacity: int) -> None:
        old = self.capacity
        if capacity <= old:
            return

        def grown(a: npt.NDArray[np.generic], fill: object) -> npt.NDArray[np.generic]:
            out = np.full((capacity, *a.shape[1:]), fill, dtype=a.dtype)
            out[:old] = a
            return out

        self._limits = grown(self._limits, np.nan)  # type: ignore[assignment]
        self._limits[old:, :, 1] = 0.0
        self.thr, self._for = self._limits[:, :, 0], self._limits[:, :, 1]
        self.base = grown(self.base, np.nan)  # type: ignore[assignment]
        self.met = grown(self.met, False)  # type: ignore[assignment]
        self._starts = grown(self._starts, np.nan)  # type: ignore[assignment]
        self.last_ts = grown(self.last_ts, np.nan)  # type: ignore[assignment]
        self.last_val = grown(self.last_val, np.nan)  # type: ignore[assignment]
        self.capacity = capacity

    def reset(self, slot: int) -> None:
        """A fresh state: nothing met, no runs, nothing seen."""
        self.met[slot] = False
        self._starts[slot] = np.nan
        self.last_ts[slot] = np.nan
        self.last_val[slot] = np.nan

    def free(self, slot: int) -> None:
        self.reset(slot)
        self.thr[slot] = np.nan

    def save(self, slot: int) -> SlotState:
        return SlotState(
            self.met[slot].copy(),
            self._starts[slot].copy(),
            self.last_ts[slot].copy(),
            self.last_val[slot].copy(),
        )

    def load(self, slot: int, state: SlotState) -> None:
        self.met[slot] = state.met
        self._starts[slot] = state.starts
        self.last_ts[slot] = state.last_ts
        self.last_val[slot] = state.last_val

    def configure(self, slot: int, t: Limits, baseline: dict[str, float]) -> None:
        rises = t.baseline_rise
        for c, ch in enumerate(CHANNELS):
            metric = METRICS[ch.metric]
            if ch.source == "baseline":
                rise = getattr(rises, metric)
                base = baseline.get(metric)
                ok = rise is not None and base is not None
                self.thr[slot, c] = (base + rise) if ok else np.nan  # type: ignore[operator]
                self.base[slot, c] = base if ok else np.nan
                self._for[slot, c] = BASELINE_FOR_S[metric]
            else:
                limits = getattr(t, metric)
                value = getattr(limits, ch.source)
                self.thr[slot, c] = np.nan if value is None else float(value)
                self._for[slot, c] = float(limits.for_s or 0.0)

    def newest(self, slot: int) -> float:
        """The newest sample time of a session (NaN: none yet)."""
        last = self.last_ts[slot]
        return float(np.nanmax(last)) if not np.isnan(last).all() else float("nan")

    # -- the hot path ---------------------------------------------------------------

    def evaluate(
        self, slot: I64, ts: F64, values: F64
    ) -> tuple[list[ChannelEvent], dict[int, float]]:
        """Channel events of samples sorted by slot then time; and the slots
        that had samples older than ones already evaluated (left out here),
        each with the oldest such time."""
        events: list[ChannelEvent] = []
        stale: dict[int, float] = {}
        for m in range(len(METRICS)):
            events += self._evaluate_metric(m, slot, ts, values[:, m], stale)
        return events, stale

    def _evaluate_metric(
        self, m: int, slot_all: I64, ts_all: F64, col: F64, stale: dict[int, float]
    ) -> list[ChannelEvent]:
        present = ~np.isnan(col)
        if not present.any():
            return []
        slot, ts, v = slot_all[present], ts_all[present], col[present]
        last = self.last_ts[slot, m]
        fresh = ~(ts < last)  # NaN last: fresh
        if not fresh.all():  # rare: a retry, a backlog, samples posted newest first
            for s, t in zip(slot[~fresh].tolist(), ts[~fresh].tolist(), strict=True):
                stale[s] = min(t, stale.get(s, t))
            slot, ts, v = slot[fresh], ts[fresh], v[fresh]
            if slot.shape[0] == 0:
                return []
        n = slot.shape[0]
        chans, cols = _BY_METRIC[m], _SLICE[m]
        limits = self._limits[slot, cols]  # (n, C, 2)
        thr, for_s = limits[:, :, 0], limits[:, :, 1]
        live = ~np.isnan(thr)
        if not live.any():
            self._finish_metric(m, slot, ts, v)
            return []
        first = np.empty(n, dtype=bool)
        first[0] = True
        first[1:] = slot[1:] != slot[:-1]
        first_i = np.flatnonzero(first)
        first_slots = slot[first_i]
        prev_ts = np.empty(n)
        prev_ts[0] = np.nan
        prev_ts[1:] = ts[:-1]
        prev_ts[first_i] = self.last_ts[first_slots, m]
        gap = ts - prev_ts  # NaN where nothing came before
        broken = ~(gap[:, None] <= np.maximum(for_s, MIN_GAP_S))  # NaN gap: broken
        highs, inclusive = _HIGHS[m], _INCLUSIVE[m]
        margin = METRIC_INFO[METRICS[m]].clear_margin
        vv = v[:, None]
        with np.errstate(invalid="ignore"):
            above = np.where(inclusive, vv >= thr, vv > thr)
            below = vv < thr
            cond = np.where(highs, above, below) & live
            clear = np.where(highs, vv <= thr - margin, vv >= thr + margin) & live
        carried = self._starts[first_slots, cols]  # (sessions, C, 2)
        raise_at, run_start = _runs(cond, first, first_i, broken, ts, for_s, carried[:, :, 0])
        clear_at, clear_start = _runs(clear, first, first_i, broken, ts, for_s, carried[:, :, 1])

        # carry the runs in progress at each session's last sample
        last_i = _last_of_each(slot)
        ls = slot[last_i]
        self._starts[ls, cols] = np.stack((run_start[last_i], clear_start[last_i]), axis=-1)
        self.last_ts[ls, m] = ts[last_i]
        self.last_val[ls, m] = v[last_i]

        # candidate events -> the alternating events a state machine produces:
        # consecutive duplicates removed, starting from each session's state
        kind = np.zeros((n, chans.shape[0]), dtype=np.int8)
        kind[raise_at] = 1
        kind[clear_at] = -1
        out: list[ChannelEvent] = []
        for j, c in enumerate(chans.tolist()):
            idx = np.flatnonzero(kind[:, j])
            if idx.shape[0] == 0:
                continue
            k = kind[idx, j]
            s = slot[idx]
            prev = np.empty(idx.shape[0], dtype=np.int8)
            prev[1:] = k[:-1]
            new_slot = np.empty(idx.shape[0], dtype=bool)
            new_slot[0] = True
            new_slot[1:] = s[1:] != s[:-1]
            prev[new_slot] = np.where(self.met[s[new_slot], c], 1, -1)
            for i in idx[k != prev].tolist():
                raised = bool(kind[i, j] == 1)
                out.append(
                    ChannelEvent(
                        slot=int(slot[i]),
                        ts=float(ts[i]),
                        channel=c,
                        raised=raised,
                        value=float(v[i]),
                        limit=float(thr[i, j]),
                        since=float(run_start[i, j]) if raised else float(ts[i]),
                    )
                )
        return out

    def _finish_metric(self, m: int, slot: I64, ts: F64, v: F64) -> None:
        last_i = _last_of_each(slot)
        self.last_ts[slot[last_i], m] = ts[last_i]
        self.last_val[slot[last_i], m] = v[last_i]


def _last_of_each(slot: I64) -> B:
    """Where each run of equal slots ends."""
    last_i = np.empty(slot.shape[0], dtype=bool)
    last_i[-1] = True
    last_i[:-1] = slot[1:] != slot[:-1]
    return last_i


def _runs(
    cond: B, first: B, first_i: I64, broken: B, ts: F64, for_s: F64, carried: F64
) -> tuple[B, F64]:
    """Where a run of `cond` first lasts `for_s`, and each sample's run start.

    A run starts at a sample whose condition holds when the previous sample
    (of the same session) did not hold it or was too long ago; the first
    sample of a session in the batch may continue a run carried over from
    the previous batch.
    """
    n, c = cond.shape
    prev = np.zeros_like(cond)
    prev[1:] = cond[:-1]
    carried_full = np.full((n, c), np.nan)
    carried_full[first_i] = carried
    prev[first_i] = ~np.isnan(carried)
    starts = cond & (~prev | broken)
    start_val = np.where(starts, ts[:, None], np.nan)
    continuing_first = cond & first[:, None] & ~starts
    start_val = np.where(continuing_first, carried_full, start_val)
    marker = ~np.isnan(start_val)
    rows = np.where(marker, np.arange(n)[:, None], 0)
    np.maximum.accumulate(rows, axis=0, out=rows)
    run_start = np.take_along_axis(start_val, rows, axis=0)
    run_start = np.where(cond, run_start, np.nan)
    with np.errstate(invalid="ignore"):
        reach = cond & (ts[:, None] - run_start >= for_s)
    prev_reach = np.zeros_like(reach)
    prev_reach[1:] = reach[:-1]
    prev_reach &= ~starts & ~first[:, None]
    return reach & ~prev_reach, run_start
