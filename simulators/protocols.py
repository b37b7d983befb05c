"""What the simulator knows of the clinic: the published protocol timings and
default alarm limits of docs/clinical-defaults.md, as any client reading that
document would.

The simulator is a client of the public API and shares no code with the
service; it predicts which alarms the service must raise from these numbers
(tests/simulators/test_protocols.py checks they still match the service's
defaults).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class ProtocolTiming:
    """The parts of a protocol's profile that shape a simulated session."""

    observation_min: int | None  # minimum observation after the dose
    dosing_min: int  # how long dosing itself takes (IV infusion: 40 min)
    cuff_interval_s: int  # how often the BP cuff measures


PROTOCOLS: Final[dict[str, ProtocolTiming]] = {
    "ketamine-iv": ProtocolTiming(observation_min=60, dosing_min=40, cuff_interval_s=300),
    "ketamine-im": ProtocolTiming(observation_min=90, dosing_min=0, cuff_interval_s=600),
    "esketamine-in": ProtocolTiming(observation_min=120, dosing_min=10, cuff_interval_s=900),
    "custom": ProtocolTiming(observation_min=None, dosing_min=0, cuff_interval_s=900),
}


def observation_from_min(protocol: str) -> int:
    """Minutes after the dose at which observation starts: the end of the last
    administration, so an IV infusion's end (its usual length); an IM or IN
    dose at once (the service's one observation clock, docs/clinical-defaults.md)."""
    return PROTOCOLS[protocol].dosing_min if protocol == "ketamine-iv" else 0


@dataclass(frozen=True, slots=True)
class BpLimits:
    """A blood-pressure metric's default upper limits and rise over baseline (mmHg)."""

    high: float | None  # medium priority above
    critical_high: float | None  # high priority above
    baseline_rise: float  # medium priority at or above baseline + this


#: The default limits the simulated BP can cross (the other metrics stay inside
#: theirs unless a scenario says otherwise).
BP_LIMITS: Final[dict[str, BpLimits]] = {
    "sbp": BpLimits(high=160, critical_high=180, baseline_rise=40),
    "dbp": BpLimits(high=100, critical_high=110, baseline_rise=25),
}
