"""The demo's clinic: rooms at every stage of a session, at the wall clock.

When the demo opens, a clinic is already at work: one patient waits for the
dose, one is being dosed, one is at the drug's peak, one recovering, one ready
for discharge. Each room's session is pre-aged (runner.RoomPlan.age_s): it is
entered as begun that many minutes ago, its history (calm readings, the dose
10 min in) posted with the times it happened, and from then on it plays at
1x, so every time on screen agrees with the clock.

In the first 12 minutes every kind of alarm comes once (`TIMELINE`, 20 s to
10 min into the live part, so that the history, posted first, is on screen
before them): a heart rate 40/min over its pre-dose baseline (low), a
desaturation at the peak with breathing slowed (SpO2 84%: high; RR 7/min:
medium), a milder dip during an infusion (SpO2 90%: medium), a tachycardia
(HR 150: high), a hypertensive episode (BP 196/114: high), a bradycardia
(HR 36: high), an SpO2 probe off (no SpO2 signal: technical, medium) and a
hypotension (BP 84/48: medium). Every patient's drug response is mild, so
the history itself raises nothing.

Then the day goes on: a patient ready for discharge for 10 min (counted from
the end of the last administration, as the service counts observation) is
signed off and discharged, and the room admits its next patient
(`next_patient`), whose scripted event comes 15 to 25 min after the dose.
"""

from __future__ import annotations

from collections.abc import Callable

from simulators.device import Faults, Window
from simulators.physiology import PEAK_MIN, Patient
from simulators.protocols import PROTOCOLS, observation_from_min
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
    if profile.observation_min is None:
        return "recovery"
    if minutes < observation_from_min(protocol) + profile.observation_min:
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


#: The scripted live part: (room, seconds into the demo, what, alarms it raises).
#: A 12-minute look sees every kind: each priority, each vital sign's problem
#: (SpO2, RR, HR, BP) and a technical alarm.
TIMELINE: tuple[tuple[int, int, str, tuple[tuple[str, str], ...]], ...] = (
    (3, 20, "HR 40/min over baseline", (("hr_baseline_rise", "low"),)),
    (2, 30, "SpO2 84%, RR 7", (("spo2_low", "high"), ("rr_low", "medium"))),
    (1, 40, "SpO2 90%", (("spo2_low", "medium"),)),
    (5, 150, "tachycardia HR 150", (("hr_high", "high"),)),
    (1, 270, "hypertensive BP 196/114", (("sbp_high", "high"), ("dbp_high", "high"))),
    (3, 390, "bradycardia HR 36", (("hr_low", "high"),)),
    (2, 510, "SpO2 probe off", (("no_signal:spo2", "medium"),)),
    (5, 600, "hypotension BP 84/48", (("sbp_low", "medium"),)),
)
_VALUES: dict[str, Override] = {
    "HR 40/min over baseline": Override(),  # set per patient: its resting HR + 40
    "SpO2 84%, RR 7": Override(spo2=84, rr=7),
    "SpO2 90%": Override(spo2=90),
    "tachycardia HR 150": Override(hr=150),
    "hypertensive BP 196/114": Override(sbp=196, dbp=114),
    "bradycardia HR 36": Override(hr=36),
    "hypotension BP 84/48": Override(sbp=84, dbp=48),
}
#: How long the SpO2 probe stays off (wall seconds; "no signal" after 15 s).
PROBE_OFF_S = 60


def _room(index: int, age_s: int, hr_rest: float) -> tuple[Scenario, Faults | None]:
    """Room `index`'s scripted part of `TIMELINE`: its events, faults and alarms."""
    events: list[Event] = []
    expected: list[ExpectedAlarm] = []
    faults: Faults | None = None
    for room, after, what, alarms in TIMELINE:
        if room != index:
            continue
        since_dose = age_s - PRE_DOSE_MIN * 60 + after
        if what == "SpO2 probe off":
            faults = Faults(probe_off=Window(since_dose, PROBE_OFF_S))
        else:
            values = _VALUES[what]
            if what == "HR 40/min over baseline":
                values = Override(hr=round(hr_rest) + 40)
            events.append(_live(age_s, after, values))
        expected += [_expected(age_s, after, rule, priority) for rule, priority in alarms]
    mine = [(after, what) for r, after, what, _ in TIMELINE if r == index]
    story = "; ".join(f"{what} at {after // 60}:{after % 60:02d}" for after, what in mine)
    return _scenario(f"room-{index + 1}", story, tuple(events), tuple(expected)), faults


def clinic(patients: int = 6, seed: int = 1) -> tuple[RoomPlan, ...]:
    """The demo's rooms: the first six at the five stages (and the scripted
    alarms of `TIMELINE`); more rooms are calm, at staggered ages."""
    base = seed * 1000
    waiting, dosing, peak = _age(-6), _age(15), _age(18)
    recovery, discharge, late_peak = _age(70), _age(95), _age(50)
    hr_seed = _calm_seed("esketamine-in", base + 3, max_hr=75)
    hr_rest = Patient("esketamine-in", CALM, seed=hr_seed).hr0
    rooms = (
        ("esketamine-in", base, waiting, "waiting for dose (given 6 min into the demo)"),
        ("ketamine-iv", base + 1, dosing, "dosing"),
        ("ketamine-im", base + 2, peak, "peak"),
        ("esketamine-in", hr_seed, recovery, "recovery"),
        ("ketamine-im", base + 4, discharge, "ready for discharge"),
        ("ketamine-iv", base + 5, late_peak, "peak, then recovery"),
    )
    plans = []
    for i, (protocol, room_seed, age, where) in enumerate(rooms):
        scenario, faults = _room(i, age, hr_rest)
        story = f"{where}: {scenario.description}" if scenario.description else where
        plans.append(RoomPlan(protocol, scenario, room_seed, age, story, faults))
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
