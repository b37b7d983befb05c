"""The alarm rule engine: pure numpy, no I/O, no clock of its own.

Like Prometheus' rule evaluation, it is a function of its inputs: batches of
samples (evaluate), the service clock (tick) and staff actions (acknowledge,
silence). It returns alarm transitions; the alarm service stores and
publishes them.

Two layers:

1. Condition channels, vectorised. Each metric has up to four absolute
   channels (low, critical_low, high, critical_high) plus baseline-rise
   channels. A channel is *met* once its condition has held for `for_s`
   seconds, measured on the samples' own timestamps, and unmet again once the
   value has been back inside the limit by the metric's clearing margin for
   the same time (hysteresis). For a whole batch this is done with array
   operations per metric: run starts, forward-filled run start times, first
   sample of each run reaching `for_s`, then "consecutive duplicates removed"
   to turn candidate raise/clear points into the alternating events a state
   machine would produce. There is no Python loop per sample.
   Gaps: a sample with the metric absent neither breaks nor continues a run;
   two consecutive samples of the metric further apart than max(for_s, 5 s)
   break it (a probe off for minutes is not "sustained"). A sample older than
   the last evaluated sample of the same metric is stored but not evaluated.

2. Alarm lifecycle, per event (rare, plain Python). One alarm per session and
   rule (metric + direction): its priority is the highest tier met (medium:
   low/high, high: critical_*), and rises ("escalated") when the critical
   tier is met later. IEC 60601-1-8 as in clinical-defaults.md: high priority latches
   until acknowledged; medium and low resolve when the condition clears; an
   unacknowledged medium becomes high after 60 s (and then latches); an
   acknowledged alarm whose condition persists reminds every 180 s;
   silence pauses audio for 1-300 s; technical alarms never latch.

Time bases: physiological raise/clear times are sample timestamps; technical
alarms, escalation, reminders and silence use the service clock (`received_at`
of a batch, `now` of a tick or a staff action).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from vitalwatch.alarms.thresholds import PROFILES, Thresholds
from vitalwatch.vitals import METRIC_INDEX, METRIC_INFO, METRICS

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

ESCALATE_AFTER_S: Final = 60.0
REMINDER_EVERY_S: Final = 180.0
SILENCE_MAX_S: Final = 300.0
OFFLINE_AFTER_S: Final = 60.0
SIGNAL_LOST_AFTER_S: Final = 15.0
BP_OVERDUE_GRACE_S: Final = 60.0
MIN_GAP_S: Final = 5.0
BP_CHECK_WINDOW_S: Final = 10 * 60.0
_PRIORITY_RANK: Final = {"low": 0, "medium": 1, "high": 2}
_SIGNAL_METRICS: Final = ("hr", "spo2")
_HR, _SBP, _DBP, _MAP = (METRIC_INDEX[m] for m in ("hr", "sbp", "dbp", "map"))


@dataclass(frozen=True)
class SessionConfig:
    """What the engine needs to know about one active session."""

    session_id: int
    protocol: str
    thresholds: Thresholds
    device_names: dict[int, str]
    started_at: float
    first_dose_at: float | None = None
    baseline: dict[str, float] | None = None


@dataclass(frozen=True)
class SampleBatch:
    session_id: I64
    device_id: I64
    ts: F64
    values: F64  # (n, len(METRICS)), NaN = absent
    received_at: float


@dataclass(frozen=True)
class Transition:
    session_id: int
    rule: str
    action: str
    kind: str
    metric: str | None
    priority: str
    ts: float
    value: float | None
    threshold: float | None
    message: str
    device_id: int | None = None
    user: str | None = None
    view: AlarmView | None = None  # the alarm after this transition; None once resolved


@dataclass(frozen=True)
class AlarmView:
    """The state of one open alarm, as stored and shown."""

    session_id: int
    rule: str
    kind: str
    metric: str | None
    priority: str
    state: str  # active | acknowledged
    condition_active: bool
    value: float | None
    threshold: float | None
    message: str
    raised_at: float
    acked_at: float | None = None
    acked_by: str | None = None
    silenced_until: float | None = None
    escalated_at: float | None = None
    device_id: int | None = None


@dataclass(frozen=True)
class _Channel:
    """One condition: a metric compared with one limit."""

    rule: str  # the alarm it feeds
    metric: int
    high: bool  # True: value above the limit; False: below
    tier: str  # priority when met
    source: str  # "low" | "high" | "critical_low" | "critical_high" | "baseline"
    inclusive: bool  # baseline rises count "at least"; absolute limits "beyond"


#: Rises over the pre-dose baseline: (metric, priority when met).
_BASELINE_RULES: Final = {"sbp": "medium", "dbp": "medium", "hr": "low"}


def _build_channels() -> tuple[_Channel, ...]:
    """Each metric's channels side by side (its baseline channel right after its
    limits), so a metric's state is one column slice: gathering it for a batch
    copies a few adjacent values per session row, where indexing rows and
    columns with two arrays (np.ix_) was the main cost at 10,000 sessions."""
    out: list[_Channel] = []
    for m in METRICS:
        i = METRIC_INDEX[m]
        out += [
            _Channel(f"{m}_low", i, False, "medium", "low", False),
            _Channel(f"{m}_low", i, False, "high", "critical_low", False),
            _Channel(f"{m}_high", i, True, "medium", "high", False),
            _Channel(f"{m}_high", i, True, "high", "critical_high", False),
        ]
        if m in _BASELINE_RULES:
            out.append(
                _Channel(f"{m}_baseline_rise", i, True, _BASELINE_RULES[m], "baseline", True)
            )
    return tuple(out)


CHANNELS: Final = _build_channels()
_N_CH: Final = len(CHANNELS)
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
_RULE_CHANNELS: Final[dict[str, list[int]]] = {}
for _c, _ch in enumerate(CHANNELS):
    _RULE_CHANNELS.setdefault(_ch.rule, []).append(_c)
#: hr rises above baseline must hold 30 s (clinical-defaults.md); BP rises: first reading.
_BASELINE_FOR_S: Final = {"sbp": 0.0, "dbp": 0.0, "hr": 30.0}


@dataclass(frozen=True, slots=True)
class _Event:
    """A channel becoming met (raised) or unmet, at one sample."""

    slot: int
    ts: float
    channel: int
    raised: bool
    value: float
    limit: float
    held: float  # how long the condition had held (raise only)


@dataclass
class _Alarm:
    view: AlarmView
    raised_clock: float
    last_reminder: float | None = None
    latching: bool = False


@dataclass
class _Slot:
    cfg: SessionConfig
    bp_received: float = math.nan  # service clock of the last BP sample
    bp_ts: float = math.nan  # measurement time of the last BP sample
    devices: list[int] = field(default_factory=list)


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"


def _with_unit(metric: str, v: float) -> str:
    unit = METRIC_INFO[metric].unit
    return f"{_fmt(v)}{unit}" if unit in ("%", "/min") else f"{_fmt(v)} {unit}"


def _limit_message(ch: _Channel, value: float, limit: float, held_s: float) -> str:
    metric = METRICS[ch.metric]
    info = METRIC_INFO[metric]
    if ch.source == "baseline":  # `limit` is the baseline itself here
        rise = _fmt(value - limit)
        return f"{info.label} {_with_unit(metric, value)}, {rise} above baseline {_fmt(limit)}"
    where = "above" if ch.high else "below"
    text = f"{info.label} {_with_unit(metric, value)} {where} {_with_unit(metric, limit)}"
    return text + (f" for {held_s:.0f} s" if held_s >= 1 else "")


class _IdIndex:
    """Rows of database ids (sessions, devices), looked up for a whole batch.

    Live ids are recent autoincrement keys, so usually compact: then a direct
    table (10,000 lookups: ~10 us) rather than a binary search (~700 us at
    10,000 sessions). Rebuilt lazily: sessions are added one at a time.
    """

    def __init__(self, rows: dict[int, int]) -> None:
        self._rows = rows  # id -> row, kept by the engine
        self._stale = True
        self._ids = np.empty(0, dtype=np.int64)  # sorted
        self._id_rows = np.empty(0, dtype=np.int64)
        self._base = 0
        self._table: I64 | None = None  # row of id `base + i`, -1: none

    def changed(self) -> None:
        self._stale = True

    def _rebuild(self) -> None:
        n = len(self._rows)
        self._ids = np.fromiter(sorted(self._rows), dtype=np.int64, count=n)
        self._id_rows = np.fromiter(
            (self._rows[i] for i in self._ids.tolist()), dtype=np.int64, count=n
        )
        self._table = None
        if n and int(self._ids[-1] - self._ids[0]) < 4 * n + 1024:
            self._base = int(self._ids[0])
            self._table = np.full(int(self._ids[-1]) - self._base + 1, -1, dtype=np.int64)
            self._table[self._ids - self._base] = self._id_rows
        self._stale = False

    def lookup(self, ids: I64) -> I64:
        """The row of each id; -1 for ids not in the index."""
        if self._stale:
            self._rebuild()
        if self._table is not None:
            rel = ids - self._base
            inside = (rel >= 0) & (rel < self._table.shape[0])
            return np.where(inside, self._table[np.where(inside, rel, 0)], -1)
        if self._ids.shape[0] == 0:
            return np.full(ids.shape, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._ids, ids), self._ids.shape[0] - 1)
        return np.where(self._ids[pos] == ids, self._id_rows[pos], -1)


def _group_order(slot: I64, ts: F64, slots: int) -> I64:
    """The order of np.lexsort((ts, slot)): by session, then time, ties kept.

    Samples usually arrive in time order per device, so a stable sort on the
    slot alone is already that order; with fewer than 65,536 slots numpy
    sorts 16-bit keys by radix (20 us for 10,000 samples instead of 430 us
    for lexsort at 10,000 sessions). Checked, with lexsort as the fallback.
    """
    key = slot.astype(np.uint16) if slots <= 1 << 16 else slot
    order = np.argsort(key, kind="stable")
    s, t = slot[order], ts[order]
    if bool(np.any((t[1:] < t[:-1]) & (s[1:] == s[:-1]))):
        return np.lexsort((ts, slot))
    return order


@functools.lru_cache(maxsize=65_536)
def _device_rules(dev: int) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A device's technical-alarm rule names, written once (the clock asks every second)."""
    return f"device_offline:{dev}", tuple((m, f"signal_lost:{m}:{dev}") for m in _SIGNAL_METRICS)


class AlarmEngine:
    """Per-session alarm state in arrays indexed by a session slot."""

    def __init__(self, capacity: int = 16) -> None:
        self._slots: dict[int, int] = {}  # session id -> slot
        self._sessions: dict[int, _Slot] = {}  # slot -> session
        self._free: list[int] = []
        self._cap = 0
        # per channel: the limit (NaN: none) and how long it must hold, side by
        # side so a batch reads both with one index operation; _thr and _for
        # are views of it
        self._limits = np.empty((0, _N_CH, 2))
        self._thr, self._for = self._limits[:, :, 0], self._limits[:, :, 1]
        self._base = np.empty((0, _N_CH))  # the baseline a baseline channel compares with
        self._met = np.empty((0, _N_CH), dtype=bool)
        # per channel: start of the current condition run and of the current
        # clearing run (NaN: none), side by side so a batch reads and writes
        # both with one index operation
        self._starts = np.empty((0, _N_CH, 2))
        self._last_ts = np.empty((0, len(METRICS)))
        self._slot_index = _IdIndex(self._slots)
        self._grow(capacity)
        self._alarms: dict[tuple[int, str], _Alarm] = {}
        # devices, by row: last receive time, and per signal metric (hr, spo2)
        self._dev_row: dict[int, int] = {}
        self._dev_index = _IdIndex(self._dev_row)
        self._dev_last = np.empty(0)
        self._dev_signal = np.empty((0, len(_SIGNAL_METRICS)))

    # -- sessions -------------------------------------------------------------------

    def _grow(self, capacity: int) -> None:
        old = self._cap
        if capacity <= old:
            return

        def grown(a: npt.NDArray[np.generic], fill: object) -> npt.NDArray[np.generic]:
            out = np.full((capacity, *a.shape[1:]), fill, dtype=a.dtype)
            out[:old] = a
            return out

        self._limits = grown(self._limits, np.nan)  # type: ignore[assignment]
        self._limits[old:, :, 1] = 0.0
        self._thr, self._for = self._limits[:, :, 0], self._limits[:, :, 1]
        self._base = grown(self._base, np.nan)  # type: ignore[assignment]
        self._met = grown(self._met, False)  # type: ignore[assignment]
        self._starts = grown(self._starts, np.nan)  # type: ignore[assignment]
        self._last_ts = grown(self._last_ts, np.nan)  # type: ignore[assignment]
        self._free.extend(range(capacity - 1, old - 1, -1))
        self._cap = capacity

    def _reindex(self) -> None:
        self._slot_index.changed()

    def session_count(self) -> int:
        return len(self._slots)

    def upsert_session(self, cfg: SessionConfig) -> list[Transition]:
        """Add a session or apply new limits, dose time, baseline or devices."""
        sid = cfg.session_id
        out: list[Transition] = []
        if sid not in self._slots:
            if not self._free:
                self._grow(max(16, self._cap * 2))
            slot = self._free.pop()
            self._slots[sid] = slot
            self._sessions[slot] = _Slot(cfg)
            self._met[slot] = False
            self._starts[slot] = np.nan
            self._last_ts[slot] = np.nan
            self._reindex()
        slot = self._slots[sid]
        state = self._sessions[slot]
        previous = state.cfg
        state.cfg = cfg
        self._configure_limits(slot, cfg)
        # limits switched off while met: that condition is over
        off = self._met[slot] & np.isnan(self._thr[slot])
        if off.any():
            self._met[slot, off] = False
            for rule in sorted({CHANNELS[c].rule for c in np.flatnonzero(off)}):
                if not self._met[slot, _RULE_CHANNELS[rule]].any():
                    out += self._condition_cleared(sid, rule, self._latest(slot), "Limit removed")
        # devices bound to the session
        for dev in cfg.device_names:
            self._device_row(dev)
        for dev in state.devices:
            if dev not in cfg.device_names:
                for key in [k for k in self._alarms if k[0] == sid and _device_of(k[1]) == dev]:
                    out += self._resolve(sid, key[1], self._latest(slot), "Device unbound")
        state.devices = list(cfg.device_names)
        # a dose given: the pre-dose advisory is moot
        if cfg.first_dose_at is not None and previous.first_dose_at is None:
            out += self._resolve(sid, "predose_bp_review", cfg.first_dose_at, "Dose given")
        return out

    def _configure_limits(self, slot: int, cfg: SessionConfig) -> None:
        t = cfg.thresholds
        baseline = cfg.baseline or {}
        rises = t.baseline_rise
        for c, ch in enumerate(CHANNELS):
            metric = METRICS[ch.metric]
            if ch.source == "baseline":
                rise = getattr(rises, metric)
                base = baseline.get(metric)
                ok = rise is not None and base is not None
                self._thr[slot, c] = (base + rise) if ok else np.nan  # type: ignore[operator]
                self._base[slot, c] = base if ok else np.nan
                self._for[slot, c] = _BASELINE_FOR_S[metric]
            else:
                limits = getattr(t, metric)
                value = getattr(limits, ch.source)
                self._thr[slot, c] = np.nan if value is None else float(value)
                self._for[slot, c] = float(limits.for_s or 0.0)

    def end_session(self, session_id: int, now: float) -> list[Transition]:
        """Resolve everything of the session and free its slot."""
        out: list[Transition] = []
        for key in [k for k in self._alarms if k[0] == session_id]:
            out += self._resolve(session_id, key[1], now, "Session ended")
        slot = self._slots.pop(session_id, None)
        if slot is None:
            return out
        state = self._sessions.pop(slot)
        for dev in state.devices:  # a device bound again later starts afresh
            row = self._dev_row[dev]
            self._dev_last[row] = np.nan
            self._dev_signal[row] = np.nan
        self._thr[slot] = np.nan
        self._free.append(slot)
        self._reindex()
        return out

    # -- the hot path ---------------------------------------------------------------

    def evaluate(self, batch: SampleBatch) -> list[Transition]:
        """Alarm transitions caused by a batch of stored samples."""
        n = batch.ts.shape[0]
        if n == 0 or not self._slots:
            return []
        slot = self._slot_index.lookup(batch.session_id)
        known = slot >= 0
        if not known.all():
            batch = SampleBatch(
                batch.session_id[known],
                batch.device_id[known],
                batch.ts[known],
                batch.values[known],
                batch.received_at,
            )
            slot = slot[known]
            if batch.ts.shape[0] == 0:
                return []
        values = batch.values
        derive = np.isnan(values[:, _MAP]) & ~np.isnan(values[:, _SBP]) & ~np.isnan(values[:, _DBP])
        if derive.any():
            values = values.copy()
            values[derive, _MAP] = (values[derive, _SBP] + 2 * values[derive, _DBP]) / 3
        order = _group_order(slot, batch.ts, self._cap)
        slot, ts, values = slot[order], batch.ts[order], values[order]
        self._note_devices(batch, slot, ts, values, order)

        events: list[_Event] = []
        for m in range(len(METRICS)):
            events += self._evaluate_metric(m, slot, ts, values[:, m])
        out: list[Transition] = []
        if events:
            out += self._apply_events(events, batch.received_at)
        out += self._protocol_rules(slot, ts, values)
        return out

    def _device_row(self, dev: int) -> int:
        """The row of a device's clocks, added on first sight (rare: at binding)."""
        row = self._dev_row.get(dev)
        if row is None:
            row = len(self._dev_row)
            self._dev_row[dev] = row
            self._dev_last = np.append(self._dev_last, np.nan)
            self._dev_signal = np.vstack([self._dev_signal, np.full(len(_SIGNAL_METRICS), np.nan)])
            self._dev_index.changed()
        return row

    def _note_devices(
        self, batch: SampleBatch, slot: I64, ts: F64, values: F64, order: I64
    ) -> None:
        """Service-clock bookkeeping for technical alarms, as array writes."""
        now = batch.received_at
        rows = self._dev_index.lookup(batch.device_id[order])
        bound = rows >= 0
        rows = rows[bound]
        self._dev_last[rows] = now
        for k, name in enumerate(_SIGNAL_METRICS):
            sent = ~np.isnan(values[bound, METRIC_INDEX[name]])
            self._dev_signal[rows[sent], k] = now
        for i in np.flatnonzero(~np.isnan(values[:, _SBP])).tolist():  # cuff readings: rare
            state = self._sessions[int(slot[i])]
            state.bp_received = now
            if not ts[i] <= state.bp_ts:
                state.bp_ts = float(ts[i])

    def _evaluate_metric(self, m: int, slot_all: I64, ts_all: F64, col: F64) -> list[_Event]:
        present = ~np.isnan(col)
        if not present.any():
            return []
        slot, ts, v = slot_all[present], ts_all[present], col[present]
        last = self._last_ts[slot, m]
        fresh = ~(ts < last)  # NaN last: fresh
        if not fresh.all():
            slot, ts, v = slot[fresh], ts[fresh], v[fresh]
            if slot.shape[0] == 0:
                return []
        n = slot.shape[0]
        chans, cols = _BY_METRIC[m], _SLICE[m]
        limits = self._limits[slot, cols]  # (n, C, 2)
        thr, for_s = limits[:, :, 0], limits[:, :, 1]
        live = ~np.isnan(thr)
        if not live.any():
            self._finish_metric(m, slot, ts)
            return []
        first = np.empty(n, dtype=bool)
        first[0] = True
        first[1:] = slot[1:] != slot[:-1]
        first_i = np.flatnonzero(first)
        first_slots = slot[first_i]
        prev_ts = np.empty(n)
        prev_ts[0] = np.nan
        prev_ts[1:] = ts[:-1]
        prev_ts[first_i] = self._last_ts[first_slots, m]
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
        raise_at, run_start = self._runs(cond, first, first_i, broken, ts, for_s, carried[:, :, 0])
        clear_at, clear_start = self._runs(
            clear, first, first_i, broken, ts, for_s, carried[:, :, 1]
        )

        # carry the runs in progress at each session's last sample
        last_i = np.empty(n, dtype=bool)
        last_i[-1] = True
        last_i[:-1] = slot[1:] != slot[:-1]
        ls = slot[last_i]
        self._starts[ls, cols] = np.stack((run_start[last_i], clear_start[last_i]), axis=-1)
        self._last_ts[ls, m] = ts[last_i]

        # candidate events -> the alternating events a state machine produces:
        # consecutive duplicates removed, starting from each session's state
        kind = np.zeros((n, chans.shape[0]), dtype=np.int8)
        kind[raise_at] = 1
        kind[clear_at] = -1
        out: list[_Event] = []
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
            prev[new_slot] = np.where(self._met[s[new_slot], c], 1, -1)
            for i in idx[k != prev].tolist():
                out.append(
                    _Event(
                        slot=int(slot[i]),
                        ts=float(ts[i]),
                        channel=c,
                        raised=bool(kind[i, j] == 1),
                        value=float(v[i]),
                        limit=float(thr[i, j]),
                        held=float(ts[i] - run_start[i, j]) if kind[i, j] == 1 else 0.0,
                    )
                )
        return out

    def _finish_metric(self, m: int, slot: I64, ts: F64) -> None:
        n = slot.shape[0]
        last_i = np.empty(n, dtype=bool)
        last_i[-1] = True
        last_i[:-1] = slot[1:] != slot[:-1]
        self._last_ts[slot[last_i], m] = ts[last_i]

    @staticmethod
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

    # -- lifecycle --------------------------------------------------------------------

    def _latest(self, slot: int) -> float:
        """The newest sample time of a session (for events that have no sample)."""
        last = self._last_ts[slot]
        return (
            float(np.nanmax(last))
            if not np.isnan(last).all()
            else self._sessions[slot].cfg.started_at
        )

    def _apply_events(self, events: list[_Event], clock: float) -> list[Transition]:
        out: list[Transition] = []
        # at one instant the higher tier first: one alarm raised at high priority,
        # not a medium one escalated in the same breath
        events.sort(key=lambda e: (e.slot, e.ts, -_PRIORITY_RANK[CHANNELS[e.channel].tier]))
        for e in events:
            ch = CHANNELS[e.channel]
            sid = self._sessions[e.slot].cfg.session_id
            rule_channels = _RULE_CHANNELS[ch.rule]
            before = bool(self._met[e.slot, rule_channels].any())
            self._met[e.slot, e.channel] = e.raised
            after = bool(self._met[e.slot, rule_channels].any())
            if e.raised:
                base = self._base[e.slot, e.channel]
                shown_limit = float(base) if ch.source == "baseline" else e.limit
                message = _limit_message(ch, e.value, shown_limit, e.held)
                if not before:
                    out += self._raise(sid, ch, e, message, clock)
                else:
                    out += self._upgrade(sid, ch, e, message)
            elif before and not after:
                label = METRIC_INFO[METRICS[ch.metric]].label
                out += self._condition_cleared(sid, ch.rule, e.ts, f"{label} back within limits")
        return out

    def _raise(
        self, sid: int, ch: _Channel, e: _Event, message: str, clock: float
    ) -> list[Transition]:
        key = (sid, ch.rule)
        alarm = self._alarms.get(key)
        metric = METRICS[ch.metric]
        if alarm is not None:  # latched, condition had cleared, now back
            priority = max(alarm.view.priority, ch.tier, key=_PRIORITY_RANK.__getitem__)
            alarm.view = replace(
                alarm.view,
                condition_active=True,
                value=e.value,
                threshold=e.limit,
                message=message,
                priority=priority,
            )
            alarm.latching = alarm.latching or priority == "high"
            return [self._transition(alarm, "condition_returned", e.ts, message)]
        alarm = _Alarm(
            view=AlarmView(
                session_id=sid,
                rule=ch.rule,
                kind="physiological",
                metric=metric,
                priority=ch.tier,
                state="active",
                condition_active=True,
                value=e.value,
                threshold=e.limit,
                message=message,
                raised_at=e.ts,
            ),
            raised_clock=clock,
            latching=ch.tier == "high",
        )
        self._alarms[key] = alarm
        return [self._transition(alarm, "raised", e.ts, message)]

    def _upgrade(self, sid: int, ch: _Channel, e: _Event, message: str) -> list[Transition]:
        """A higher tier of a condition already alarming: the alarm's priority rises."""
        alarm = self._alarms.get((sid, ch.rule))
        if alarm is None or _PRIORITY_RANK[ch.tier] <= _PRIORITY_RANK[alarm.view.priority]:
            return []
        alarm.view = replace(
            alarm.view,
            priority=ch.tier,
            value=e.value,
            threshold=e.limit,
            message=message,
            escalated_at=e.ts,
        )
        alarm.latching = alarm.latching or ch.tier == "high"
        return [self._transition(alarm, "escalated", e.ts, message)]

    def _condition_cleared(self, sid: int, rule: str, ts: float, why: str) -> list[Transition]:
        alarm = self._alarms.get((sid, rule))
        if alarm is None or not alarm.view.condition_active:
            return []
        if alarm.latching and alarm.view.state == "active":
            alarm.view = replace(alarm.view, condition_active=False)
            return [self._transition(alarm, "condition_cleared", ts, why)]
        return self._resolve(sid, rule, ts, why)

    def _resolve(
        self, sid: int, rule: str, ts: float, why: str, user: str | None = None
    ) -> list[Transition]:
        alarm = self._alarms.pop((sid, rule), None)
        if alarm is None:
            return []
        alarm.view = replace(alarm.view, condition_active=False)
        t = self._transition(alarm, "resolved", ts, why, user)
        return [replace(t, view=None)]

    @staticmethod
    def _transition(
        alarm: _Alarm, action: str, ts: float, message: str, user: str | None = None
    ) -> Transition:
        v = alarm.view
        return Transition(
            session_id=v.session_id,
            rule=v.rule,
            action=action,
            kind=v.kind,
            metric=v.metric,
            priority=v.priority,
            ts=ts,
            value=v.value,
            threshold=v.threshold,
            message=message,
            device_id=v.device_id,
            user=user,
            view=v,
        )

    def _protocol_rules(self, slot: I64, ts: F64, values: F64) -> list[Transition]:
        """Esketamine: a BP above 140/90 before dosing asks for review (low)."""
        bp = np.flatnonzero(~np.isnan(values[:, _SBP]) & ~np.isnan(values[:, _DBP]))
        out: list[Transition] = []
        for i in bp.tolist():
            cfg = self._sessions[int(slot[i])].cfg
            limit = PROFILES[cfg.protocol].predose_bp_advisory
            if limit is None or (cfg.first_dose_at is not None and ts[i] >= cfg.first_dose_at):
                continue
            sbp, dbp = float(values[i, _SBP]), float(values[i, _DBP])
            key = (cfg.session_id, "predose_bp_review")
            high = sbp > limit[0] or dbp > limit[1]
            if high and key not in self._alarms:
                message = (
                    f"BP {_fmt(sbp)}/{_fmt(dbp)} mmHg before dosing, above "
                    f"{_fmt(limit[0])}/{_fmt(limit[1])}: review before dosing"
                )
                alarm = _Alarm(
                    AlarmView(
                        session_id=cfg.session_id,
                        rule=key[1],
                        kind="physiological",
                        metric="sbp",
                        priority="low",
                        state="active",
                        condition_active=True,
                        value=sbp,
                        threshold=limit[0],
                        message=message,
                        raised_at=float(ts[i]),
                    ),
                    raised_clock=float(ts[i]),
                )
                self._alarms[key] = alarm
                out.append(self._transition(alarm, "raised", float(ts[i]), message))
            elif not high and key in self._alarms:
                out += self._resolve(
                    cfg.session_id, key[1], float(ts[i]), "Pre-dose BP now within 140/90"
                )
        return out

    # -- the clock ----------------------------------------------------------------------

    def tick(self, now: float) -> list[Transition]:
        """Technical alarms, protocol timers, escalation, reminders, silence expiry."""
        out: list[Transition] = []
        # plain lists: reading numpy scalars one by one is 5-10x slower
        dev_last: list[float] = self._dev_last.tolist()
        dev_signal: list[list[float]] = self._dev_signal.tolist()
        for slot, state in self._sessions.items():
            out += self._technical(slot, state, now, dev_last, dev_signal)
        for alarm in list(self._alarms.values()):
            v = alarm.view
            if v.silenced_until is not None and now >= v.silenced_until:
                alarm.view = replace(v, silenced_until=None)
                out.append(self._transition(alarm, "silence_expired", now, "Audio pause ended"))
                v = alarm.view
            if (
                v.state == "active"
                and v.priority == "medium"
                and now - alarm.raised_clock >= ESCALATE_AFTER_S
            ):
                alarm.view = replace(v, priority="high", escalated_at=now)
                alarm.latching = v.kind == "physiological"
                out.append(
                    self._transition(
                        alarm, "escalated", now, f"{v.message}: not acknowledged within 60 s"
                    )
                )
            elif v.state == "acknowledged" and v.condition_active:
                since = alarm.last_reminder or v.acked_at or now
                if now - since >= REMINDER_EVERY_S:
                    alarm.last_reminder = now
                    out.append(self._transition(alarm, "reminder", now, f"Still: {v.message}"))
        return out

    def _technical(
        self,
        slot: int,
        state: _Slot,
        now: float,
        dev_last: list[float],
        dev_signal: list[list[float]],
    ) -> list[Transition]:
        """A session's clock-driven conditions. Runs every second for every session,
        so a condition whose state is unchanged (nearly all) costs one lookup: the
        messages are only written for a raise or a clear."""
        cfg = state.cfg
        sid = cfg.session_id
        out: list[Transition] = []
        for dev in state.devices:
            offline_rule, signal_rules = _device_rules(dev)
            row = self._dev_row[dev]
            last = dev_last[row]
            silent_for = now - (cfg.started_at if math.isnan(last) else last)
            offline = silent_for > OFFLINE_AFTER_S
            if offline != ((sid, offline_rule) in self._alarms):
                name = cfg.device_names.get(dev, f"device {dev}")
                out += self._condition(
                    sid,
                    offline_rule,
                    offline,
                    now,
                    "high",
                    None,
                    dev,
                    "technical",
                    f"{name} offline (no data for {OFFLINE_AFTER_S:.0f} s)",
                )
            for k, (metric, rule) in enumerate(signal_rules):
                seen = dev_signal[row][k]
                lost = not math.isnan(seen) and not offline and now - seen > SIGNAL_LOST_AFTER_S
                if lost == ((sid, rule) in self._alarms):
                    continue
                name = cfg.device_names.get(dev, f"device {dev}")
                out += self._condition(
                    sid,
                    rule,
                    lost,
                    now,
                    "medium",
                    metric,
                    dev,
                    "technical",
                    f"No {METRIC_INFO[metric].label} signal from {name}",
                )
        profile = PROFILES[cfg.protocol]
        if state.devices:
            ref = cfg.started_at if math.isnan(state.bp_received) else state.bp_received
            overdue = now - ref > profile.cuff_interval_s + BP_OVERDUE_GRACE_S
            out += self._condition(
                sid,
                "bp_overdue",
                overdue,
                now,
                "low",
                "sbp",
                None,
                "technical",
                "BP measurement overdue",
            )
        if profile.bp_check_after_dose_s is not None and cfg.first_dose_at is not None:
            # judged on the samples' clock: "no BP by the time the monitor's data
            # reaches dose + 50 min" (a silent monitor has its own alarm)
            due = cfg.first_dose_at + profile.bp_check_after_dose_s
            got = not math.isnan(state.bp_ts) and state.bp_ts >= due - BP_CHECK_WINDOW_S
            missing = not got and self._latest(slot) > due + BP_CHECK_WINDOW_S
            if missing != ((sid, "bp_check_due") in self._alarms):
                minutes = profile.bp_check_after_dose_s / 60
                out += self._condition(
                    sid,
                    "bp_check_due",
                    missing,
                    now,
                    "low",
                    "sbp",
                    None,
                    "physiological",
                    f"BP check due {minutes:.0f} min after dose: no reading yet",
                )
        return out

    def _condition(
        self,
        sid: int,
        rule: str,
        present: bool,
        now: float,
        priority: str,
        metric: str | None,
        dev: int | None,
        kind: str,
        message: str,
    ) -> list[Transition]:
        """Raise or resolve a clock-driven condition that never latches."""
        key = (sid, rule)
        if present and key not in self._alarms:
            alarm = _Alarm(
                AlarmView(
                    session_id=sid,
                    rule=rule,
                    kind=kind,
                    metric=metric,
                    priority=priority,
                    state="active",
                    condition_active=True,
                    value=None,
                    threshold=None,
                    message=message,
                    raised_at=now,
                    device_id=dev,
                ),
                raised_clock=now,
            )
            self._alarms[key] = alarm
            return [self._transition(alarm, "raised", now, message)]
        if not present and key in self._alarms:
            return self._resolve(sid, rule, now, "Signal back" if kind == "technical" else "Done")
        return []

    # -- staff actions ------------------------------------------------------------------

    def acknowledge(self, session_id: int, rule: str, now: float, user: str) -> list[Transition]:
        alarm = self._alarms.get((session_id, rule))
        if alarm is None:
            return []
        if alarm.view.state == "acknowledged":
            return []
        alarm.view = replace(
            alarm.view, state="acknowledged", acked_at=now, acked_by=user, silenced_until=None
        )
        alarm.last_reminder = now
        out = [self._transition(alarm, "acknowledged", now, f"Acknowledged by {user}", user)]
        if not alarm.view.condition_active:
            out += self._resolve(
                session_id, rule, now, "Acknowledged after the condition cleared", user
            )
        return out

    def silence(
        self, session_id: int, rule: str, now: float, seconds: float, user: str
    ) -> list[Transition]:
        alarm = self._alarms.get((session_id, rule))
        if alarm is None:
            return []
        seconds = min(max(seconds, 1.0), SILENCE_MAX_S)
        alarm.view = replace(alarm.view, silenced_until=now + seconds)
        return [
            self._transition(
                alarm, "silenced", now, f"Audio paused {seconds:.0f} s by {user}", user
            )
        ]

    # -- views and recovery -------------------------------------------------------------

    def alarm(self, session_id: int, rule: str) -> AlarmView | None:
        alarm = self._alarms.get((session_id, rule))
        return None if alarm is None else alarm.view

    def active_alarms(self, session_id: int | None = None) -> list[AlarmView]:
        return [
            a.view
            for (sid, _), a in self._alarms.items()
            if session_id is None or sid == session_id
        ]

    def replay(self, batch: SampleBatch) -> None:
        """Rebuild sustain state from stored samples; their alarms are already stored."""
        self.evaluate(batch)

    def clear_alarms(self) -> None:
        """Forget alarms raised by replay, before restoring the stored ones."""
        self._alarms.clear()

    def restore_alarm(self, view: AlarmView) -> None:
        """Take an open alarm from storage; storage wins over replayed conditions."""
        key = (view.session_id, view.rule)
        self._alarms[key] = _Alarm(
            view=view,
            raised_clock=view.escalated_at or view.raised_at,
            last_reminder=view.acked_at,
            latching=view.kind == "physiological" and view.priority == "high",
        )
        slot = self._slots.get(view.session_id)
        channels = _RULE_CHANNELS.get(view.rule)
        if slot is None or channels is None:
            return
        if not view.condition_active:
            self._met[slot, channels] = False
        elif not self._met[slot, channels].any():
            tier = [c for c in channels if CHANNELS[c].tier == view.priority] or channels
            self._met[slot, tier[0]] = True


def _device_of(rule: str) -> int | None:
    """The device a technical rule key names ("device_offline:3" -> 3)."""
    head, _, tail = rule.rpartition(":")
    return int(tail) if head and tail.isdigit() else None
