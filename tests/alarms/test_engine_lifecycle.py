"""Every rule kind and the IEC 60601-1-8 lifecycle, with explicit times."""

from __future__ import annotations

import numpy as np
import pytest

from vitalwatch.alarms.engine import AlarmEngine, SessionConfig, Transition
from vitalwatch.readings.news2 import news2
from vitalwatch.samples import SampleBatch
from vitalwatch.sessions.thresholds import ThresholdsPatch, defaults_for, merge
from vitalwatch.vitals import METRICS

T0 = 1_000_000.0
DEV = 7


def cfg(protocol: str = "ketamine-iv", **kw: object) -> SessionConfig:
    base: dict[str, object] = {
        "session_id": 1,
        "protocol": protocol,
        "thresholds": defaults_for(protocol),
        "device_names": {DEV: "Bay 3 monitor"},
        "started_at": T0,
    }
    base.update(kw)
    return SessionConfig(**base)  # type: ignore[arg-type]


def batch(
    start: float, count: int, received: float | None = None, step: float = 1.0, **values: float
) -> SampleBatch:
    arr = np.full((count, len(METRICS)), np.nan)
    for name, v in values.items():
        arr[:, METRICS.index(name)] = v
    ts = start + np.arange(count) * step  # whole ms: the engine sees these seconds exactly
    return SampleBatch(
        session_id=np.ones(count, dtype=np.int64),
        device_id=np.full(count, DEV, dtype=np.int64),
        seq=np.arange(count, dtype=np.int64),
        ts_ms=np.rint(ts * 1000).astype(np.int64),
        values=arr,
        received_ms=round((received if received is not None else float(ts[-1])) * 1000),
    )


#: Per-condition log rows and live-value refreshes: not lifecycle steps.
DETAIL = {"condition_met", "condition_ended", "updated"}


def actions(ts: list[Transition]) -> list[tuple[str, str, str]]:
    """The lifecycle steps of the alarms, as (problem, action, priority)."""
    return [(t.rule, t.action.value, t.priority) for t in ts if t.action not in DETAIL]


def physiological(ts: list[Transition]) -> list[Transition]:
    """Leave out technical alarms (the device in these tests goes quiet)."""
    return [t for t in ts if t.kind == "physiological"]


@pytest.fixture
def engine() -> AlarmEngine:
    e = AlarmEngine()
    e.upsert_session(cfg())
    return e


def test_sustained_tachycardia_raises_high_with_clinical_message(engine: AlarmEngine) -> None:
    assert engine.evaluate(batch(T0, 10, hr=150)) == []  # 9 s so far
    out = engine.evaluate(batch(T0 + 10, 1, hr=150))
    assert actions(out) == [("hr", "raised", "high")]
    assert out[0].ts == T0 + 10 and out[0].value == 150 and out[0].threshold == 140
    assert out[0].message == "HR 150/min above 140/min for 10 s"


def test_spike_shorter_than_sustain_raises_nothing(engine: AlarmEngine) -> None:
    out = engine.evaluate(batch(T0, 5, hr=180))
    out += engine.evaluate(batch(T0 + 5, 30, hr=80))
    assert out == []


def test_medium_then_critical_tier_raises_the_priority_of_the_same_alarm(
    engine: AlarmEngine,
) -> None:
    out = engine.evaluate(batch(T0, 11, hr=125))
    assert actions(out) == [("hr", "raised", "medium")]
    out = engine.evaluate(batch(T0 + 11, 11, hr=145))
    assert actions(out) == [("hr", "priority_raised", "high")]
    assert out[-1].view.value == 145 and out[-1].view.threshold == 140
    assert len(engine.active_alarms()) == 1


def test_medium_clears_itself_with_hysteresis(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 11, hr=125))
    # 117 is below 120 but not by the 5/min margin: no clearing, and it says so
    out = engine.evaluate(batch(T0 + 11, 20, hr=117))
    assert actions(out) == []
    assert out[-1].message == "HR now 117/min: was above 120/min (worst 125/min)"
    out = engine.evaluate(batch(T0 + 31, 11, hr=110))
    assert actions(out) == [("hr", "resolved", "medium")]
    assert out[-1].ts == T0 + 41  # held 10 s inside the margin


def test_high_latches_until_acknowledged(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 16, spo2=85))
    out = engine.evaluate(batch(T0 + 16, 20, spo2=97))
    assert actions(out) == [("spo2", "condition_cleared", "high")]
    view = engine.active_alarms()[0]
    assert view.state.public == "active" and not view.condition_active
    out = engine.acknowledge(1, "spo2", T0 + 60, "nurse")
    assert [t.action for t in out] == ["acknowledged", "resolved"]
    assert out[0].user == "nurse" and engine.active_alarms() == []


def test_latched_alarm_whose_condition_returns_is_the_same_alarm(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 16, spo2=85))
    engine.evaluate(batch(T0 + 16, 20, spo2=97))
    out = engine.evaluate(batch(T0 + 36, 16, spo2=86))
    assert actions(out) == [("spo2", "condition_returned", "high")]


def test_acknowledged_alarm_resolves_when_condition_clears(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 11, hr=150))
    engine.acknowledge(1, "hr", T0 + 12, "nurse")
    out = engine.evaluate(batch(T0 + 11, 15, hr=80))
    assert actions(out) == [("hr", "resolved", "high")]


def test_unacknowledged_medium_goes_to_people_after_120_s_and_stays_medium(
    engine: AlarmEngine,
) -> None:
    engine.evaluate(batch(T0, 11, hr=125, received=T0 + 10))
    assert physiological(engine.tick(T0 + 129)) == []
    out = physiological(engine.tick(T0 + 130))
    assert actions(out) == [("hr", "escalated", "medium")]
    assert "not acknowledged within 120 s" in out[0].message
    assert out[0].view.escalated_at == T0 + 130
    # the priority on screen stays clinical: medium, and it clears itself
    out = engine.evaluate(batch(T0 + 11, 15, hr=100))
    assert actions(out) == [("hr", "resolved", "medium")]


def test_reminder_every_3_min_while_acknowledged_condition_persists(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 11, hr=150, received=T0 + 10))
    engine.acknowledge(1, "hr", T0 + 20, "nurse")
    tick = lambda now: [t.action for t in physiological(engine.tick(now))]  # noqa: E731
    assert tick(T0 + 199) == []
    assert tick(T0 + 200) == ["reminder"]
    assert tick(T0 + 300) == []
    assert tick(T0 + 380) == ["reminder"]


def test_silence_is_bounded_and_expires(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 1, sbp=185, dbp=90, received=T0))
    out = engine.silence(1, "bp", T0 + 5, 900, "nurse")
    assert out[0].view is not None and out[0].view.silenced_until == T0 + 5 + 300
    assert "silence_expired" not in [t.action for t in engine.tick(T0 + 304)]
    assert "silence_expired" in [t.action for t in engine.tick(T0 + 306)]


def test_cuff_bp_alarms_on_first_reading_and_map_is_derived(engine: AlarmEngine) -> None:
    out = engine.evaluate(batch(T0, 1, sbp=85, dbp=50))  # map (85+100)/3 = 61.7
    assert actions(out) == [("bp", "raised", "medium")]  # one entry for one problem
    view = out[-1].view
    assert {c.rule for c in view.conditions} == {"map_low", "sbp_low"}
    mean = next(c for c in view.conditions if c.rule == "map_low")
    assert mean.value == pytest.approx(61.67, abs=0.01)
    assert view.message == "BP 85/50 mmHg: SBP below 90 mmHg, MAP 62 mmHg below 65 mmHg"


def test_baseline_rise_rules() -> None:
    e = AlarmEngine()
    e.upsert_session(cfg(baseline={"sbp": 108.0, "dbp": 70.0, "hr": 70.0}, first_dose_at=T0))
    out = e.evaluate(batch(T0 + 60, 1, sbp=150, dbp=90))  # inside the absolute limits
    assert actions(out) == [("bp", "raised", "medium")]
    assert out[0].message == "BP 150/90 mmHg: SBP +42 mmHg over baseline 108 mmHg"
    e2 = AlarmEngine()
    e2.upsert_session(cfg(baseline={"sbp": 108.0, "dbp": 70.0, "hr": 70.0}, first_dose_at=T0))
    out = e2.evaluate(batch(T0 + 60, 1, sbp=130, dbp=95))
    assert actions(out) == [("bp", "raised", "medium")]
    assert [c.rule for c in out[0].view.conditions] == ["dbp_baseline_rise"]
    out = e2.evaluate(batch(T0 + 100, 31, hr=101))
    assert actions(out) == [("hr", "raised", "low")]
    assert out[0].ts == T0 + 130  # sustained 30 s
    assert out[0].message == "HR 101/min, +31/min over baseline 70/min"


def test_esketamine_predose_advisory_and_40_minute_bp_check() -> None:
    e = AlarmEngine()
    e.upsert_session(cfg("esketamine-in"))
    out = e.evaluate(batch(T0 + 60, 1, sbp=150, dbp=95))
    assert actions(out) == [("predose_bp_review", "raised", "low")]
    assert "review before dosing" in out[0].message
    dose = T0 + 600
    out = e.upsert_session(cfg("esketamine-in", first_dose_at=dose))
    assert actions(out) == [("predose_bp_review", "resolved", "low")]
    e.evaluate(batch(dose + 10, 1, hr=80, spo2=98, received=dose + 10))
    due = lambda now: [t for t in e.tick(now) if t.rule == "bp_check_due"]  # noqa: E731
    # data flowing, measured up to dose + 49 min (a backlog, or a simulator
    # running behind the wall clock): judged on the samples' clock, not yet due
    e.evaluate(batch(dose + 49 * 60, 1, hr=80, spo2=98, received=dose + 60 * 60))
    assert due(dose + 60 * 60 + 1) == []
    # the monitor falls silent: judged on the service clock, due now, so the
    # nurse is told to take a BP by hand exactly when nothing else measures
    out = due(dose + 60 * 60 + 62)
    assert actions(out) == [("bp_check_due", "raised", "low")]
    e.evaluate(batch(dose + 51 * 60, 1, sbp=130, dbp=80, received=dose + 61 * 60 + 10))
    out = due(dose + 61 * 60 + 11)
    assert actions(out) == [("bp_check_due", "resolved", "low")]


def test_technical_alarms_on_the_service_clock_one_entry_per_monitor(
    engine: AlarmEngine,
) -> None:
    monitor = f"monitor:{DEV}"
    engine.evaluate(batch(T0, 1, hr=70, spo2=98, received=T0))
    assert engine.tick(T0 + 15) == []
    out = engine.tick(T0 + 16)  # hr and spo2 gone for more than 15 s
    assert actions(out) == [(monitor, "raised", "medium")]
    assert out[-1].message == "No HR or SpO2 signal from Bay 3 monitor"
    assert out[-1].kind == "technical"
    engine.evaluate(batch(T0 + 17, 1, hr=70, received=T0 + 17))  # HR back, SpO2 not
    out = engine.tick(T0 + 17.5)
    assert actions(out) == [] and out[-1].view.message == "No SpO2 signal from Bay 3 monitor"
    out = engine.tick(T0 + 78)
    # worse now, and unanswered for 62 s since its first alert: to people as well
    assert actions(out) == [(monitor, "priority_raised", "high"), (monitor, "escalated", "high")]
    assert out[-1].view.message == "Bay 3 monitor offline: no data for over 60 s"
    assert len(engine.active_alarms()) == 1  # one entry for the monitor, not three
    engine.evaluate(batch(T0 + 80, 1, hr=70, spo2=98, received=T0 + 80))
    out = engine.tick(T0 + 80.5)
    assert actions(out) == [(monitor, "resolved", "high")]


def test_bp_overdue_after_cuff_interval_plus_60_s(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 1, sbp=120, dbp=80, hr=70, spo2=98, received=T0))
    rules = lambda ts: [t.rule for t in ts if t.rule == "bp_overdue"]  # noqa: E731
    for k in range(1, 6):  # keep the device online
        engine.evaluate(batch(T0 + 59 * k, 1, hr=70, spo2=98, received=T0 + 59 * k))
    assert rules(engine.tick(T0 + 300 + 60)) == []
    assert rules(engine.tick(T0 + 300 + 61)) == ["bp_overdue"]


def test_end_session_resolves_everything(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 16, spo2=85))
    out = engine.end_session(1, T0 + 100, "alice")
    assert actions(out) == [("spo2", "resolved", "high")]
    assert out[-1].user == "alice" and out[-1].view.resolved_by == "alice"
    assert engine.session_count() == 0
    assert engine.evaluate(batch(T0 + 200, 16, spo2=85)) == []


def test_replay_then_restore_neither_loses_nor_repeats_an_alarm(engine: AlarmEngine) -> None:
    first = engine.evaluate(batch(T0, 16, spo2=85))
    stored = engine.active_alarms()
    assert actions(first) == [("spo2", "raised", "high")]

    restarted = AlarmEngine()
    restarted.upsert_session(cfg())
    restarted.replay(batch(T0, 16, spo2=85))
    restarted.clear_alarms()
    for view in stored:
        restarted.restore_alarm(view)
    # no second raise (the words go on: the duration runs)
    assert actions(restarted.evaluate(batch(T0 + 16, 5, spo2=85))) == []
    out = restarted.evaluate(batch(T0 + 21, 16, spo2=97))
    assert actions(out) == [("spo2", "condition_cleared", "high")]


def test_threshold_change_applies_and_removed_limit_clears() -> None:
    e = AlarmEngine()
    e.upsert_session(cfg())
    e.evaluate(batch(T0, 11, hr=125))
    looser = merge(
        defaults_for("ketamine-iv"), ThresholdsPatch.model_validate({"hr": {"high": None}})
    )
    out = e.upsert_session(cfg(thresholds=looser))
    assert actions(out) == [("hr", "resolved", "medium")]


@pytest.mark.parametrize(
    ("hr", "sbp", "rr", "spo2", "score", "level"),
    [
        (72, 128, 14, 98, 0, "low"),
        (95, 105, 22, 95, 1 + 1 + 2 + 1, "urgent review"),
        (135, 90, 26, 90, 12, "emergency"),
        (40, 120, 14, 98, 3, "urgent review"),
        (None, None, None, None, None, None),
    ],
)
def test_news2_bands(
    hr: float | None,
    sbp: float | None,
    rr: float | None,
    spo2: float | None,
    score: int | None,
    level: str | None,
) -> None:
    result = news2(hr=hr, sbp=sbp, rr=rr, spo2=spo2)
    if score is None:
        assert result is None
    else:
        assert result is not None and (result.score, result.level) == (score, level)
