"""Discharge readiness, computed on the server from the stored record.

Criteria (the clinic sets the margins per protocol, records/profiles.py):
- observation time over: the protocol's minimum after the end of dosing (an IV
  infusion's stop, or its usual length while no stop is recorded);
- vitals near baseline: the newest BP and the HR of the last minute within the
  margins of the pre-dose baseline (a BP older than `bp_max_age_min` does not
  block: it is a question the sign-off asks, records/discharge.py);
- esketamine: the BP checkpoints before dosing and about 40 min after;
- no alarm active, and none for the last `quiet_min` minutes;
- sedation resolved: the newest MOAA/S since the dose is 5.
`stable` leaves out the observation time and the checkpoints; `stable_at` is
the start of the last uninterrupted stretch in which it held (records/stretch.py):
the REMS "when would the patient have been ready to leave", the report's
"Clinically ready", the course's and the tile's. `first_ready_at` likewise for
every criterion. Both are kept as they were at the sign-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.alarms import repository as alarms_repo
from vitalwatch.alarms.models import Alarm
from vitalwatch.db import from_ms, to_ms, utcnow
from vitalwatch.readings import repository as readings_repo
from vitalwatch.readings.latest import Latest, LatestStore
from vitalwatch.readings.repository import BpReading, StruckReading
from vitalwatch.records import repository, stretch, struck
from vitalwatch.records.models import Observation, SessionReadiness
from vitalwatch.records.profiles import Profiles, default_profile, entered_at
from vitalwatch.records.schemas import ReadinessOut, RecordProfileOut
from vitalwatch.records.text import hm, num
from vitalwatch.sessions.models import Session, SessionEvent
from vitalwatch.sessions.observation import observation_until
from vitalwatch.vitals import METRIC_INFO, PROFILES, whole, whole_with_unit

#: Reminders and pre-dose advisories say nothing about the patient's recovery
#: (an overdue BP is asked about at the sign-off instead).
NOT_BLOCKING = frozenset({"observation_due", "predose_bp_review", "bp_overdue"})
#: esketamine checkpoints: a BP before dosing (within this long) and at 40 +- 10 min
PRE_DOSE_BP_WINDOW = timedelta(minutes=60)
CHECK_WINDOW = timedelta(minutes=10)
HR_MAX_AGE = timedelta(seconds=60)


def checkpoints(
    first_dose: datetime, bps: Sequence[BpReading], end: datetime
) -> tuple[BpReading | None, ...]:
    """The esketamine BP checkpoints: before dosing, about 40 min after, and the
    last before the end of monitoring (after the 40-min window)."""
    at40 = first_dose + timedelta(minutes=40)
    before = [b for b in bps if first_dose - PRE_DOSE_BP_WINDOW <= from_ms(b[0]) <= first_dose]
    around = [b for b in bps if abs(from_ms(b[0]) - at40) <= CHECK_WINDOW]
    after = [b for b in bps if at40 + CHECK_WINDOW < from_ms(b[0]) <= end]
    return (
        before[-1] if before else None,
        min(around, key=lambda b: abs(from_ms(b[0]) - at40)) if around else None,
        after[-1] if after else None,
    )


@dataclass
class _Inputs:
    profile: RecordProfileOut
    doses: Sequence[SessionEvent]
    newest_observation: datetime | None  # when recorded
    last_moass: Observation | None
    alarms: Sequence[Alarm]
    bps: Sequence[BpReading]
    latest: Latest
    row: SessionReadiness | None
    observations: Sequence[Observation] = ()
    struck: Sequence[StruckReading] = ()


def _vitals(s: Session, i: _Inputs, now: datetime, reasons: list[str]) -> tuple[bool, bool]:
    """(near baseline, BP overdue): an old BP is judged as it stands and asked about
    at the sign-off; it does not block by itself."""
    p, base, latest = i.profile, s.baseline or {}, i.latest
    ok = True
    sbp, dbp, hr = latest.get("sbp"), latest.get("dbp"), latest.get("hr")
    if base.get("sbp") is None or base.get("hr") is None:
        reasons.append("No pre-dose baseline of BP and HR to compare with")
        return False, False
    overdue = False
    if sbp is None or dbp is None:
        reasons.append("No BP recorded")
        ok = False
    else:
        overdue = from_ms(sbp[1]) < now - timedelta(minutes=p.bp_max_age_min)
        off = [
            f"{label} {num(v)} mmHg, {num(abs(v - whole(b)))} mmHg "
            f"{'above' if v > b else 'below'} baseline {whole(b)} mmHg (margin {num(m)} mmHg)"
            for label, v, b, m in (
                ("SBP", sbp[0], base.get("sbp"), p.sbp_margin),
                ("DBP", dbp[0], base.get("dbp"), p.dbp_margin),
            )
            if b is not None and abs(v - b) > m
        ]
        if off:
            reasons.append(f"BP {num(sbp[0])}/{num(dbp[0])} mmHg: " + "; ".join(off))
            ok = False
    if hr is None or from_ms(hr[1]) < now - HR_MAX_AGE:
        reasons.append("No heart rate in the last minute")
        ok = False
    elif abs(hr[0] - base["hr"]) > p.hr_margin:
        reasons.append(
            f"HR {num(hr[0])}/min, more than {num(p.hr_margin)}/min from baseline "
            f"{whole_with_unit('hr', base['hr'])}"
        )
        ok = False
    return ok, overdue


def blocking(i: _Inputs) -> list[Alarm]:
    """The clinical alarms that count against readiness: not the reminders, not
    one a typed-in reading raised that a nurse then struck out."""
    return [
        a
        for a in i.alarms
        if a.rule not in NOT_BLOCKING
        and struck.raised_by(a.metric, (a.value, a.worst_value), a.raised_at, i.struck) is None
    ]


def evaluate(s: Session, i: _Inputs, now: datetime, tz: ZoneInfo) -> ReadinessOut:
    row = i.row
    signed = {
        "signed_off_at": row.signed_off_at if row else None,
        "signed_off_by": row.signed_off_by if row else None,
        "left_with": row.left_with if row else None,
        "override_reason": row.override_reason if row else None,
        "bp_overdue_answer": row.bp_overdue_answer if row else None,
    }
    frozen = row is not None and row.signed_off_at is not None
    kept = {
        "stable_at": row.stable_at if row and frozen else None,
        "first_ready_at": row.first_ready_at if row and frozen else None,
    }
    if s.first_dose_at is None:
        return ReadinessOut(applies=False, reasons=["No dose given yet"], **signed, **kept)
    at = min(now, s.ended_at) if s.ended_at else now
    reasons: list[str] = []
    until = observation_until(s, i.doses)
    observation_met = until is None or at >= until
    if not observation_met:
        reasons.append(f"Observation until {hm(until, tz)}")
    vitals_ok, bp_overdue = _vitals(s, i, at, reasons)
    checkpoints_met: bool | None = None
    at40: BpReading | None = None
    if PROFILES[s.protocol].bp_check_after_dose_s is not None:
        pre, at40, _ = checkpoints(s.first_dose_at, i.bps, at)
        checkpoints_met = pre is not None and at40 is not None
        if pre is None:
            reasons.append("No BP recorded before dosing")
        if at40 is None:
            at_40 = s.first_dose_at + timedelta(minutes=40)
            reasons.append(f"BP check about 40 min after the dose ({hm(at_40, tz)}) not recorded")
    relevant = blocking(i)
    active = [a for a in relevant if a.state in ("active", "acknowledged")]
    quiet_until = None
    for a in active:
        what = METRIC_INFO[a.metric].label if a.metric in METRIC_INFO else a.rule
        reasons.append(f"{a.priority.capitalize()} alarm active ({what})")
    ended = [a.resolved_at for a in relevant if a.resolved_at is not None]
    if ended:
        quiet_until = max(ended) + timedelta(minutes=i.profile.quiet_min)
        if quiet_until > at and not active:
            reasons.append(
                f"No alarm for {i.profile.quiet_min} min needed (until {hm(quiet_until, tz)})"
            )
    no_alarm = not active and (quiet_until is None or quiet_until <= at)
    moass = i.last_moass if i.last_moass and i.last_moass.ts >= s.first_dose_at else None
    sedation_ok = moass is not None and moass.moass == 5
    if moass is None:
        reasons.append("No MOAA/S recorded since the dose")
    elif not sedation_ok:
        reasons.append(f"MOAA/S {moass.moass} at {hm(moass.ts, tz)}: needs 5")
    stable = vitals_ok and no_alarm and sedation_ok
    ready = stable and observation_met and checkpoints_met is not False
    if not frozen and stable:
        kept["stable_at"] = stretch.latest(
            s.first_dose_at,
            stretch.sedation_since(s.first_dose_at, i.observations),
            stretch.alarms_clear_since(relevant, i.profile.quiet_min, at),
            stretch.bp_near_since(i.bps, s.baseline or {}, i.profile, at),
        )
        if ready:
            kept["first_ready_at"] = stretch.latest(
                kept["stable_at"], until, from_ms(at40.ts_ms) if at40 else None
            )
    # counted from when the dose or observation was recorded: a backlog typed in
    # from paper does not make the next round due at once
    dosed_at = max((e.created_at for e in i.doses), default=s.first_dose_at)
    last_seen = max(filter(None, (i.newest_observation, dosed_at)))
    next_due = last_seen + timedelta(minutes=i.profile.observation_interval_min)
    due = s.status == "active" and not (row and row.signed_off_at) and now >= next_due
    return ReadinessOut(
        applies=True,
        observation_until=until,
        observation_met=observation_met,
        vitals_near_baseline=vitals_ok,
        bp_checkpoints_met=checkpoints_met,
        no_recent_alarm=no_alarm,
        quiet_until=quiet_until,
        sedation_ok=sedation_ok,
        last_moass=moass.moass if moass else None,
        last_moass_at=moass.ts if moass else None,
        stable=stable,
        ready=ready,
        bp_overdue=bp_overdue,
        last_bp_at=from_ms(i.latest["sbp"][1]) if "sbp" in i.latest else None,
        reasons=reasons,
        observation_due=due,
        next_observation_due_at=next_due if s.status == "active" else None,
        **signed,
        **kept,
    )


async def compute(
    db: AsyncSession,
    latest: LatestStore,
    tz: ZoneInfo,
    sessions: Sequence[Session],
    now: datetime | None = None,
) -> dict[int, ReadinessOut]:
    """Readiness of many sessions in a fixed number of queries (their latest
    values must be loaded in `latest`: sessions.service.views does it); times
    in the clinic's zone `tz`."""
    now = now or utcnow()
    ids = [s.id for s in sessions]
    rows = await repository.readiness_rows(db, ids) if ids else {}
    dosed = [s for s in sessions if s.first_dose_at is not None]
    if not dosed:
        return {s.id: evaluate(s, _empty(rows.get(s.id)), now, tz) for s in sessions}
    dosed_ids = [s.id for s in dosed]
    profiles = await Profiles.load(db, {s.protocol for s in dosed})
    chosen = {s.id: profiles.at(s.protocol, entered_at(s)) for s in dosed}
    doses = await repository.doses_of(db, dosed_ids)
    last = await repository.last_observation(db, dosed_ids)
    longest = max(p.quiet_min for p in chosen.values())
    # every alarm since the earliest dose: the stable stretch starts after the last
    doses_at = [s.first_dose_at for s in dosed if s.first_dose_at is not None]
    since = min(now - timedelta(minutes=longest), *doses_at)
    alarms: dict[int, list[Alarm]] = {}
    for a in await alarms_repo.recent_for_sessions(db, dosed_ids, since):
        alarms.setdefault(a.session_id or 0, []).append(a)  # asked by session: never 0
    bps = await readings_repo.bp_in_force(db, dosed_ids)
    observations = await repository.observations_of(db, dosed_ids)
    struck_of = await readings_repo.struck_of_sessions(db, dosed_ids)
    out = {}
    for s in sessions:
        if s.first_dose_at is None:
            out[s.id] = evaluate(s, _empty(rows.get(s.id)), now, tz)
            continue
        newest, moass = last.get(s.id, (None, None))
        inputs = _Inputs(
            profile=chosen[s.id],
            doses=doses.get(s.id, []),
            newest_observation=newest,
            last_moass=moass,
            alarms=alarms.get(s.id, []),
            bps=bps.get(s.id, []),
            latest=latest.get(s.id),
            row=rows.get(s.id),
            observations=observations.get(s.id, []),
            struck=struck_of.get(s.id, []),
        )
        state = evaluate(s, inputs, now, tz)
        out[s.id] = await _hr_steady(db, s, inputs, state, now, many=len(sessions) > 1)
    return out


#: per session: ((stretch start, baseline HR, margin, minute read in full), scanned
#: until, last HR off baseline), times in epoch ms: the records check and the
#: dashboards, every few seconds for many sessions, read only the newest HR samples
#: and the whole stretch once a minute (a backlog dated in the past counts within
#: a minute); one session's readiness (its record, report, sign-off) reads it all
_HR_SCANNED: dict[int, tuple[tuple[int, float, float, int], int, int | None]] = {}
#: re-read this much of what was scanned: samples of the last minute may arrive late
_HR_RESCAN_MS = 60_000
_HR_CACHE_MAX = 20_000


async def _hr_steady(
    db: AsyncSession, s: Session, i: _Inputs, r: ReadinessOut, now: datetime, many: bool
) -> ReadinessOut:
    """A heart rate off baseline within the stretch restarts it (an indexed read of
    the stretch, then of its newest samples only, for a stable session not signed off)."""
    base = (s.baseline or {}).get("hr")
    if r.signed_off_at is not None or r.stable_at is None or base is None:
        return r
    at = min(now, s.ended_at) if s.ended_at else now
    lo, hi, m = to_ms(r.stable_at), to_ms(at), i.profile.hr_margin
    key = (lo, float(base), float(m), to_ms(now) // 60_000)
    cached = _HR_SCANNED.get(s.id) if many else None
    start_ms, before = (cached[1], cached[2]) if cached and cached[0] == key else (lo, None)
    off = await readings_repo.last_off_range(
        db, s.id, "hr", base - m, base + m, min(start_ms, hi), hi
    )
    off = off if off is not None else before
    if len(_HR_SCANNED) >= _HR_CACHE_MAX:
        _HR_SCANNED.clear()
    _HR_SCANNED[s.id] = (key, max(lo, hi - _HR_RESCAN_MS), off)
    if off is None:
        return r
    after = await readings_repo.first_in_range_after(db, s.id, "hr", off, hi)
    start = from_ms(after) if after is not None else at
    ready_at = stretch.latest(r.first_ready_at, start) if r.first_ready_at else None
    return r.model_copy(update={"stable_at": start, "first_ready_at": ready_at})


def _empty(row: SessionReadiness | None) -> _Inputs:
    return _Inputs(default_profile("custom"), [], None, None, [], [], {}, row)
