"""Every rule kind and the IEC 60601-1-8 lifecycle, with explicit times."""

from __future__ import annotations

import numpy as np
import pytest

from vitalwatch.alarms.engine import AlarmEngine, SampleBatch, SessionConfig, Transition
from vitalwatch.alarms.news2 import news2
from vitalwatch.alarms.thresholds import ThresholdsPatch, defaults_for, merge
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
    ts = start + np.arange(count) * step
    return SampleBatch(
        session_id=np.ones(count, dtype=np.int64),
        device_id=np.full(count, DEV, dtype=np.int64),
        ts=ts,
        values=arr,
        received_at=received if received is not None else float(ts[-1]),
    )


def actions(ts: list[Transition]) -> list[tuple[str, str, str]]:
    return [(t.rule, t.action, t.priority) for t in ts]


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
    assert actions(out) == [("hr_high", "raised", "high")]
    assert out[0].ts == T0 + 10 and out[0].value == 150 and out[0].threshold == 140
    assert out[0].message == "HR 150/min above 140/min for 10 s"


def test_spike_shorter_than_sustain_raises_nothing(engine: AlarmEngine) -> None:
    out = engine.evaluate(batch(T0, 5, hr=180))
    out += engine.evaluate(batch(T0 + 5, 30, hr=80))
    assert out == []


def test_medium_then_critical_tier_escalates_the_same_alarm(engine: AlarmEngine) -> None:
    out = engine.evaluate(batch(T0, 11, hr=125))
    assert actions(out) == [("hr_high", "raised", "medium")]
    out = engine.evaluate(batch(T0 + 11, 11, hr=145))
    assert actions(out) == [("hr_high", "escalated", "high")]
    assert len(engine.active_alarms()) == 1


def test_medium_clears_itself_with_hysteresis(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 11, hr=125))
    # 117 is below 120 but not by the 5/min margin: no clearing
    assert engine.evaluate(batch(T0 + 11, 20, hr=117)) == []
    out = engine.evaluate(batch(T0 + 31, 11, hr=110))
    assert actions(out) == [("hr_high", "resolved", "medium")]
    assert out[0].ts == T0 + 41  # held 10 s inside the margin


def test_high_latches_until_acknowledged(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 16, spo2=85))
    out = engine.evaluate(batch(T0 + 16, 20, spo2=97))
    assert actions(out) == [("spo2_low", "condition_cleared", "high")]
    view = engine.active_alarms()[0]
    assert view.state == "active" and not view.condition_active
    out = engine.acknowledge(1, "spo2_low", T0 + 60, "nurse")
    assert [t.action for t in out] == ["acknowledged", "resolved"]
    assert out[0].user == "nurse" and engine.active_alarms() == []


def test_latched_alarm_whose_condition_returns_is_the_same_alarm(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 16, spo2=85))
    engine.evaluate(batch(T0 + 16, 20, spo2=97))
    out = engine.evaluate(batch(T0 + 36, 16, spo2=86))
    assert actions(out) == [("spo2_low", "condition_returned", "high")]


def test_acknowledged_alarm_resolves_when_condition_clears(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 11, hr=150))
    engine.acknowledge(1, "hr_high", T0 + 12, "nurse")
    out = engine.evaluate(batch(T0 + 11, 15, hr=80))
    assert actions(out) == [("hr_high", "resolved", "high")]


def test_unacknowledged_medium_escalates_after_60_s(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 11, hr=125, received=T0 + 10))
    assert physiological(engine.tick(T0 + 69)) == []
    out = physiological(engine.tick(T0 + 70))
    assert actions(out) == [("hr_high", "escalated", "high")]
    assert "not acknowledged within 60 s" in out[0].message
    # escalated to high: it now latches
    out = engine.evaluate(batch(T0 + 11, 15, hr=100))
    assert actions(out) == [("hr_high", "condition_cleared", "high")]


def test_reminder_every_3_min_while_acknowledged_condition_persists(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 11, hr=150, received=T0 + 10))
    engine.acknowledge(1, "hr_high", T0 + 20, "nurse")
    tick = lambda now: [t.action for t in physiological(engine.tick(now))]  # noqa: E731
    assert tick(T0 + 199) == []
    assert tick(T0 + 200) == ["reminder"]
    assert tick(T0 + 300) == []
    assert tick(T0 + 380) == ["reminder"]


def test_silence_is_bounded_and_expires(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 1, sbp=185, dbp=90, received=T0))
    out = engine.silence(1, "sbp_high", T0 + 5, 900, "nurse")
    assert out[0].view is not None and out[0].view.silenced_until == T0 + 5 + 300
    assert "silence_expired" not in [t.action for t in engine.tick(T0 + 304)]
    assert "silence_expired" in [t.action for t in engine.tick(T0 + 306)]


def test_cuff_bp_alarms_on_first_reading_and_map_is_derived(engine: AlarmEngine) -> None:
    out = engine.evaluate(batch(T0, 1, sbp=85, dbp=50))  # map (85+100)/3 = 61.7
    assert sorted(actions(out)) == [
        ("map_low", "raised", "medium"),
        ("sbp_low", "raised", "medium"),
    ]
    assert next(t for t in out if t.rule == "map_low").value == pytest.approx(61.67, abs=0.01)


def test_baseline_rise_rules() -> None:
    e = AlarmEngine()
    e.upsert_session(cfg(baseline={"sbp": 108.0, "dbp": 70.0, "hr": 70.0}, first_dose_at=T0))
    out = e.evaluate(batch(T0 + 60, 1, sbp=150, dbp=90))  # inside the absolute limits
    assert actions(out) == [("sbp_baseline_rise", "raised", "medium")]
    assert out[0].message == "SBP 150 mmHg, 42 above baseline 108"
    e2 = AlarmEngine()
    e2.upsert_session(cfg(baseline={"sbp": 108.0, "dbp": 70.0, "hr": 70.0}, first_dose_at=T0))
    out = e2.evaluate(batch(T0 + 60, 1, sbp=130, dbp=95))
    assert actions(out) == [("dbp_baseline_rise", "raised", "medium")]
    out = e2.evaluate(batch(T0 + 100, 31, hr=101))
    assert actions(out) == [("hr_baseline_rise", "raised", "low")]
    assert out[0].ts == T0 + 130  # sustained 30 s


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
    assert [t for t in e.tick(dose + 60 * 60) if t.rule == "bp_check_due"] == []
    e.evaluate(batch(dose + 50 * 60 + 1, 1, hr=80, spo2=98, received=dose + 60 * 60))
    out = [t for t in e.tick(dose + 60 * 60) if t.rule == "bp_check_due"]
    assert actions(out) == [("bp_check_due", "raised", "low")]
    e.evaluate(batch(dose + 51 * 60, 1, sbp=130, dbp=80, received=dose + 51 * 60))
    out = [t for t in e.tick(dose + 51 * 60 + 1) if t.rule == "bp_check_due"]
    assert actions(out) == [("bp_check_due", "resolved", "low")]


def test_technical_alarms_on_the_service_clock(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 1, hr=70, spo2=98, received=T0))
    assert engine.tick(T0 + 15) == []
    out = engine.tick(T0 + 16)  # hr and spo2 gone for more than 15 s
    assert sorted(t.rule for t in out) == [f"signal_lost:hr:{DEV}", f"signal_lost:spo2:{DEV}"]
    assert next(t for t in out if "spo2" in t.rule).message == "No SpO2 signal from Bay 3 monitor"
    out = engine.tick(T0 + 61)
    offline = [t for t in out if t.rule.startswith("device_offline")]
    assert actions(offline) == [(f"device_offline:{DEV}", "raised", "high")]
    assert {t.action for t in out if t.rule.startswith("signal_lost")} == {"resolved"}
    engine.evaluate(batch(T0 + 62, 1, hr=70, spo2=98, received=T0 + 62))
    out = engine.tick(T0 + 62.5)
    assert actions(out) == [(f"device_offline:{DEV}", "resolved", "high")]


def test_bp_overdue_after_cuff_interval_plus_60_s(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 1, sbp=120, dbp=80, hr=70, spo2=98, received=T0))
    rules = lambda ts: [t.rule for t in ts if t.rule == "bp_overdue"]  # noqa: E731
    for k in range(1, 6):  # keep the device online
        engine.evaluate(batch(T0 + 59 * k, 1, hr=70, spo2=98, received=T0 + 59 * k))
    assert rules(engine.tick(T0 + 300 + 60)) == []
    assert rules(engine.tick(T0 + 300 + 61)) == ["bp_overdue"]


def test_end_session_resolves_everything(engine: AlarmEngine) -> None:
    engine.evaluate(batch(T0, 16, spo2=85))
    out = engine.end_session(1, T0 + 100)
    assert actions(out) == [("spo2_low", "resolved", "high")]
    assert engine.session_count() == 0
    assert engine.evaluate(batch(T0 + 200, 16, spo2=85)) == []


def test_replay_then_restore_neither_loses_nor_repeats_an_alarm(engine: AlarmEngine) -> None:
    first = engine.evaluate(batch(T0, 16, spo2=85))
    stored = engine.active_alarms()
    assert actions(first) == [("spo2_low", "raised", "high")]

    restarted = AlarmEngine()
    restarted.upsert_session(cfg())
    restarted.replay(batch(T0, 16, spo2=85))
    restarted.clear_alarms()
    for view in stored:
        restarted.restore_alarm(view)
    assert restarted.evaluate(batch(T0 + 16, 5, spo2=85)) == []  # no second raise
    out = restarted.evaluate(batch(T0 + 21, 16, spo2=97))
    assert actions(out) == [("spo2_low", "condition_cleared", "high")]


def test_threshold_change_applies_and_removed_limit_clears() -> None:
    e = AlarmEngine()
    e.upsert_session(cfg())
    e.evaluate(batch(T0, 11, hr=125))
    looser = merge(
        defaults_for("ketamine-iv"), ThresholdsPatch.model_validate({"hr": {"high": None}})
    )
    out = e.upsert_session(cfg(thresholds=looser))
    assert actions(out) == [("hr_high", "resolved", "medium")]


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
