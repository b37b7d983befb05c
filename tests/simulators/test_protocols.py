"""The simulator's own copy of the published defaults still matches the service's:
what it predicts is what the service must raise."""

from __future__ import annotations

from simulators.protocols import BP_LIMITS, PROTOCOLS

from vitalwatch.sessions.thresholds import DEFAULT_THRESHOLDS
from vitalwatch.vitals import PROFILES


def test_protocol_timings_match_the_service() -> None:
    assert set(PROTOCOLS) == set(PROFILES)
    for name, timing in PROTOCOLS.items():
        profile = PROFILES[name]
        assert (timing.observation_min, timing.dosing_min, timing.cuff_interval_s) == (
            profile.observation_min,
            profile.dosing_min,
            profile.cuff_interval_s,
        ), name


def test_bp_limits_match_the_service_defaults() -> None:
    for metric, limits in BP_LIMITS.items():
        service = DEFAULT_THRESHOLDS[metric]
        assert (limits.high, limits.critical_high) == (service["high"], service["critical_high"])
        assert limits.baseline_rise == DEFAULT_THRESHOLDS["baseline_rise"][metric]
