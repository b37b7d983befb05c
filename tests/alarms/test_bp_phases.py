"""BP monitoring by phase (issue 25): the protocol sets the cuff interval before
the dose, while dosing and at the peak, and in recovery; "BP overdue" reminds at
the interval of the phase the session is in."""

from __future__ import annotations

import numpy as np

from vitalwatch.alarms.engine import AlarmEngine, SessionConfig, Transition
from vitalwatch.samples import SampleBatch
from vitalwatch.sessions.thresholds import defaults_for
from vitalwatch.vitals import METRICS, PROFILES

T0 = 1_000_000.0
DEV = 7


def _engine(protocol: str, first_dose_at: float) -> AlarmEngine:
    e = AlarmEngine()
    e.upsert_session(
        SessionConfig(
            session_id=1,
            protocol=protocol,  # type: ignore[arg-type]
            thresholds=defaults_for(protocol),
            device_names={DEV: "Bay 3 monitor"},
            started_at=T0,
            first_dose_at=first_dose_at,
        )
    )
    return e


def _sample(t: float, **values: float) -> SampleBatch:
    arr = np.full((1, len(METRICS)), np.nan)
    for name, v in values.items():
        arr[0, METRICS.index(name)] = v
    return SampleBatch(
        session_id=np.ones(1, dtype=np.int64),
        device_id=np.full(1, DEV, dtype=np.int64),
        seq=np.array([int(t)], dtype=np.int64),
        ts_ms=np.array([round(t * 1000)], dtype=np.int64),
        values=arr,
        received_ms=round(t * 1000),
    )


def _overdue(ts: list[Transition]) -> list[str]:
    return [t.action.value for t in ts if t.rule == "bp_overdue"]


def test_bp_every_10_min_in_iv_recovery_raises_no_bp_overdue() -> None:
    """The issue's case: an IV session, BP every 10 min in recovery, HR every 30 s."""
    dose = T0 + 600
    engine = _engine("ketamine-iv", dose)
    p = PROFILES["ketamine-iv"]
    recovery = dose + (p.dosing_min + p.peak_min) * 60
    raised: list[tuple[float, str]] = []
    t = T0
    while t < recovery + 3 * 3600:
        # every 5 min until recovery, every 10 min after
        cuff = (t - T0) % 300 == 0 if t < recovery else (t - recovery) % 600 == 0
        values = {"hr": 70.0, "spo2": 98.0} | ({"sbp": 120.0, "dbp": 80.0} if cuff else {})
        out = engine.evaluate(_sample(t, **values)) + engine.tick(t + 0.5)
        raised += [(t, a) for a in _overdue(out)]
        t += 30
    assert raised == []


def test_bp_overdue_follows_the_phase_interval() -> None:
    dose = T0 + 600
    p = PROFILES["ketamine-iv"]
    recovery = dose + (p.dosing_min + p.peak_min) * 60
    assert p.bp_interval_at(None, T0) == p.bp_before_s
    assert p.bp_interval_at(dose, dose + 60) == p.cuff_interval_s == 300
    assert p.bp_interval_at(dose, recovery) == p.bp_recovery_s == 900
    # in recovery, a BP 16 min ago is overdue; 15 min is not
    engine = _engine("ketamine-iv", dose)
    last_bp = recovery + 60
    engine.evaluate(_sample(last_bp, sbp=120, dbp=80, hr=70, spo2=98))
    for k in range(1, 20):  # the monitor stays online
        engine.evaluate(_sample(last_bp + 59 * k, hr=70, spo2=98))
    assert _overdue(engine.tick(last_bp + 900 + 60)) == []
    out = engine.tick(last_bp + 900 + 61)
    assert _overdue(out) == ["raised"]
    msg = next(t for t in out if t.rule == "bp_overdue").view.message
    assert msg == "BP measurement overdue (none for over 16 min, recovery)"
