"""Clock-driven conditions: silent monitors, nobody measuring, BP due.

These are judged on the service clock every second. A monitor's problems
are one alarm per monitor ("monitor:<id>"): offline (no data at all) or no
HR / SpO2 signal from a monitor that was sending them, never one entry per
metric plus one for offline. A session dosed with no monitor bound, and no
reading typed in lately, has "no_monitor": the nurse must be told nobody is
measuring.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from vitalwatch.alarms.engine.board import Board
from vitalwatch.alarms.engine.indexing import IdIndex
from vitalwatch.alarms.engine.lifecycle import Escalate
from vitalwatch.alarms.engine.model import (
    F64,
    I64,
    STATION,
    Action,
    SessionConfig,
    Transition,
    Wanted,
)
from vitalwatch.vitals import METRIC_INDEX, METRIC_INFO, PROFILES, ProtocolProfile

OFFLINE_AFTER_S: Final = 60.0
SIGNAL_LOST_AFTER_S: Final = 15.0
BP_OVERDUE_GRACE_S: Final = 60.0
BP_CHECK_WINDOW_S: Final = 10 * 60.0
SIGNAL_METRICS: Final = ("hr", "spo2")
#: No visible, sound-enabled dashboard this long while sessions are active:
#: the station's own alarm, sent straight to secondary notification.
UNWATCHED_AFTER_S: Final = 30.0


@functools.lru_cache(maxsize=65_536)
def monitor_rule(dev: int) -> str:
    """A monitor's alarm key, written once (the clock asks every second)."""
    return f"monitor:{dev}"


def device_of(rule: str) -> int | None:
    """The device a monitor alarm names ("monitor:3" -> 3)."""
    head, _, tail = rule.partition(":")
    return int(tail) if head == "monitor" and tail.isdigit() else None


class DeviceClocks:
    """When each bound device last sent anything, and each signal metric (service clock)."""

    def __init__(self) -> None:
        self._row: dict[int, int] = {}
        self._index = IdIndex(self._row)
        self._last = np.empty(0)
        self._signal = np.empty((0, len(SIGNAL_METRICS)))

    def add(self, dev: int) -> None:
        """A device's row, added on first sight (rare: at binding)."""
        if dev in self._row:
            return
        self._row[dev] = len(self._row)
        self._last = np.append(self._last, np.nan)
        self._signal = np.vstack([self._signal, np.full(len(SIGNAL_METRICS), np.nan)])
        self._index.changed()

    def forget(self, dev: int) -> None:
        """A device bound again later starts afresh."""
        row = self._row.get(dev)
        if row is not None:
            self._last[row] = np.nan
            self._signal[row] = np.nan

    def note(self, devices: I64, values: F64, now: float) -> None:
        """Array writes for a batch (devices not bound to a session are ignored)."""
        rows = self._index.lookup(devices)
        bound = rows >= 0
        rows = rows[bound]
        self._last[rows] = now
        for k, name in enumerate(SIGNAL_METRICS):
            sent = ~np.isnan(values[bound, METRIC_INDEX[name]])
            self._signal[rows[sent], k] = now

    def lists(self) -> tuple[dict[int, int], list[float], list[list[float]]]:
        """Plain lists for the clock: reading numpy scalars one by one is 5-10x slower."""
        return self._row, self._last.tolist(), self._signal.tolist()


@dataclass
class SessionClock:
    """A session's clock-driven facts, and the conditions last judged (so an
    unchanged condition costs one comparison a second)."""

    bp_received: float = math.nan  # service clock of the last BP sample
    bp_ts: float = math.nan  # measurement time of the last BP sample
    last_sample: float = math.nan  # service clock of the last sample of any source
    judged: dict[str, object] = field(default_factory=dict)


def monitor_conditions(
    last: float, signal: list[float], started_at: float, now: float
) -> tuple[Wanted, float]:
    """A monitor's problems now, and how long it has been silent."""
    silent_for = now - (started_at if math.isnan(last) else last)
    if silent_for > OFFLINE_AFTER_S:
        return {"offline": ("high", None)}, silent_for
    wanted: Wanted = {}
    for k, metric in enumerate(SIGNAL_METRICS):
        seen = signal[k]
        if not math.isnan(seen) and now - seen > SIGNAL_LOST_AFTER_S:
            wanted[f"no_signal:{metric}"] = ("medium", metric)
    return wanted, silent_for


def monitor_message(name: str, wanted: Wanted) -> str:
    if "offline" in wanted:
        return f"{name} offline: no data for over {OFFLINE_AFTER_S:.0f} s"
    lost = [METRIC_INFO[m].label for _, m in wanted.values() if m is not None]
    return f"No {' or '.join(lost)} signal from {name}"


def nobody_measuring(
    clock: SessionClock, dosed: bool, bound: bool, now: float, grace: float
) -> bool:
    """Dosed, no monitor bound, and no reading (typed in) for the cuff interval + 60 s."""
    if not dosed or bound:
        return False
    return math.isnan(clock.last_sample) or now - clock.last_sample > grace


def bp_overdue(
    clock: SessionClock,
    profile: ProtocolProfile,
    started_at: float,
    first_dose_at: float | None,
    now: float,
) -> bool:
    """No BP for the interval of the phase the session is in (vitals.py), plus 60 s:
    a reminder, never a reason to hold a patient (records/readiness.py)."""
    ref = started_at if math.isnan(clock.bp_received) else clock.bp_received
    return now - ref > profile.bp_interval_at(first_dose_at, now) + BP_OVERDUE_GRACE_S


def bp_check_missing(
    clock: SessionClock,
    profile: ProtocolProfile,
    first_dose_at: float | None,
    newest_ts: float,
    now: float,
) -> bool:
    """Esketamine: no BP measured around dose + 40 min. Judged on the samples'
    clock while data flows (a simulator or a backlog may run behind the wall
    clock), and on the service clock once nothing has arrived for a minute, so
    it is raised while the monitor is silent: exactly when the nurse must take
    a BP by hand (a typed BP satisfies it)."""
    if profile.bp_check_after_dose_s is None or first_dose_at is None:
        return False
    due = first_dose_at + profile.bp_check_after_dose_s
    got = not math.isnan(clock.bp_ts) and clock.bp_ts >= due - BP_CHECK_WINDOW_S
    flowing = not math.isnan(clock.last_sample) and now - clock.last_sample <= OFFLINE_AFTER_S
    reference = newest_ts if flowing and not math.isnan(newest_ts) else now
    return not got and reference > due + BP_CHECK_WINDOW_S


def judge(
    board: Board,
    cfg: SessionConfig,
    clock: SessionClock,
    devices: list[int],
    newest_ts: float,
    now: float,
    rows: dict[int, int],
    dev_last: list[float],
    dev_signal: list[list[float]],
) -> list[Transition]:
    """A session's clock-driven conditions. Runs every second for every session,
    so a condition whose state is unchanged (nearly all) costs one comparison."""
    sid, judged = cfg.session_id, clock.judged
    out: list[Transition] = []
    for dev in devices:
        row = rows[dev]
        wanted, _ = monitor_conditions(dev_last[row], dev_signal[row], cfg.started_at, now)
        rule = monitor_rule(dev)
        if judged.get(rule) != wanted:
            judged[rule] = wanted
            name = cfg.device_names.get(dev, f"device {dev}")
            out += board.set_problem(
                sid,
                rule,
                "technical",
                wanted,
                now,
                now,
                monitor_message(name, wanted),
                device=dev,
            )
    profile = PROFILES[cfg.protocol]
    checks = (
        (
            "no_monitor",
            nobody_measuring(
                clock,
                cfg.first_dose_at is not None,
                bool(devices),
                now,
                profile.cuff_interval_s + BP_OVERDUE_GRACE_S,
            ),
            "medium",
            None,
            "technical",
            "No monitor: nobody is measuring this patient's vital signs",
        ),
        (
            "bp_overdue",
            bool(devices) and bp_overdue(clock, profile, cfg.started_at, cfg.first_dose_at, now),
            "low",
            "sbp",
            "technical",
            f"BP measurement overdue (none for over "
            f"{profile.bp_interval_at(cfg.first_dose_at, now) // 60 + 1} min, "
            f"{profile.bp_phase_at(cfg.first_dose_at, now)})",
        ),
        (
            "bp_check_due",
            bp_check_missing(clock, profile, cfg.first_dose_at, newest_ts, now),
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
        out += board.set_problem(sid, rule, kind, one, now, now, message)
    return out


def watched(
    board: Board,
    unwatched_since: float | None,
    now: float,
    watching: int,
    active: bool,
    after: float = UNWATCHED_AFTER_S,
) -> tuple[float | None, list[Transition]]:
    """ "No dashboard is watching": none connected, visible and with sound on for
    30 s while sessions are active. A failure of communication to the nurse is
    itself an alarm; it goes to secondary notification at once."""
    unwatched = active and watching == 0
    since = (unwatched_since or now) if unwatched else None
    present = since is not None and now - since >= after
    wanted: Wanted = {"no_dashboard": ("high", None)} if present else {}
    message = (
        f"No dashboard is watching: no visible screen with sound on for over "
        f"{after:.0f} s while sessions are monitored"
    )
    out = board.set_problem(STATION, "no_dashboard", "technical", wanted, now, now, message)
    if any(t.action is Action.RAISED for t in out):
        out += board.input(STATION, "no_dashboard", Escalate(now, "nobody is watching"), now)
    return since, out
