"""Alarms that stay true: one entry per clinical problem, live values, clinical
priority, a worse condition alerting again, measurement order, nobody
measuring, deep sedation, and alerts no screen showed."""

from __future__ import annotations

import numpy as np
import pytest

from vitalwatch.alarms.engine import AlarmEngine, SessionConfig, State, Transition
from vitalwatch.samples import SampleBatch
from vitalwatch.sessions.thresholds import defaults_for
from vitalwatch.vitals import METRICS

T0 = 1_000_000.0
DEV = 7
DETAIL = {"condition_met", "condition_ended", "updated"}


def cfg(**kw: object) -> SessionConfig:
    base: dict[str, object] = {
        "session_id": 1,
        "protocol": "ketamine-iv",
        "thresholds": defaults_for("ketamine-iv"),
        "device_names": {DEV: "Bay 3 monitor"},
        "started_at": T0,
    }
    base.update(kw)
    return SessionConfig(**base)  # type: ignore[arg-type]


def rows(*samples: tuple[float, dict[str, float]], received: float | None = None) -> SampleBatch:
    values = np.full((len(samples), len(METRICS)), np.nan)
    for i, (_, v) in enumerate(samples):
        for k, x in v.items():
            values[i, METRICS.index(k)] = x
    ts = np.array([t for t, _ in samples])  # whole ms: the engine sees these seconds exactly
    return SampleBatch(
        np.ones(len(samples), dtype=np.int64),
        np.full(len(samples), DEV, dtype=np.int64),
        np.arange(len(samples), dtype=np.int64),
        np.rint(ts * 1000).astype(np.int64),
        values,
        round((float(ts.max()) if received is None else received) * 1000),
    )


def steps(out: list[Transition]) -> list[tuple[str, str, str]]:
    return [(t.rule, t.action.value, t.view.priority) for t in out if t.action not in DETAIL]


def physiological(out: list[Transition]) -> list[Transition]:
    return [t for t in out if t.kind == "physiological"]


@pytest.fixture
def engine() -> AlarmEngine:
    e = AlarmEngine()
    e.upsert_session(cfg(baseline={"sbp": 122.0, "dbp": 80.0, "hr": 70.0}, first_dose_at=T0))
    return e


def test_the_demo_defect_a_crisis_after_escalation_shows_its_value_and_priority(
    engine: AlarmEngine,
) -> None:
    """Medium SBP 164 unanswered past its escalation, then 204/122: the alarm says
    204 above 180 at high, however the earlier escalation went."""
    out = engine.evaluate(rows((T0 + 60, {"sbp": 164, "dbp": 95}), received=T0 + 60))
    assert steps(out) == [("bp", "raised", "medium")]
    out = physiological(engine.tick(T0 + 60 + 120))
    assert steps(out) == [("bp", "escalated", "medium")]  # to people, not redder
    out = engine.evaluate(rows((T0 + 300, {"sbp": 204, "dbp": 122}), received=T0 + 300))
    assert steps(out) == [("bp", "priority_raised", "high")]
    view = out[-1].view
    assert (view.value, view.threshold, view.priority, view.metric) == (204, 180, "high", "sbp")
    assert view.message.startswith("BP 204/122 mmHg: SBP above 180 mmHg")
    assert view.worst_value == 204


def test_one_reading_beyond_several_limits_is_one_entry_naming_each(engine: AlarmEngine) -> None:
    out = engine.evaluate(rows((T0 + 60, {"sbp": 204, "dbp": 122})))
    assert steps(out) == [("bp", "raised", "high")]
    assert len(engine.active_alarms()) == 1
    view = engine.active_alarms()[0]
    assert view.message == (
        "BP 204/122 mmHg: SBP above 180 mmHg, DBP above 110 mmHg, "
        "SBP +82 mmHg over baseline 122 mmHg, DBP +42 mmHg over baseline 80 mmHg"
    )
    assert {(c.rule, c.priority, c.active) for c in view.conditions} == {
        ("sbp_high", "high", True),
        ("dbp_high", "high", True),
        ("sbp_baseline_rise", "medium", True),
        ("dbp_baseline_rise", "medium", True),
    }
    # the log keeps each condition's own transitions
    met = [t.condition for t in out if t.action == "condition_met"]
    assert sorted(met) == ["dbp_baseline_rise", "dbp_high", "sbp_baseline_rise", "sbp_high"]


def test_value_and_worst_follow_the_condition_and_the_words_stay_true(
    engine: AlarmEngine,
) -> None:
    spo2 = [(T0 + 60 + i, {"spo2": 86.0 - 0.2 * i}) for i in range(20)]
    engine.evaluate(rows(*spo2))
    view = engine.active_alarms()[0]
    assert view.rule == "spo2" and view.value == pytest.approx(82.2)
    assert view.worst_value == pytest.approx(82.2)
    out = engine.evaluate(rows(*[(T0 + 80 + i, {"spo2": 85.0}) for i in range(3)]))
    view = out[-1].view
    assert view.value == 85 and view.worst_value == pytest.approx(82.2)
    assert view.message == "SpO2 85% below 88% for 22 s (worst 82.2%)"


def test_an_acknowledged_alarm_that_gets_worse_alerts_again(engine: AlarmEngine) -> None:
    engine.evaluate(rows((T0 + 60, {"sbp": 165, "dbp": 95}), received=T0 + 60))
    engine.acknowledge(1, "bp", T0 + 70, "alice")
    assert engine.active_alarms()[0].state is State.ACKNOWLEDGED
    # still medium: stays acknowledged
    out = engine.evaluate(rows((T0 + 360, {"sbp": 170, "dbp": 95}), received=T0 + 360))
    assert steps(out) == []
    out = engine.evaluate(rows((T0 + 660, {"sbp": 195, "dbp": 100}), received=T0 + 660))
    assert steps(out) == [("bp", "priority_raised", "high")]
    view = out[-1].view
    assert view.state is State.ALERTING and view.alerted_at == T0 + 660
    assert view.acked_by == "alice"  # the first acknowledgement stays on record
    # it needs its own acknowledgement
    out = engine.acknowledge(1, "bp", T0 + 670, "bob")
    assert steps(out) == [("bp", "acknowledged", "high")]


def test_a_worse_condition_breaks_through_an_audio_pause(engine: AlarmEngine) -> None:
    engine.evaluate(rows((T0 + 60, {"sbp": 165, "dbp": 95}), received=T0 + 60))
    engine.silence(1, "bp", T0 + 61, 300, "alice")
    assert engine.active_alarms()[0].silenced_until == T0 + 361
    out = engine.evaluate(rows((T0 + 120, {"sbp": 190, "dbp": 95}), received=T0 + 120))
    assert steps(out) == [("bp", "priority_raised", "high")]
    assert out[-1].view.silenced_until is None and out[-1].view.alerted_at == T0 + 120


def test_a_latched_alarm_keeps_its_clinical_priority_until_acknowledged(
    engine: AlarmEngine,
) -> None:
    engine.evaluate(rows((T0 + 60, {"sbp": 190, "dbp": 95})))
    out = engine.evaluate(rows((T0 + 360, {"sbp": 165, "dbp": 95})))
    assert out[-1].view.priority == "high"  # high latches; now only above 160
    assert (
        out[-1].view.message == "BP 165/95 mmHg: SBP above 160 mmHg, "
        "SBP +43 mmHg over baseline 122 mmHg (worst SBP 190 mmHg)"
    )
    engine.acknowledge(1, "bp", T0 + 370, "alice")
    assert engine.active_alarms()[0].priority == "medium"


def test_samples_posted_newest_first_raise_what_their_measurements_sustain() -> None:
    stored: list[tuple[float, dict[str, float]]] = []
    engine = AlarmEngine()
    engine.upsert_session(cfg())
    out: list[Transition] = []
    for i in reversed(range(12)):  # HR 35 for 11 s, each sample posted alone, newest first
        sample = (T0 + i, {"hr": 35.0})
        stored.append(sample)
        out += engine.evaluate(rows(sample, received=T0 + 20))
        for sid, since in engine.stale.items():
            assert sid == 1
            out += engine.resync(1, rows(*sorted(stored), received=T0 + 20), since)
    assert steps(out) == [("hr", "raised", "high")]
    # raised once samples 1-11 were in: the first 10 s of sustained HR 35 known
    assert out[-1].view.raised_at == T0 + 11


def test_a_backlog_measured_before_stored_samples_is_judged_in_measurement_order() -> None:
    """Live samples first, then the monitor's buffered backlog of a desaturation:
    the high alarm it sustained is raised (and latches, though it is over)."""
    engine = AlarmEngine()
    engine.upsert_session(cfg())
    live = [(T0 + 100 + i, {"spo2": 97.0}) for i in range(10)]
    assert engine.evaluate(rows(*live)) == []
    backlog = [(T0 + 40 + i, {"spo2": 84.0 if i < 30 else 97.0}) for i in range(60)]
    out = engine.evaluate(rows(*backlog, received=T0 + 111))
    assert out == [] and set(engine.stale) == {1}
    out = engine.resync(1, rows(*sorted(live + backlog), received=T0 + 111), engine.stale[1])
    assert steps(out) == [("spo2", "raised", "high"), ("spo2", "condition_cleared", "high")]
    view = engine.active_alarms()[0]
    assert view.raised_at == T0 + 55 and view.worst_value == 84
    assert view.state is State.LATCHED


@pytest.mark.parametrize("seed", range(20))
def test_any_arrival_order_ends_where_measurement_order_does(seed: int) -> None:
    rng = np.random.default_rng(seed)
    samples = []
    level = 95.0
    for i in range(240):
        if rng.random() < 0.05:
            level = float(rng.choice([80.0, 86.0, 90.0, 97.0]))
        samples.append((T0 + i, {"spo2": level, "hr": 130.0 if level < 88 else 80.0}))
    in_order = AlarmEngine()
    in_order.upsert_session(cfg())
    in_order.evaluate(rows(*samples, received=T0 + 300))

    shuffled = AlarmEngine()
    shuffled.upsert_session(cfg())
    chunks = np.array_split(np.arange(len(samples)), 12)
    rng.shuffle(chunks)
    stored: list[tuple[float, dict[str, float]]] = []
    for chunk in chunks:
        part = [samples[i] for i in chunk]
        stored += part
        shuffled.evaluate(rows(*part, received=T0 + 300))
        for sid, since in shuffled.stale.items():
            shuffled.resync(sid, rows(*sorted(stored), received=T0 + 300), since)

    def final(e: AlarmEngine) -> set[tuple[str, str, bool]]:
        return {(v.rule, v.priority, v.condition_active) for v in e.active_alarms()}

    assert {(r, a) for r, _, a in final(shuffled)} == {(r, a) for r, _, a in final(in_order)}


def test_a_dosed_patient_with_no_monitor_raises_nobody_measuring() -> None:
    engine = AlarmEngine()
    engine.upsert_session(cfg(device_names={}))
    assert engine.tick(T0 + 10) == []  # not dosed yet: the tile says "no monitor"
    engine.upsert_session(cfg(device_names={}, first_dose_at=T0 + 20))
    out = engine.tick(T0 + 21)
    assert steps(out) == [("no_monitor", "raised", "medium")]
    assert out[-1].kind == "technical"
    assert out[-1].view.message == "No monitor: nobody is measuring this patient's vital signs"
    engine.upsert_session(cfg(first_dose_at=T0 + 20))  # a monitor bound
    assert steps(engine.tick(T0 + 22)) == [("no_monitor", "resolved", "medium")]


def test_deep_sedation_observed_raises_a_high_alarm_that_latches() -> None:
    engine = AlarmEngine()
    engine.upsert_session(cfg())
    out = engine.observe(1, "moaa_s", 2, T0 + 100, T0 + 100)
    assert steps(out) == [("sedation", "raised", "high")]
    assert out[-1].view.message == "Sedation: MOAA/S 2 (at or below 2)"
    out = engine.observe(1, "moaa_s", 4, T0 + 400, T0 + 400)
    assert steps(out) == [("sedation", "condition_cleared", "high")]
    out = engine.acknowledge(1, "sedation", T0 + 410, "alice")
    assert steps(out) == [("sedation", "acknowledged", "high"), ("sedation", "resolved", "high")]


def test_an_alert_no_screen_showed_within_5_s_goes_to_people() -> None:
    engine = AlarmEngine(delivery_timeout=5.0)
    engine.upsert_session(cfg())
    engine.evaluate(rows((T0 + 1, {"sbp": 190, "dbp": 90}), received=T0 + 1))
    engine.set_id(1, "bp", 41)
    assert physiological(engine.tick(T0 + 5.9)) == []
    # shown on a dashboard, but a hidden one: does not count
    assert engine.delivered(41, "dash-1", T0 + 2, visible=False, sound=True)
    out = physiological(engine.tick(T0 + 6))
    assert steps(out) == [("bp", "escalated", "high")]
    assert "on no visible screen with sound on within 5 s" in out[-1].message
    assert out[-1].view.first_delivered_at == T0 + 2 and out[-1].view.dashboards == 1
    assert out[-1].view.first_seen_at is None


def test_an_alert_seen_in_time_waits_for_the_unanswered_timer() -> None:
    engine = AlarmEngine(delivery_timeout=5.0)
    engine.upsert_session(cfg())
    engine.evaluate(rows((T0 + 1, {"sbp": 190, "dbp": 90}), received=T0 + 1))
    engine.set_id(1, "bp", 41)
    engine.delivered(41, "dash-1", T0 + 2, visible=True, sound=True)
    assert physiological(engine.tick(T0 + 30)) == []
    assert steps(physiological(engine.tick(T0 + 61))) == [("bp", "escalated", "high")]
