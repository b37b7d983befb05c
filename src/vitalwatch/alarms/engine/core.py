"""The alarm engine: pure numpy and plain Python, no I/O, no clock of its own.

Like Prometheus' rule evaluation, it is a function of its inputs: batches of
stored samples (`evaluate`, `resync`), the service clock (`tick`), nurses'
actions (`acknowledge`, `silence`), observations (`observe`) and outside
judgements (`escalate`). It returns transitions; the alarm service stores
and publishes them.

Layers: `channels` finds when limits become met (vectorised); this module
folds channel events into conditions and conditions into one alarm per
clinical problem; `lifecycle.apply` is the only place an alarm changes
state; `technical` judges clock-driven conditions; `messages` words it all.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from vitalwatch.alarms.engine.board import Board
from vitalwatch.alarms.engine.channels import (
    CHANNELS,
    CONDITION_CHANNELS,
    ChannelBank,
    ChannelEvent,
)
from vitalwatch.alarms.engine.indexing import IdIndex, group_order
from vitalwatch.alarms.engine.lifecycle import (
    ESCALATE_AFTER_S,
    Acknowledge,
    Alarm,
    Close,
    Condition,
    ConditionsChanged,
    Escalate,
    Silence,
    Step,
    Tick,
    apply,
)
from vitalwatch.alarms.engine.messages import condition_note, fmt_of, physiological
from vitalwatch.alarms.engine.model import (
    F64,
    I64,
    RANK,
    Action,
    AlarmView,
    SessionConfig,
    Transition,
)
from vitalwatch.alarms.engine.protocol import observe as protocol_observe
from vitalwatch.alarms.engine.protocol import predose_review
from vitalwatch.alarms.engine.technical import (
    UNWATCHED_AFTER_S,
    DeviceClocks,
    SessionClock,
    judge,
    monitor_rule,
    watched,
)
from vitalwatch.samples import SampleBatch
from vitalwatch.vitals import METRIC_INDEX, METRICS, PROFILES

_HR, _SBP, _DBP, _MAP = (METRIC_INDEX[m] for m in ("hr", "sbp", "dbp", "map"))
#: Limit problems: the alarms that channels feed.
LIMIT_PROBLEMS: Final = frozenset(ch.problem for ch in CHANNELS)
#: Cuff metrics: every new reading is news; others are republished at most this often.
_SPARSE: Final = frozenset(("sbp", "dbp", "map"))
UPDATE_EVERY_S: Final = 2.0


@dataclass
class _Session:
    cfg: SessionConfig
    slot: int
    devices: list[int] = field(default_factory=list)
    clock: SessionClock = field(default_factory=SessionClock)


class AlarmEngine:
    """Alarm state of many sessions: arrays by session slot, alarms by session and problem."""

    def __init__(
        self,
        capacity: int = 16,
        escalate_after: dict[str, float] | None = None,
        delivery_timeout: float | None = None,
        unwatched_after: float = UNWATCHED_AFTER_S,
    ) -> None:
        self._slots: dict[int, int] = {}  # session id -> slot
        self._sessions: dict[int, _Session] = {}  # slot -> session
        self._free: list[int] = []
        self._bank = ChannelBank(0)
        self._last_sample = np.empty(0)  # service clock of each slot's last sample
        self._slot_index = IdIndex(self._slots)
        self._grow(capacity)
        self._board = Board()
        self._devices = DeviceClocks()
        self._escalate_after = dict(escalate_after or ESCALATE_AFTER_S)
        self._delivery_timeout = delivery_timeout
        self._unwatched_since: float | None = None
        #: Slots whose protocol reviews the BP before dosing, not dosed yet.
        self._predose: set[int] = set()
        self._unwatched_after = unwatched_after
        #: Sessions whose last `evaluate` had samples older than ones already
        #: evaluated, with the oldest such time: `resync` them from storage.
        self.stale: dict[int, float] = {}

    # -- sessions -------------------------------------------------------------------

    def _grow(self, capacity: int) -> None:
        old = self._bank.capacity
        if capacity <= old:
            return
        self._bank.grow(capacity)
        self._last_sample = np.concatenate([self._last_sample, np.full(capacity - old, np.nan)])
        self._free.extend(range(capacity - 1, old - 1, -1))

    def session_count(self) -> int:
        return len(self._slots)

    def upsert_session(self, cfg: SessionConfig) -> list[Transition]:
        """Add a session or apply new limits, dose time, baseline or devices."""
        sid = cfg.session_id
        if sid not in self._slots:
            if not self._free:
                self._grow(max(16, self._bank.capacity * 2))
            slot = self._free.pop()
            self._slots[sid] = slot
            self._sessions[slot] = _Session(cfg, slot)
            self._bank.reset(slot)
            self._last_sample[slot] = np.nan
            self._slot_index.changed()
        slot = self._slots[sid]
        state = self._sessions[slot]
        previous, state.cfg = state.cfg, cfg
        self._bank.configure(slot, cfg.thresholds, cfg.baseline or {})
        if PROFILES[cfg.protocol].predose_bp_advisory and cfg.first_dose_at is None:
            self._predose.add(slot)
        else:
            self._predose.discard(slot)
        now = self._newest(slot)
        out: list[Transition] = []
        # limits switched off while met: those conditions are over
        off = np.flatnonzero(self._bank.met[slot] & np.isnan(self._bank.thr[slot]))
        if off.size:
            latest = self._bank.last_val[slot]
            out += self._apply_channel_events(
                [
                    ChannelEvent(slot, now, c, False, float(latest[CHANNELS[c].metric]), 0.0, now)
                    for c in off.tolist()
                ],
                now,
            )
        out += self._refresh_limits(slot)
        for dev in cfg.device_names:
            self._devices.add(dev)
        for dev in state.devices:
            if dev not in cfg.device_names:
                out += self._close(sid, monitor_rule(dev), now, "Monitor unbound")
        state.devices = list(cfg.device_names)
        if cfg.first_dose_at is not None and previous.first_dose_at is None:
            out += self._close(sid, "predose_bp_review", cfg.first_dose_at, "Dose given")
        return out

    def end_session(self, session_id: int, now: float, user: str | None = None) -> list[Transition]:
        """Resolve everything of the session (by whoever ended it) and free its slot."""
        out: list[Transition] = []
        for alarm in self._board.of_session(session_id):
            out += self._close(session_id, alarm.rule, now, "Session ended", user)
        self._board.drop_session(session_id)
        slot = self._slots.pop(session_id, None)
        if slot is None:
            return out
        state = self._sessions.pop(slot)
        self._predose.discard(slot)
        for dev in state.devices:
            self._devices.forget(dev)
        self._bank.free(slot)
        self._free.append(slot)
        self._slot_index.changed()
        return out

    # -- samples --------------------------------------------------------------------

    def evaluate(self, batch: SampleBatch) -> list[Transition]:
        """Alarm transitions caused by a batch of stored samples."""
        self.stale = {}
        if len(batch) == 0 or not self._slots:
            return []
        ts, now = _seconds(batch)
        device, values = batch.device_id, batch.values
        slot = self._slot_index.lookup(batch.session_id)
        known = slot >= 0
        if not known.all():
            slot, device, ts, values = slot[known], device[known], ts[known], values[known]
            if ts.shape[0] == 0:
                return []
        values = _with_map(values)
        order = group_order(slot, ts, self._bank.capacity)
        slot, ts, values = slot[order], ts[order], values[order]
        self._devices.note(device[order], values, now)
        self._last_sample[slot] = now
        self._note_bp(slot, ts, values, now)
        events, stale = self._bank.evaluate(slot, ts, values)
        out = self._apply_channel_events(events, now) if events else []
        out += self._refresh(slot, ts, values, now)
        if self._predose:  # a session awaiting its dose whose protocol reviews pre-dose BP
            bp = ~np.isnan(values[:, _SBP]) & np.isin(slot, list(self._predose))
            if bp.any():
                configs = [self._sessions[s].cfg for s in slot[bp].tolist()]
                out += predose_review(self._board, configs, ts[bp], values[bp], now)
        self.stale = {self._sessions[s].cfg.session_id: t for s, t in stale.items()}
        return out

    def resync(self, session_id: int, history: SampleBatch, since: float) -> list[Transition]:
        """Judge a session again in measurement order, from its stored samples.

        `history` is every stored sample of the session from a while before
        `since` (the oldest sample that arrived after newer ones). The channels
        are replayed from a fresh state; what changed at or after `since` is
        applied to the alarms as if it had arrived in order, so a backlog that
        sustains a condition raises its alarm, and one that clears it clears it.
        """
        slot = self._slots.get(session_id)
        if slot is None or len(history) == 0:
            return []
        ts, clock = _seconds(history)
        values = _with_map(history.values)
        order = np.argsort(ts, kind="stable")
        ts, values = ts[order], values[order]
        slots = np.full(ts.shape[0], slot, dtype=np.int64)
        believed = self._bank.met[slot].copy()
        self._bank.reset(slot)
        events, _ = self._bank.evaluate(slots, ts, values)
        replayed = self._bank.met[slot].copy()  # all False: evaluate does not apply
        for e in sorted(events, key=lambda e: e.ts):
            replayed[e.channel] = e.raised
        self._bank.met[slot] = believed
        late = [e for e in events if e.ts >= since]
        out = self._apply_channel_events(late, clock) if late else []
        newest = float(ts[-1])
        drift = np.flatnonzero(self._bank.met[slot] != replayed)
        if drift.size:
            out += self._apply_channel_events(
                [self._now_event(slot, int(c), bool(replayed[c]), newest) for c in drift], clock
            )
        keep = ts >= since
        out += self._refresh(slots[keep], ts[keep], values[keep], clock)
        return out

    def _now_event(self, slot: int, c: int, raised: bool, ts: float) -> ChannelEvent:
        ch = CHANNELS[c]
        value = float(self._bank.last_val[slot, ch.metric])
        return ChannelEvent(slot, ts, c, raised, value, float(self._bank.thr[slot, c]), ts)

    def _note_bp(self, slot: I64, ts: F64, values: F64, now: float) -> None:
        for i in np.flatnonzero(~np.isnan(values[:, _SBP])).tolist():  # cuff readings: rare
            clock = self._sessions[int(slot[i])].clock
            clock.bp_received = now
            if not ts[i] <= clock.bp_ts:
                clock.bp_ts = float(ts[i])

    def _newest(self, slot: int) -> float:
        newest = self._bank.newest(slot)
        return self._sessions[slot].cfg.started_at if math.isnan(newest) else newest

    # -- channel events -> conditions -> alarms -----------------------------------------

    def _tier(self, slot: int, condition: str) -> tuple[str | None, int | None]:
        """The highest tier of a condition met now, and its channel."""
        best: tuple[str | None, int | None] = (None, None)
        for c in CONDITION_CHANNELS[condition]:
            tier = CHANNELS[c].tier
            if self._bank.met[slot, c] and (best[0] is None or RANK[tier] > RANK[best[0]]):
                best = (tier, c)
        return best

    def _apply_channel_events(self, events: list[ChannelEvent], clock: float) -> list[Transition]:
        """Fold channel events into alarms: all events of one problem at one
        instant together, so a reading beyond several limits raises one alarm
        at its highest priority, not a medium one made high in the same breath."""
        out: list[Transition] = []
        key = _problem_key
        events.sort(key=key)
        for (slot, ts, problem), group in itertools.groupby(events, key=key):
            moved = list(group)
            conditions = dict.fromkeys(CHANNELS[e.channel].condition for e in moved)
            before = {c: self._tier(slot, c)[0] for c in conditions}
            for e in moved:
                self._bank.met[slot, e.channel] = e.raised
            changes = {c: self._tier(slot, c) for c in conditions}
            changes = {c: tt for c, tt in changes.items() if tt[0] != before[c]}
            if changes:
                out += self._problem_moved(slot, problem, ts, moved, changes, clock)
        return out

    def _problem_moved(
        self,
        slot: int,
        problem: str,
        ts: float,
        moved: list[ChannelEvent],
        changes: dict[str, tuple[str | None, int | None]],
        clock: float,
    ) -> list[Transition]:
        sid = self._sessions[slot].cfg.session_id
        alarm = self._board.get(sid, problem)
        tiers = [tier for tier, _ in changes.values() if tier is not None]
        if alarm is None and not tiers:
            return []
        new = alarm is None
        if alarm is None:
            alarm = self._board.new(sid, problem, "physiological", ts, clock)
        value_of: dict[str, float] = {METRICS[CHANNELS[e.channel].metric]: e.value for e in moved}
        since_of = {CHANNELS[e.channel].condition: e.since for e in moved if e.raised}
        steps = [
            self._condition_moved(slot, alarm, name, tier_top, value_of, since_of.get(name, ts), ts)
            for name, tier_top in changes.items()
        ]
        for cond in alarm.conditions.values():  # the same reading, seen by every condition
            if cond.metric in value_of and cond.rule not in changes:
                cond.note(value_of[cond.metric], ts)
        highest = max(tiers, key=RANK.__getitem__) if tiers else None
        lifecycle = (
            self._board.raise_(alarm, highest)
            if new
            else apply(alarm, ConditionsChanged(ts, clock))
        )
        if len(steps) == 1 and lifecycle:  # one condition: its raise or resolve says it all
            steps = []
        self._describe(alarm, slot)
        return self._board.emit(alarm, [*steps, *lifecycle], ts)

    def _condition_moved(
        self,
        slot: int,
        alarm: Alarm,
        name: str,
        tier_top: tuple[str | None, int | None],
        value_of: dict[str, float],
        since: float,
        ts: float,
    ) -> Step:
        """One condition of the alarm met at a (new) tier, or ended: its step."""
        tier, top = tier_top
        ch = CHANNELS[CONDITION_CHANNELS[name][0]]
        cond = alarm.conditions.setdefault(name, Condition(name, METRICS[ch.metric], ch.high))
        if tier is not None and top is not None:
            limit, cond.baseline = self._limit_of(slot, top)
            cond.meet(tier, value_of[cond.metric or ""], limit, since, ts)
        else:
            cond.end()
        return Step(
            Action.CONDITION_MET if tier is not None else Action.CONDITION_ENDED,
            condition_note(cond, tier),
            condition=name,
            priority=tier or cond.peak,
            value=cond.value,
            limit=cond.limit,
        )

    def _limit_of(self, slot: int, channel: int) -> tuple[float, float | None]:
        """The limit a channel compares with, and the baseline behind a rise."""
        limit = float(self._bank.thr[slot, channel])
        if CHANNELS[channel].source != "baseline":
            return limit, None
        return limit, float(self._bank.base[slot, channel])

    def _describe(self, alarm: Alarm, slot: int) -> None:
        if alarm.rule in LIMIT_PROBLEMS:
            last = self._bank.last_val[slot]
            latest = {m: float(last[METRIC_INDEX[m]]) for m in ("sbp", "dbp", "map")}
            alarm.message = physiological(
                alarm, {m: v for m, v in latest.items() if not math.isnan(v)}
            )

    def _refresh(self, slot: I64, ts: F64, values: F64, clock: float) -> list[Transition]:
        """Live values and worst values of the limit alarms these samples touch.

        Per metric, each session's highest and lowest value in the batch come
        from one `reduceat` over the slot-sorted samples; a session's rows are
        only looked at when a condition began inside the batch or a new worst
        needs its time."""
        if not self._board or slot.shape[0] == 0:
            return []
        starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
        groups = _Groups(slot, ts, values, starts)
        out: list[Transition] = []
        for sid, alarms in self._board.sessions():
            s = self._slots.get(sid)
            g = None if s is None else groups.index(s)
            if s is None or g is None:
                continue
            for alarm in alarms:
                if alarm.rule in LIMIT_PROBLEMS and self._refresh_alarm(alarm, s, g, groups, clock):
                    step = Step(Action.UPDATED, alarm.message, None)
                    out += self._board.emit(alarm, [step], clock)
        return out

    def _refresh_alarm(
        self, alarm: Alarm, slot: int, g: int, groups: _Groups, clock: float
    ) -> bool:
        """True when the alarm's words changed and are to be published: at once
        when a number it quotes reads differently (the tile shows the same
        sample), else at most every `UPDATE_EVERY_S` (a running duration)."""
        quoted = sparse = False
        for cond in alarm.conditions.values():
            if cond.metric is None:
                continue
            m = METRIC_INDEX[cond.metric]
            before = (_shown(cond.metric, cond.value), _shown(cond.metric, cond.worst))
            worst = groups.extreme(m, g, cond.high, cond.since, cond.worst)
            if worst is not None:
                cond.note(*worst)
            value, at = float(self._bank.last_val[slot, m]), float(self._bank.last_ts[slot, m])
            if not math.isnan(value) and at != cond.value_at:
                cond.note(value, at)
            if (_shown(cond.metric, cond.value), _shown(cond.metric, cond.worst)) != before:
                quoted = True
                sparse = sparse or cond.metric in _SPARSE
        if not (quoted or sparse or clock - alarm.updated_clock >= UPDATE_EVERY_S):
            return False
        words = alarm.message
        self._describe(alarm, slot)
        if alarm.message == words:
            return False
        alarm.updated_clock = clock
        return True

    def _refresh_limits(self, slot: int) -> list[Transition]:
        """New limits or a new baseline: an open alarm quotes the new limit when
        its value is past it too; else the old one, the reason it still holds
        until it clears."""
        sid = self._sessions[slot].cfg.session_id
        out: list[Transition] = []
        for alarm in self._board.of_session(sid):
            if alarm.rule not in LIMIT_PROBLEMS:
                continue
            changed = False
            for cond in alarm.conditions.values():
                tier, top = self._tier(slot, cond.rule)
                if tier is None or top is None:
                    continue
                limit, base = self._limit_of(slot, top)
                if (limit, base) != (cond.limit, cond.baseline) and _judged_by(cond, limit):
                    cond.limit, cond.baseline, changed = limit, base, True
            if changed:
                self._describe(alarm, slot)
                out += self._board.emit(
                    alarm, [Step(Action.UPDATED, "Limits changed", None)], self._newest(slot)
                )
        return out

    # -- problems set by rules other than channels --------------------------------------

    def observe(
        self, session_id: int, kind: str, value: float, ts: float, clock: float
    ) -> list[Transition]:
        """A nurse's observation that rules read (MOAA/S <= 2: deep sedation)."""
        if session_id not in self._slots:
            return []
        return protocol_observe(self._board, session_id, kind, value, ts, clock)

    # -- the clock --------------------------------------------------------------------

    def tick(self, now: float) -> list[Transition]:
        """Technical alarms, protocol timers, escalation, reminders, silence expiry."""
        out: list[Transition] = []
        rows, dev_last, dev_signal = self._devices.lists()
        for slot, state in self._sessions.items():
            state.clock.last_sample = float(self._last_sample[slot])
            out += judge(
                self._board,
                state.cfg,
                state.clock,
                state.devices,
                self._bank.newest(slot),
                now,
                rows,
                dev_last,
                dev_signal,
            )
        event = Tick(now, self._escalate_after, self._delivery_timeout)
        for _, alarms in self._board.sessions():
            for alarm in alarms:
                steps = apply(alarm, event)
                if steps:
                    out += self._board.emit(alarm, steps, now)
        return out

    def watch(self, now: float, watching: int, active: bool) -> list[Transition]:
        """How many dashboards can alert a nurse now, and whether sessions are
        monitored (the station's own "no dashboard" alarm; its owner asks)."""
        self._unwatched_since, out = watched(
            self._board, self._unwatched_since, now, watching, active, self._unwatched_after
        )
        return out

    # -- staff actions and outside judgements -------------------------------------------

    def acknowledge(self, session_id: int, rule: str, now: float, user: str) -> list[Transition]:
        return self._board.input(session_id, rule, Acknowledge(now, user), now)

    def silence(
        self, session_id: int, rule: str, now: float, seconds: float, user: str
    ) -> list[Transition]:
        return self._board.input(session_id, rule, Silence(now, seconds, user), now)

    def escalate(self, session_id: int, rule: str, now: float, reason: str) -> list[Transition]:
        """Hand an alarm to people now (it reached no screen that could alert a nurse)."""
        return self._board.input(session_id, rule, Escalate(now, reason), now)

    def _close(
        self, session_id: int, rule: str, ts: float, reason: str, user: str | None = None
    ) -> list[Transition]:
        return self._board.input(session_id, rule, Close(ts, reason, user), ts)

    # -- views and recovery -------------------------------------------------------------

    def active_alarms(self, session_id: int | None = None) -> list[AlarmView]:
        return self._board.views(session_id)

    def set_id(self, session_id: int, rule: str, alarm_id: int) -> None:
        """The store's key of an open alarm, once stored."""
        self._board.set_id(session_id, rule, alarm_id)

    def delivered(
        self, alarm_id: int, dashboard: str, at: float, visible: bool, sound: bool
    ) -> bool:
        """A dashboard confirmed it showed an open alarm; True if it is one of ours."""
        return self._board.delivered(alarm_id, dashboard, at, visible, sound)

    def view_of(self, alarm_id: int) -> AlarmView | None:
        return self._board.view_of(alarm_id)

    def replay(self, batch: SampleBatch) -> None:
        """Rebuild sustain state from stored samples; their alarms are already stored."""
        self.evaluate(batch)

    def clear_alarms(self) -> None:
        """Forget alarms raised by replay, before restoring the stored ones."""
        self._board.clear()

    def restore_alarm(self, view: AlarmView) -> None:
        """Take an open alarm from storage; storage wins over replayed conditions."""
        self._board.restore(view)
        slot = self._slots.get(view.session_id)
        if slot is None or view.rule not in LIMIT_PROBLEMS:
            return
        for c in view.conditions:
            for ch in CONDITION_CHANNELS.get(c.rule, ()):
                tier = CHANNELS[ch].tier
                self._bank.met[slot, ch] = c.active and RANK[tier] <= RANK[c.priority]


_PROBLEM_OF: Final = tuple(ch.problem for ch in CHANNELS)


def _seconds(batch: SampleBatch) -> tuple[F64, float]:
    """A batch's measurement times and receive time in seconds: samples are
    stored in epoch ms, the engine's clock is float epoch seconds."""
    return batch.ts_ms.astype(np.float64) / 1000.0, batch.received_ms / 1000.0


def _problem_key(e: ChannelEvent) -> tuple[int, float, str]:
    return (e.slot, e.ts, _PROBLEM_OF[e.channel])


class _Groups:
    """One batch's samples, sorted by slot then time, grouped by slot."""

    def __init__(self, slot: I64, ts: F64, values: F64, starts: I64) -> None:
        self._slot, self._ts, self._values, self._starts = slot, ts, values, starts
        self._ends = np.r_[starts[1:], slot.shape[0]]
        self._slots = slot[starts]
        self._high: dict[int, F64] = {}
        self._low: dict[int, F64] = {}

    def index(self, slot: int) -> int | None:
        g = int(np.searchsorted(self._slots, slot))
        return g if g < self._slots.shape[0] and self._slots[g] == slot else None

    def _rows(self, m: int, g: int) -> tuple[F64, F64]:
        lo, hi = self._starts[g], self._ends[g]
        col, t = self._values[lo:hi, m], self._ts[lo:hi]
        seen = ~np.isnan(col)
        return t[seen], col[seen]

    def extreme(
        self, m: int, g: int, high: bool, since: float | None, worst: float | None
    ) -> tuple[float, float] | None:
        """(value, time) of metric `m`'s worst value in group `g` (from `since`),
        or None when it is no worse than `worst`: then the rows are not read."""
        if since is not None and since > self._ts[self._starts[g]]:
            t, v = self._rows(m, g)  # the condition began inside this batch
            keep = t >= since
            t, v = t[keep], v[keep]
        else:
            cache = self._high if high else self._low
            if m not in cache:
                reduce = np.fmax if high else np.fmin
                with np.errstate(invalid="ignore"):
                    cache[m] = reduce.reduceat(self._values[:, m], self._starts)
            x = float(cache[m][g])
            if math.isnan(x) or (worst is not None and not (x > worst if high else x < worst)):
                return None
            t, v = self._rows(m, g)
        if v.shape[0] == 0:
            return None
        i = int(np.argmax(v) if high else np.argmin(v))
        return float(v[i]), float(t[i])


def _shown(metric: str, v: float | None) -> str | None:
    """A value as an alarm's words quote it (a change below that is no news)."""
    return None if v is None else fmt_of(metric, v)


def _judged_by(cond: Condition, limit: float) -> bool:
    """The condition's current value is past `limit` (a rise: at or past it)."""
    if cond.value is None or math.isnan(limit):
        return False
    if cond.rule.endswith("_baseline_rise"):
        return cond.value >= limit
    return cond.value > limit if cond.high else cond.value < limit


def _with_map(values: F64) -> F64:
    """MAP derived as (SBP + 2 DBP) / 3 where a BP reading came without one."""
    derive = np.isnan(values[:, _MAP]) & ~np.isnan(values[:, _SBP]) & ~np.isnan(values[:, _DBP])
    if not derive.any():
        return values
    values = values.copy()
    values[derive, _MAP] = (values[derive, _SBP] + 2 * values[derive, _DBP]) / 3
    return values
