"""The demo's clinic: rooms at every stage of a session, at the wall clock.

When the demo opens, a clinic is already at work: one patient waits for the
dose, one is being dosed, one is at the drug's peak, one recovering, one ready
for discharge. Each room's session is pre-aged (runner.RoomPlan.age_s): it is
entered as begun that many minutes ago, its history (calm readings, the dose
10 min in) posted with the times it happened, and from then on it plays at
1x, so every time on screen agrees with the clock.

Within the first minute three things happen that a nurse must answer, one
of each alarm priority (20 to 40 s into the live part, so that the history,
posted first, is on screen before them): a desaturation at the peak (SpO2 84%, with breathing
slowed to 7/min: high, and medium for the breathing), a milder dip during an
infusion (SpO2 90%: medium) and a heart rate 40/min above its pre-dose
baseline yet under every absolute limit in recovery (low). Every patient's
drug response is mild, so the history itself raises nothing.

Then the day goes on: a patient ready for discharge for 10 min is discharged
(the session ended) and the room admits its next patient (`next_patient`).
"""

from __future__ import annotations

from collections.abc import Callable

from simulators.physiology import PEAK_MIN, Patient
from simulators.protocols import PROTOCOLS
from simulators.runner import PROTOCOL_CYCLE, RoomPlan
from simulators.scenarios import CALM, Event, ExpectedAlarm, Override, Scenario, for_patient

STAGES = ("waiting for dose", "dosing", "peak", "recovery", "ready for discharge")
#: The pre-dose minutes of every room (SimulationConfig.pre_dose_min's default).
PRE_DOSE_MIN = 10
#: How long after the drug's peak a room still counts as "at the peak".
PEAK_STAGE_MIN = 15
#: How long each live event lasts (longer than any sustain time).
EVENT_S = 150


def stage(protocol: str, since_dose_s: float | None) -> str:
    """Where a session is: from its protocol and the time since its first dose."""
    if since_dose_s is None:
        return STAGES[0]
    profile = PROTOCOLS[protocol]
    minutes = since_dose_s / 60
    if minutes < profile.dosing_min:
        return "dosing"
    if minutes < PEAK_MIN[protocol] + PEAK_STAGE_MIN:
        return "peak"
    if profile.observation_min is None or minutes < profile.observation_min:
        return "recovery"
    return "ready for discharge"


def _age(since_dose_min: float) -> int:
    """A session's age when the demo opens, from its minutes since the dose."""
    return int((PRE_DOSE_MIN + since_dose_min) * 60)


def _live(age_s: int, after_s: int, values: Override) -> Event:
    """An event `after_s` seconds into the live part (events count from the dose)."""
    start = age_s - PRE_DOSE_MIN * 60 + after_s
    return Event(start, start + EVENT_S, values)


def _expected(age_s: int, after_s: int, rule: str, priority: str) -> ExpectedAlarm:
    start = age_s - PRE_DOSE_MIN * 60 + after_s
    return ExpectedAlarm(rule, priority, (start, start + 60))


def _scenario(
    name: str,
    story: str,
    events: tuple[Event, ...] = (),
    expected: tuple[ExpectedAlarm, ...] = (),
) -> Scenario:
    return Scenario(name, story, events=events, expected=expected, response="mild")


def _calm_seed(protocol: str, seed: int, max_hr: float) -> int:
    """The first seed from `seed` whose patient rests at most at `max_hr` (so that
    a rise of 40/min stays under the 120/min limit)."""
    while Patient(protocol, CALM, seed=seed).hr0 > max_hr:
        seed += 1
    return seed


def next_patient(seed: int) -> Callable[[int, int], RoomPlan]:
    """The clinic's next patients: each room admits one after its discharge, of
    the protocols in turn and the simulator's scenarios in turn (calm ones, and
    a desaturation, a tachycardia, a hypertensive response, a bradycardia 15 to
    25 min after the dose), so the day goes on with an alarm now and then."""

    def plan(room: int, admission: int) -> RoomPlan:
        k = room + admission * 5
        scenario = for_patient("mixed", k)
        return RoomPlan(
            PROTOCOL_CYCLE[k % len(PROTOCOL_CYCLE)],
            scenario,
            seed * 1000 + 100 * admission + room,
            0,
            f"admitted: {scenario.name}",
        )

    return plan


def clinic(patients: int = 6, seed: int = 1) -> tuple[RoomPlan, ...]:
    """The demo's rooms: the first six at the five stages (and the three alarms);
    more rooms are calm, at staggered ages."""
    base = seed * 1000
    waiting, dosing, peak = _age(-6), _age(15), _age(18)
    recovery, discharge, late_peak = _age(70), _age(95), _age(50)
    hr_seed = _calm_seed("esketamine-in", base + 3, max_hr=75)
    hr_rest = Patient("esketamine-in", CALM, seed=hr_seed).hr0
    plans = [
        RoomPlan(
            "esketamine-in",
            _scenario("waiting", "waiting for the dose (given 6 min into the demo)"),
            base,
            waiting,
            "waiting for dose",
        ),
        RoomPlan(
            "ketamine-iv",
            _scenario(
                "dip",
                "infusion running; SpO2 90% after 40 s (medium)",
                (_live(dosing, 40, Override(spo2=90)),),
                (_expected(dosing, 40, "spo2_low", "medium"),),
            ),
            base + 1,
            dosing,
            "dosing: SpO2 90% after 40 s",
        ),
        RoomPlan(
            "ketamine-im",
            _scenario(
                "desaturation",
                "at the peak; SpO2 84% and RR 7 after 30 s (high, medium)",
                (_live(peak, 30, Override(spo2=84, rr=7)),),
                (
                    _expected(peak, 30, "spo2_low", "high"),
                    _expected(peak, 30, "rr_low", "medium"),
                ),
            ),
            base + 2,
            peak,
            "peak: SpO2 84%, RR 7 after 30 s",
        ),
        RoomPlan(
            "esketamine-in",
            _scenario(
                "hr-rise",
                "recovering; HR 40/min over baseline after 20 s (low)",
                (_live(recovery, 20, Override(hr=round(hr_rest) + 40)),),
                (_expected(recovery, 20, "hr_baseline_rise", "low"),),
            ),
            hr_seed,
            recovery,
            "recovery: HR +40 over baseline after 20 s",
        ),
        RoomPlan(
            "ketamine-im",
            _scenario("discharge", "observation complete"),
            base + 4,
            discharge,
            "ready for discharge",
        ),
        RoomPlan(
            "ketamine-iv",
            _scenario("late-peak", "past the infusion's peak; recovery in 5 min"),
            base + 5,
            late_peak,
            "peak, then recovery",
        ),
    ]
    for i in range(len(plans), patients):
        like = plans[i % 6]
        plans.append(
            RoomPlan(
                like.protocol,
                _scenario("calm", "calm"),
                base + i,
                like.age_s + 180 * (i // 6),
                "calm",
            )
        )
    return tuple(plans[:patients])
