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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from vitalwatch.alarms.engine import messages, technical
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
    Input,
    Silence,
    Step,
    Tick,
    apply,
)
from vitalwatch.alarms.engine.model import (
    F64,
    I64,
    RANK,
    Action,
    AlarmView,
    SampleBatch,
    SessionConfig,
    State,
    Transition,
)
from vitalwatch.alarms.engine.technical import DeviceClocks, SessionClock, Wanted
from vitalwatch.alarms.thresholds import PROFILES
from vitalwatch.vitals import METRIC_INDEX, METRICS

_HR, _SBP, _DBP, _MAP = (METRIC_INDEX[m] for m in ("hr", "sbp", "dbp", "map"))
#: Limit problems: the alarms that channels feed.
LIMIT_PROBLEMS: Final = frozenset(ch.problem for ch in CHANNELS)
#: Cuff metrics: every new reading is news; others are republished at most this often.
_SPARSE: Final = frozenset(("sbp", "dbp", "map"))
UPDATE_EVERY_S: Final = 2.0
#: MOAA/S at or below this is deep sedation (a high alarm).
SEDATION_ALARM_AT: Final = 2


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
    ) -> None:
        self._slots: dict[int, int] = {}  # session id -> slot
        self._sessions: dict[int, _Session] = {}  # slot -> session
        self._free: list[int] = []
        self._bank = ChannelBank(0)
        self._last_sample = np.empty(0)  # service clock of each slot's last sample
        self._slot_index = IdIndex(self._slots)
        self._grow(capacity)
        self._alarms: dict[int, dict[str, Alarm]] = {}  # session -> problem -> open alarm
        self._devices = DeviceClocks()
        self._escalate_after = dict(escalate_after or ESCALATE_AFTER_S)
        self._delivery_timeout = delivery_timeout
        self._by_id: dict[int, Alarm] = {}  # open alarms by the store's key
        self._uids = itertools.count(1)  # tells apart alarms of one problem over time
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
                out += self._close(sid, technical.monitor_rule(dev), now, "Monitor unbound")
        state.devices = list(cfg.device_names)
        if cfg.first_dose_at is not None and previous.first_dose_at is None:
            out += self._close(sid, "predose_bp_review", cfg.first_dose_at, "Dose given")
        return out

    def end_session(self, session_id: int, now: float, user: str | None = None) -> list[Transition]:
        """Resolve everything of the session (by whoever ended it) and free its slot."""
        out: list[Transition] = []
        for rule in list(self._alarms.get(session_id, {})):
            out += self._close(session_id, rule, now, "Session ended", user)
        self._alarms.pop(session_id, None)
        slot = self._slots.pop(session_id, None)
        if slot is None:
            return out
        state = self._sessions.pop(slot)
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
        if batch.ts.shape[0] == 0 or not self._slots:
            return []
        slot = self._slot_index.lookup(batch.session_id)
        known = slot >= 0
        if not known.all():
            slot = slot[known]
            batch = SampleBatch(
                batch.session_id[known],
                batch.device_id[known],
                batch.ts[known],
                batch.values[known],
                batch.received_at,
            )
            if batch.ts.shape[0] == 0:
                return []
        values = _with_map(batch.values)
        order = group_order(slot, batch.ts, self._bank.capacity)
        slot, ts, values = slot[order], batch.ts[order], values[order]
        now = batch.received_at
        self._devices.note(batch.device_id[order], values, now)
        self._last_sample[slot] = now
        self._note_bp(slot, ts, values, now)
        events, stale = self._bank.evaluate(slot, ts, values)
        out = self._apply_channel_events(events, now) if events else []
        out += self._refresh(slot, ts, values, now)
        out += self._protocol_rules(slot, ts, values, now)
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
        if slot is None or history.ts.shape[0] == 0:
            return []
        values = _with_map(history.values)
        order = np.argsort(history.ts, kind="stable")
        ts, values = history.ts[order], values[order]
        slots = np.full(ts.shape[0], slot, dtype=np.int64)
        believed = self._bank.met[slot].copy()
        self._bank.reset(slot)
        events, _ = self._bank.evaluate(slots, ts, values)
        replayed = self._bank.met[slot].copy()  # all False: evaluate does not apply
        for e in sorted(events, key=lambda e: e.ts):
            replayed[e.channel] = e.raised
        self._bank.met[slot] = believed
        clock = history.received_at
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
        events.sort(key=lambda e: (e.slot, e.ts, CHANNELS[e.channel].problem))
        for (slot, ts, problem), group in itertools.groupby(
            events, key=lambda e: (e.slot, e.ts, CHANNELS[e.channel].problem)
        ):
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
        alarm = self._alarms.get(sid, {}).get(problem)
        tiers = [tier for tier, _ in changes.values() if tier is not None]
        if alarm is None and not tiers:
            return []
        new = alarm is None
        if alarm is None:
            alarm = self._new_alarm(sid, problem, "physiological", ts, clock)
        value_of: dict[str, float] = {METRICS[CHANNELS[e.channel].metric]: e.value for e in moved}
        since_of = {CHANNELS[e.channel].condition: e.since for e in moved if e.raised}
        steps: list[Step] = []
        for name, (tier, top) in changes.items():
            ch = CHANNELS[CONDITION_CHANNELS[name][0]]
            cond = alarm.conditions.setdefault(name, Condition(name, METRICS[ch.metric], ch.high))
            if tier is not None and top is not None:
                limit, cond.baseline = self._limit_of(slot, top)
                cond.meet(tier, value_of[cond.metric or ""], limit, since_of.get(name, ts), ts)
            else:
                cond.end()
            action = Action.CONDITION_MET if tier is not None else Action.CONDITION_ENDED
            steps.append(
                Step(
                    action,
                    messages.condition_note(cond, tier),
                    condition=name,
                    priority=tier or cond.peak,
                    value=cond.value,
                    limit=cond.limit,
                )
            )
        for cond in alarm.conditions.values():  # the same reading, seen by every condition
            if cond.metric in value_of and cond.rule not in changes:
                cond.note(value_of[cond.metric], ts)
        highest = max(tiers, key=RANK.__getitem__) if tiers else None
        lifecycle = (
            self._raise(alarm, highest) if new else apply(alarm, ConditionsChanged(ts, clock))
        )
        if len(steps) == 1 and lifecycle:  # one condition: its raise or resolve says it all
            steps = []
        self._describe(alarm, slot)
        return self._emit(alarm, [*steps, *lifecycle], ts)

    def _raise(self, alarm: Alarm, priority: str | None) -> list[Step]:
        alarm.priority = priority or "low"
        alarm.latched_high = alarm.kind == "physiological" and priority == "high"
        self._alarms.setdefault(alarm.session_id, {})[alarm.rule] = alarm
        return [Step(Action.RAISED, "Raised", None)]

    def _new_alarm(
        self, sid: int, rule: str, kind: str, ts: float, clock: float, device: int | None = None
    ) -> Alarm:
        return Alarm(
            sid, rule, kind, raised_at=ts, alerted_at=clock, device_id=device, uid=next(self._uids)
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
            alarm.message = messages.physiological(
                alarm, {m: v for m, v in latest.items() if not math.isnan(v)}
            )

    def _refresh(self, slot: I64, ts: F64, values: F64, clock: float) -> list[Transition]:
        """Live values and worst values of the limit alarms these samples touch."""
        if not self._alarms or slot.shape[0] == 0:
            return []
        out: list[Transition] = []
        for sid, alarms in self._alarms.items():
            s = self._slots.get(sid)
            if s is None:
                continue
            lo, hi = np.searchsorted(slot, [s, s + 1])
            if lo == hi:
                continue
            for alarm in alarms.values():
                if alarm.rule in LIMIT_PROBLEMS and self._refresh_alarm(
                    alarm, s, ts[lo:hi], values[lo:hi], clock
                ):
                    out += self._emit(alarm, [Step(Action.UPDATED, alarm.message, None)], clock)
        return out

    def _refresh_alarm(self, alarm: Alarm, slot: int, ts: F64, values: F64, clock: float) -> bool:
        """True when the alarm's live value or worst changed enough to publish."""
        changed = sparse = False
        for cond in alarm.conditions.values():
            if cond.metric is None:
                continue
            col = values[:, METRIC_INDEX[cond.metric]]
            seen = ~np.isnan(col)
            if cond.since is not None:
                seen &= ts >= cond.since
            if not seen.any():
                continue
            t, v = ts[seen], col[seen]
            i = int(np.argmax(v) if cond.high else np.argmin(v))
            before = (cond.value, cond.worst)
            cond.note(float(v[i]), float(t[i]))
            cond.note(float(v[-1]), float(t[-1]))
            if (cond.value, cond.worst) != before:
                changed = True
                sparse = sparse or cond.metric in _SPARSE
        if not changed:
            return False
        self._describe(alarm, slot)
        if sparse or clock - alarm.updated_clock >= UPDATE_EVERY_S:
            alarm.updated_clock = clock
            return True
        return False

    def _refresh_limits(self, slot: int) -> list[Transition]:
        """New limits or a new baseline: the open alarms show the limits now in force."""
        sid = self._sessions[slot].cfg.session_id
        out: list[Transition] = []
        for alarm in self._alarms.get(sid, {}).values():
            if alarm.rule not in LIMIT_PROBLEMS:
                continue
            changed = False
            for cond in alarm.conditions.values():
                tier, top = self._tier(slot, cond.rule)
                if tier is None or top is None:
                    continue
                limit, base = self._limit_of(slot, top)
                if (limit, base) != (cond.limit, cond.baseline):
                    cond.limit, cond.baseline, changed = limit, base, True
            if changed:
                self._describe(alarm, slot)
                out += self._emit(
                    alarm, [Step(Action.UPDATED, "Limits changed", None)], self._newest(slot)
                )
        return out

    # -- problems set by rules other than channels --------------------------------------

    def _set_problem(
        self,
        sid: int,
        rule: str,
        kind: str,
        wanted: Wanted,
        ts: float,
        clock: float,
        message: str,
        device: int | None = None,
        value: float | None = None,
        worse_high: bool = True,
    ) -> list[Transition]:
        """Make an alarm's conditions what a rule says holds now (raise, change, clear)."""
        alarm = self._alarms.get(sid, {}).get(rule)
        holding = (
            {}
            if alarm is None
            else {r: c.priority for r, c in alarm.conditions.items() if c.priority is not None}
        )
        if holding == {r: p for r, (p, _) in wanted.items()}:
            return []
        new = alarm is None
        if alarm is None:
            alarm = self._new_alarm(sid, rule, kind, ts, clock, device)
        steps: list[Step] = []
        for r, (priority, metric) in wanted.items():
            cond = alarm.conditions.setdefault(r, Condition(r, metric, high=worse_high))
            if cond.priority != priority:
                cond.meet(priority, value, None, ts, ts)
                note = messages.condition_note(cond, priority)
                steps.append(Step(Action.CONDITION_MET, note, None, r, priority, value))
        for r, cond in alarm.conditions.items():
            if cond.priority is not None and r not in wanted:
                cond.end()
                note = messages.condition_note(cond, None)
                steps.append(Step(Action.CONDITION_ENDED, note, None, r, cond.peak, cond.value))
        if wanted:
            alarm.message = message
        lifecycle = (
            self._raise(alarm, max((p for p, _ in wanted.values()), key=RANK.__getitem__))
            if new
            else apply(alarm, ConditionsChanged(ts, clock))
        )
        if len(steps) == 1 and lifecycle:  # one condition: its raise or resolve says it all
            steps = []
        return self._emit(alarm, [*steps, *lifecycle], ts)

    def _protocol_rules(self, slot: I64, ts: F64, values: F64, now: float) -> list[Transition]:
        """Esketamine: a BP above 140/90 before dosing asks for review (low)."""
        bp = np.flatnonzero(~np.isnan(values[:, _SBP]) & ~np.isnan(values[:, _DBP]))
        out: list[Transition] = []
        for i in bp.tolist():
            cfg = self._sessions[int(slot[i])].cfg
            limit = PROFILES[cfg.protocol].predose_bp_advisory
            if limit is None or (cfg.first_dose_at is not None and ts[i] >= cfg.first_dose_at):
                continue
            sbp, dbp = float(values[i, _SBP]), float(values[i, _DBP])
            high = sbp > limit[0] or dbp > limit[1]
            message = (
                f"BP {messages.fmt(sbp)}/{messages.fmt(dbp)} mmHg before dosing, above "
                f"{messages.fmt(limit[0])}/{messages.fmt(limit[1])}: review before dosing"
            )
            wanted: Wanted = {"predose_bp_high": ("low", "sbp")} if high else {}
            out += self._set_problem(
                cfg.session_id,
                "predose_bp_review",
                "physiological",
                wanted,
                float(ts[i]),
                now,
                message,
                value=sbp,
            )
        return out

    def observe(
        self, session_id: int, kind: str, value: float, ts: float, clock: float
    ) -> list[Transition]:
        """A nurse's observation. MOAA/S <= 2 (deep sedation) raises a high
        alarm; a later MOAA/S of 3 or more clears its condition."""
        if kind != "moaa_s" or session_id not in self._slots:
            return []
        deep = value <= SEDATION_ALARM_AT
        wanted: Wanted = {"moaa_s_low": ("high", None)} if deep else {}
        message = f"Sedation: MOAA/S {value:.0f} (at or below {SEDATION_ALARM_AT})"
        return self._set_problem(
            session_id,
            "sedation",
            "physiological",
            wanted,
            ts,
            clock,
            message,
            value=value,
            worse_high=False,
        )

    # -- the clock --------------------------------------------------------------------

    def tick(self, now: float) -> list[Transition]:
        """Technical alarms, protocol timers, escalation, reminders, silence expiry."""
        out: list[Transition] = []
        rows, dev_last, dev_signal = self._devices.lists()
        for slot, state in self._sessions.items():
            out += self._technical(slot, state, now, rows, dev_last, dev_signal)
        event = Tick(now, self._escalate_after, self._delivery_timeout)
        for alarms in self._alarms.values():
            for alarm in list(alarms.values()):
                steps = apply(alarm, event)
                if steps:
                    out += self._emit(alarm, steps, now)
        return out

    def _technical(
        self,
        slot: int,
        state: _Session,
        now: float,
        rows: dict[int, int],
        dev_last: list[float],
        dev_signal: list[list[float]],
    ) -> list[Transition]:
        """A session's clock-driven conditions. Runs every second for every session,
        so a condition whose state is unchanged (nearly all) costs one comparison."""
        cfg, clock = state.cfg, state.clock
        sid, judged = cfg.session_id, clock.judged
        out: list[Transition] = []
        for dev in state.devices:
            row = rows[dev]
            wanted, _ = technical.monitor_conditions(
                dev_last[row], dev_signal[row], cfg.started_at, now
            )
            rule = technical.monitor_rule(dev)
            if judged.get(rule) != wanted:
                judged[rule] = wanted
                name = cfg.device_names.get(dev, f"device {dev}")
                out += self._set_problem(
                    sid,
                    rule,
                    "technical",
                    wanted,
                    now,
                    now,
                    technical.monitor_message(name, wanted),
                    device=dev,
                )
        profile = PROFILES[cfg.protocol]
        clock_last = float(self._last_sample[slot])
        clock.last_sample = clock_last
        checks = (
            (
                "no_monitor",
                technical.nobody_measuring(
                    clock,
                    cfg.first_dose_at is not None,
                    bool(state.devices),
                    now,
                    profile.cuff_interval_s + technical.BP_OVERDUE_GRACE_S,
                ),
                "medium",
                None,
                "technical",
                "No monitor: nobody is measuring this patient's vital signs",
            ),
            (
                "bp_overdue",
                bool(state.devices) and technical.bp_overdue(clock, profile, cfg.started_at, now),
                "low",
                "sbp",
                "technical",
                f"BP measurement overdue (none for over {profile.cuff_interval_s // 60 + 1} min)",
            ),
            (
                "bp_check_due",
                technical.bp_check_missing(
                    clock, profile, cfg.first_dose_at, self._bank.newest(slot), now
                ),
                "low",
                "sbp",
                "physiological",
                f"BP check due {(profile.bp_check_after_dose_s or 0) / 60:.0f} min after dose:"
                " no reading yet",
            ),
        )
        for rule, present, priority, metric, kind, message in checks:
            if judged.get(rule) == present:
                continue
            judged[rule] = present
            one: Wanted = {rule: (priority, metric)} if present else {}
            out += self._set_problem(sid, rule, kind, one, now, now, message)
        return out

    # -- staff actions and outside judgements -------------------------------------------

    def acknowledge(self, session_id: int, rule: str, now: float, user: str) -> list[Transition]:
        return self._input(session_id, rule, Acknowledge(now, user), now)

    def silence(
        self, session_id: int, rule: str, now: float, seconds: float, user: str
    ) -> list[Transition]:
        return self._input(session_id, rule, Silence(now, seconds, user), now)

    def escalate(self, session_id: int, rule: str, now: float, reason: str) -> list[Transition]:
        """Hand an alarm to people now (it reached no screen that could alert a nurse)."""
        return self._input(session_id, rule, Escalate(now, reason), now)

    def _close(
        self, session_id: int, rule: str, ts: float, reason: str, user: str | None = None
    ) -> list[Transition]:
        return self._input(session_id, rule, Close(ts, reason, user), ts)

    def _input(self, session_id: int, rule: str, event: Input, ts: float) -> list[Transition]:
        alarm = self._alarms.get(session_id, {}).get(rule)
        if alarm is None:
            return []
        return self._emit(alarm, apply(alarm, event), ts)

    def _emit(self, alarm: Alarm, steps: Iterable[Step], ts: float) -> list[Transition]:
        """Transitions of one alarm, each carrying the alarm as it is now."""
        steps = list(steps)
        if not steps:
            return []
        if alarm.state is State.RESOLVED:
            self._alarms.get(alarm.session_id, {}).pop(alarm.rule, None)
            if alarm.id is not None:
                self._by_id.pop(alarm.id, None)
        view = alarm.view()
        return [
            Transition(
                action=s.action,
                ts=ts,
                message=alarm.message if s.action in _SAYS_WHAT else s.note,
                view=view,
                user=s.user,
                condition=s.condition,
                priority=s.priority or view.priority,
                value=s.value if s.condition else view.value,
                threshold=s.limit if s.condition else view.threshold,
            )
            for s in steps
        ]

    # -- views and recovery -------------------------------------------------------------

    def active_alarms(self, session_id: int | None = None) -> list[AlarmView]:
        return [
            a.view()
            for sid, alarms in self._alarms.items()
            if session_id is None or sid == session_id
            for a in alarms.values()
        ]

    def set_id(self, session_id: int, rule: str, alarm_id: int) -> None:
        """The store's key of an open alarm, once stored."""
        alarm = self._alarms.get(session_id, {}).get(rule)
        if alarm is not None and alarm.id is None:
            alarm.id = alarm_id
            self._by_id[alarm_id] = alarm

    def delivered(
        self, alarm_id: int, dashboard: str, at: float, visible: bool, sound: bool
    ) -> bool:
        """A dashboard confirmed it showed an open alarm; True if it is one of ours."""
        alarm = self._by_id.get(alarm_id)
        if alarm is None:
            return False
        alarm.delivered(dashboard, at, visible and sound)
        return True

    def view_of(self, alarm_id: int) -> AlarmView | None:
        alarm = self._by_id.get(alarm_id)
        return None if alarm is None else alarm.view()

    def replay(self, batch: SampleBatch) -> None:
        """Rebuild sustain state from stored samples; their alarms are already stored."""
        self.evaluate(batch)

    def clear_alarms(self) -> None:
        """Forget alarms raised by replay, before restoring the stored ones."""
        self._alarms.clear()
        self._by_id.clear()

    def restore_alarm(self, view: AlarmView) -> None:
        """Take an open alarm from storage; storage wins over replayed conditions."""
        alarm = Alarm(
            view.session_id,
            view.rule,
            view.kind,
            raised_at=view.raised_at,
            alerted_at=view.alerted_at,
            device_id=view.device_id,
            state=view.state,
            priority=view.priority,
            message=view.message,
            acked_at=view.acked_at,
            acked_by=view.acked_by,
            acked_priority=view.priority if view.state is State.ACKNOWLEDGED else None,
            silenced_until=view.silenced_until,
            silenced_priority=view.priority if view.silenced_until is not None else None,
            escalated_at=view.escalated_at,
            last_reminder=view.acked_at,
            uid=next(self._uids),
            latched_high=view.kind == "physiological"
            and view.priority == "high"
            and view.state is not State.ACKNOWLEDGED,
            id=view.id,
        )
        for c in view.conditions:
            alarm.conditions[c.rule] = Condition(
                c.rule,
                c.metric,
                high=not c.rule.endswith("_low"),
                priority=c.priority if c.active else None,
                peak=c.priority,
                value=c.value,
                limit=c.limit,
                baseline=c.baseline,
                since=c.since,
                worst=c.worst,
                worst_at=c.worst_at,
            )
        self._alarms.setdefault(view.session_id, {})[view.rule] = alarm
        if view.id is not None:
            self._by_id[view.id] = alarm
        slot = self._slots.get(view.session_id)
        if slot is None or view.rule not in LIMIT_PROBLEMS:
            return
        for c in view.conditions:
            for ch in CONDITION_CHANNELS.get(c.rule, ()):
                tier = CHANNELS[ch].tier
                self._bank.met[slot, ch] = c.active and RANK[tier] <= RANK[c.priority]


#: Actions whose log row carries the alarm's own message.
_SAYS_WHAT: Final = frozenset(
    (Action.RAISED, Action.UPDATED, Action.PRIORITY_RAISED, Action.CONDITION_RETURNED)
)


def _with_map(values: F64) -> F64:
    """MAP derived as (SBP + 2 DBP) / 3 where a BP reading came without one."""
    derive = np.isnan(values[:, _MAP]) & ~np.isnan(values[:, _SBP]) & ~np.isnan(values[:, _DBP])
    if not derive.any():
        return values
    values = values.copy()
    values[derive, _MAP] = (values[derive, _SBP] + 2 * values[derive, _DBP]) / 3
    return values
