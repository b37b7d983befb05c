"""What happens to a simulated patient, and which alarms a nurse should get.

Times are seconds after the dose. An event overrides the patient's own
values while it lasts; each scenario names the alarms (rule and priority)
its events must raise under the default limits. A scenario also fixes or
leaves to chance the size of the drug's BP response (`response`): the
alarms a large or severe response raises are worked out per patient
(physiology.Patient.expected_alarms). The calm patient raises none at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Override:
    hr: float | None = None
    spo2: float | None = None
    rr: float | None = None
    #: a BP event: the cuff reads this every minute while it lasts (put on a
    #: 1-min cycle), as well as on its own cycle
    sbp: float | None = None
    dbp: float | None = None


@dataclass(frozen=True)
class Event:
    start_s: float
    end_s: float
    values: Override


@dataclass(frozen=True)
class ExpectedAlarm:
    rule: str  # the limit rule (the service's alarm condition), e.g. "sbp_high"
    priority: str
    within_s: tuple[float, float]  # window after the dose in which it is raised


def raised_conditions(alarm: dict[str, Any]) -> set[tuple[str, str]]:
    """What one of the service's alarms (one per clinical problem) has met: each
    condition with the highest priority it reached."""
    conditions = alarm.get("conditions") or []
    return {(c["rule"], c["priority"]) for c in conditions} or {(alarm["rule"], alarm["priority"])}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    events: tuple[Event, ...] = ()
    expected: tuple[ExpectedAlarm, ...] = field(default=())
    #: "drawn" (mostly mild, some large, rarely severe), or "mild"/"severe" always
    response: str = "drawn"

    def at(self, since_dose_s: float) -> Override:
        """The override in force at a time after the dose (plain values elsewhere)."""
        for e in self.events:
            if e.start_s <= since_dose_s < e.end_s:
                return e.values
        return Override()


CALM = Scenario("calm", "Expected mild BP and HR rise; no alarm", response="mild")
TYPICAL = Scenario(
    "typical",
    "No event; the BP rise drawn as in practice: mostly mild, some large, rarely severe",
)
HYPERTENSIVE = Scenario(
    "hypertensive",
    "Severe hypertensive response: SBP above 180 near the drug's peak",
    response="severe",
)
TACHYCARDIA = Scenario(
    "tachycardia",
    "Tachycardia: HR 150 for 3 min, 20 min after the dose",
    events=(Event(20 * 60, 23 * 60, Override(hr=150)),),
    expected=(
        ExpectedAlarm("hr_high", "high", (20 * 60, 21 * 60)),
        ExpectedAlarm("hr_baseline_rise", "low", (20 * 60, 21 * 60)),
    ),
)
BRADYCARDIA = Scenario(
    "bradycardia",
    "Bradycardia: HR 36 for 2 min, 25 min after the dose",
    events=(Event(25 * 60, 27 * 60, Override(hr=36)),),
    expected=(ExpectedAlarm("hr_low", "high", (25 * 60, 26 * 60)),),
)
DESATURATION = Scenario(
    "desaturation",
    "Desaturation: SpO2 falls to 84% with breathing slowed to 7/min, 15 min after the dose",
    events=(Event(15 * 60, 18 * 60, Override(spo2=84, rr=7)),),
    expected=(
        ExpectedAlarm("spo2_low", "high", (15 * 60, 16 * 60)),
        ExpectedAlarm("rr_low", "medium", (15 * 60, 16 * 60)),
    ),
)

SCENARIOS: dict[str, Scenario] = {
    s.name: s for s in (CALM, TYPICAL, HYPERTENSIVE, TACHYCARDIA, BRADYCARDIA, DESATURATION)
}
#: `mixed`: patients take these in turn, so a demo shows calm rooms and alarms.
MIXED_ORDER = ("calm", "desaturation", "typical", "tachycardia", "hypertensive", "bradycardia")


def for_patient(name: str, index: int) -> Scenario:
    if name == "mixed":
        return SCENARIOS[MIXED_ORDER[index % len(MIXED_ORDER)]]
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}: {', '.join([*SCENARIOS, 'mixed'])}")
    return SCENARIOS[name]
