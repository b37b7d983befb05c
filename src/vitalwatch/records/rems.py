"""The SPRAVATO REMS Patient Monitoring Form, filled from the session record.

The fields follow the form's order. Each is pre-filled from the record where
the record knows the answer (BP checkpoints picked from the readings with
their times, durations, ready-to-leave minutes, sedation and dissociation
from the observations); the nurse completes the gaps and may correct any
pre-filled value. The clinic submits the form on the REMS portal within 7
calendar days and marks it submitted here: VitalWatch sends nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit import service as audit
from vitalwatch.db import utcnow
from vitalwatch.patients import repository as patients_repo
from vitalwatch.readings.latest import LatestStore
from vitalwatch.records import repository
from vitalwatch.records.errors import RecordConflict, RecordInvalid, RecordNotFound
from vitalwatch.records.models import Observation, RemsForm
from vitalwatch.records.rems_fields import (
    BY_KEY,
    CONDITIONAL,
    FIELDS,
    identity,
    vitals_suggestions,
)
from vitalwatch.records.report import Report, build
from vitalwatch.records.report_parts import AlarmRow
from vitalwatch.records.schemas import FormDue, RemsField, RemsFormOut
from vitalwatch.records.series import dose_sum
from vitalwatch.records.text import day, hm, num, stamp
from vitalwatch.vitals import METRIC_INFO

DEADLINE_DAYS = 7


def _yn(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


def prefill(r: Report) -> dict[str, tuple[Any, str]]:
    """What the record says, with where it comes from."""
    s, tz, q = r.session, r.tz, r.readiness
    out: dict[str, tuple[Any, str]] = identity(r)
    if s.first_dose_at:
        out["session_date"] = (day(s.first_dose_at, tz), "first dose")
    if r.doses:
        total = sum(d.total_mg or 0 for _, d in r.doses)
        lots = sorted({d.lot_number for _, d in r.doses if d.lot_number})
        if total:
            choice = f"{num(total)} mg" if total in (56, 84) else "other"
            out["dose"] = (choice, f"doses recorded: {dose_sum([d for _, d in r.doses])}")
            if choice == "other":
                out["dose_other_mg"] = (total, "doses recorded")
        if lots:
            out["lot_number"] = (", ".join(lots), "dose record")
    if s.first_dose_at:
        end = q.signed_off_at or s.ended_at
        if end:
            source = "to the discharge sign-off" if q.signed_off_at else "to the end of the session"
            out["monitoring_minutes"] = (int((end - s.first_dose_at).total_seconds() // 60), source)
        if q.stable_at:
            minutes = int((q.stable_at - s.first_dose_at).total_seconds() // 60)
            out["ready_minutes"] = (
                minutes,
                "discharge criteria other than time held without a break from "
                f"{hm(q.stable_at, tz)}" + (" to the sign-off" if q.signed_off_at else ""),
            )
        for key, point in zip(("bp_before", "bp_40", "bp_end"), r.checkpoints, strict=False):
            if point.ts is not None:
                text = f"{num(point.sbp)}/{num(point.dbp)} at {hm(point.ts, tz)}"
                m = point.minutes_after_dose or 0
                when = f"{m} min after the dose" if m >= 0 else f"{-m} min before the dose"
                by = f", typed in by {point.entered_by}" if point.entered_by else ""
                out[key] = (text, f"reading {when}{by}")
        after = [o for o in r.observations if o.ts >= s.first_dose_at]
        for key, answer in (
            ("sedation", _sedation(after, tz)),
            ("dissociation", _dissociation(after, tz)),
            ("respiratory_depression", _respiratory(after, r.alarms, tz)),
        ):
            if answer is not None:
                out[key] = answer
    return out


# -- the adverse events, each from the evidence that answers it (none: a gap) -----

#: the alarm conditions that point at respiratory depression
_BREATHING = frozenset({"spo2_low", "rr_low"})


def _times(obs: list[Observation], tz: ZoneInfo) -> str:
    return ", ".join(hm(o.ts, tz) for o in obs)


def _sedation(after: list[Observation], tz: ZoneInfo) -> tuple[str, str] | None:
    scored = [o for o in after if o.moass is not None]
    if not scored:
        return None
    low = min(scored, key=lambda o: (o.moass or 0, o.ts))
    sedated = low.moass is not None and low.moass < 5
    return ("yes" if sedated else "no"), (
        f"lowest MOAA/S {low.moass} at {hm(low.ts, tz)} ({len(scored)} scored)"
    )


def _dissociation(after: list[Observation], tz: ZoneInfo) -> tuple[str, str] | None:
    seen = [o for o in after if o.dissociation is not None or o.cadss is not None]
    if not seen:
        return None
    signs = [o for o in seen if o.dissociation not in (None, "none") or (o.cadss or 0) > 0]
    if signs:
        o = signs[0]
        what = o.dissociation if o.dissociation not in (None, "none") else f"CADSS {o.cadss}"
        return "yes", f"dissociation {what} at {hm(o.ts, tz)} by {o.created_by or 'staff'}"
    return "no", f"no dissociation observed at {_times(seen, tz)}"


def _alarm_evidence(a: AlarmRow, tz: ZoneInfo) -> str:
    """ "SpO2 alarm 10:42, lowest 88%" """
    info = METRIC_INFO.get(a.metric or "")
    text = f"{info.label if info else a.metric} alarm {hm(a.raised_at, tz)}"
    if info and a.worst_value is not None:
        gap = "" if info.unit == "%" else " "
        text += f", lowest {num(a.worst_value)}{gap}{info.unit}"
    return text


def _respiratory(
    after: list[Observation], alarms: list[AlarmRow], tz: ZoneInfo
) -> tuple[str, str] | None:
    """An SpO2-low or RR-low alarm makes it "yes" for the nurse to review (an
    observation of no depression does not undo an alarm); observations alone
    answer it as observed; nothing that assessed breathing leaves it open."""
    lows = [a for a in alarms if a.conditions & _BREATHING and a.struck_note is None]
    assessed = [o for o in after if o.respiratory_depression is not None]
    if lows:
        evidence = "; ".join(_alarm_evidence(a, tz) for a in lows)
        return "yes", f"{evidence}: review"
    if not assessed:
        return None
    yes = [o for o in assessed if o.respiratory_depression]
    if yes:
        return "yes", f"respiratory depression observed at {_times(yes, tz)}"
    return "no", f"no respiratory depression observed at {_times(assessed, tz)}"


def due_date(first_dose: datetime, r_tz: Any) -> date:
    return first_dose.astimezone(r_tz).date() + timedelta(days=DEADLINE_DAYS)


def view(r: Report, form: RemsForm | None) -> RemsFormOut:
    answers = form.answers if form else {}
    filled = prefill(r)
    suggested = vitals_suggestions(r)
    fields, gaps = [], []
    for f in FIELDS:
        needed = (
            f.key not in CONDITIONAL
            or _value(CONDITIONAL[f.key][0], answers, filled) == CONDITIONAL[f.key][1]
        )
        value = _value(f.key, answers, filled)
        pre = filled.get(f.key)
        hint = suggested.get(f.key)
        gap = needed and f.required and value in (None, "")
        if gap:
            gaps.append(f.label)
        fields.append(
            RemsField(
                key=f.key,
                section=f.section,
                label=f.label,
                kind=f.kind,
                options=list(f.options),
                value=value,
                prefilled=pre[0] if pre else None,
                source=pre[1] if pre else None,
                answered=f.key in answers,
                needed=needed,
                required=f.required,
                gap=gap,
                suggestion=hint[0] if hint else None,
                suggestion_basis=hint[1] if hint else None,
            )
        )
    s = r.session
    due = due_date(s.first_dose_at, r.tz) if s.first_dose_at else None
    today = utcnow().astimezone(r.tz).date()
    return RemsFormOut(
        session_id=s.id,
        status="submitted" if form and form.submitted_at else "draft",
        due_date=due,
        days_left=(due - today).days if due else None,
        fields=fields,
        gaps=gaps,
        alarms=[f"{hm(a.raised_at, r.tz)} {a.priority}: {a.text}" for a in r.alarms],
        time_zone=r.zone,
        updated_at=form.updated_at if form else None,
        updated_by=form.updated_by if form else None,
        submitted_at=form.submitted_at if form else None,
        submitted_by=form.submitted_by if form else None,
        submitted_at_text=stamp(form.submitted_at, r.tz) if form else None,
        updated_at_text=stamp(form.updated_at, r.tz) if form else None,
    )


def _value(key: str, answers: dict[str, Any], filled: dict[str, tuple[Any, str]]) -> Any:
    if key in answers:
        return answers[key]
    return filled[key][0] if key in filled else None


def _check(key: str, value: Any) -> Any:
    f = BY_KEY.get(key)
    if f is None:
        raise RecordInvalid(("body", "answers", key), f"the form has no field {key!r}")
    if value is None:
        return None
    if f.kind == "choice" and value not in f.options:
        raise RecordInvalid(("body", "answers", key), f"{f.label}: one of {', '.join(f.options)}")
    if f.kind == "number" and (
        isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100_000
    ):
        raise RecordInvalid(("body", "answers", key), f"{f.label}: a number of 0 or more")
    if f.kind == "date":
        try:
            date.fromisoformat(str(value))
        except ValueError:
            raise RecordInvalid(
                ("body", "answers", key), f"{f.label}: a date (YYYY-MM-DD)"
            ) from None
    if f.kind == "text" and (not isinstance(value, str) or len(value) > 500):
        raise RecordInvalid(("body", "answers", key), f"{f.label}: text of at most 500 characters")
    return value


def _esketamine(r: Report) -> None:
    if r.session.protocol != "esketamine-in":
        raise RecordNotFound("The REMS Patient Monitoring Form is for esketamine sessions only")
    if r.session.first_dose_at is None:
        raise RecordConflict("No dose given: there is no treatment session to report yet")


async def get(db: AsyncSession, r: Report) -> RemsFormOut:
    _esketamine(r)
    return view(r, await repository.rems_form(db, r.session.id))


async def save(
    db: AsyncSession, r: Report, answers: dict[str, Any], actor: audit.Actor
) -> RemsFormOut:
    _esketamine(r)
    form = await repository.rems_form(db, r.session.id)
    if form is not None and form.submitted_at is not None:
        raise RecordConflict(f"The form was marked submitted by {form.submitted_by}: it is closed")
    checked = {k: _check(k, v) for k, v in answers.items()}
    if form is None:
        form = RemsForm(session_id=r.session.id, answers={})
        db.add(form)
    form.answers = {**form.answers, **{k: v for k, v in checked.items()}}
    form.answers = {k: v for k, v in form.answers.items() if v is not None}
    form.updated_at, form.updated_by = utcnow(), actor.name
    await audit.record(
        db,
        actor=actor,
        action="rems.save",
        entity="session",
        entity_id=r.session.id,
        detail={"fields": sorted(checked)},
    )
    await db.flush()
    return view(r, form)


async def mark_submitted(db: AsyncSession, r: Report, actor: audit.Actor) -> RemsFormOut:
    _esketamine(r)
    form = await repository.rems_form(db, r.session.id)
    current = view(r, form)
    if current.status == "submitted":
        raise RecordConflict(f"Already marked submitted by {current.submitted_by}")
    if current.gaps:
        raise RecordConflict("Complete the form first: " + "; ".join(current.gaps))
    if form is None:
        form = RemsForm(session_id=r.session.id, answers={})
        db.add(form)
    # what was submitted, pre-filled values included, is kept as it was
    form.answers = {f.key: f.value for f in current.fields if f.value is not None}
    form.submitted_at, form.submitted_by = utcnow(), actor.name
    form.updated_at, form.updated_by = form.submitted_at, actor.name
    await audit.record(
        db, actor=actor, action="rems.submitted", entity="session", entity_id=r.session.id
    )
    await db.flush()
    return view(r, form)


async def due(
    db: AsyncSession, latest: LatestStore, tz: ZoneInfo, clinic_name: str, days: int = 60
) -> list[FormDue]:
    """Esketamine sessions dosed in the last `days` days whose form is not marked
    submitted (and those submitted in the last week), the most urgent first;
    `latest`, `tz` (the clinic's zone) and `clinic_name` as for the report the
    form is filled from."""
    since = utcnow() - timedelta(days=days)
    sessions = await repository.dosed_sessions(db, "esketamine-in", since)
    forms = await repository.rems_forms(db, [s.id for s in sessions])
    patients = await patients_repo.by_ids(db, {s.patient_id for s in sessions})
    today = utcnow().astimezone(tz).date()
    out = []
    for s in sessions:
        form = forms.get(s.id)
        if (
            form is not None
            and form.submitted_at is not None
            and form.submitted_at < utcnow() - timedelta(days=7)
        ):
            continue
        assert s.first_dose_at is not None
        built = await build(db, latest, tz, s.id, clinic_name=clinic_name, charts=False)
        current = view(built, form)
        deadline = due_date(s.first_dose_at, tz)
        patient = patients[s.patient_id]
        out.append(
            FormDue(
                session_id=s.id,
                patient_id=patient.id,
                patient_ref=patient.ref,
                patient_name=patient.display_name,
                room=s.room,
                session_date=s.first_dose_at.astimezone(tz).date(),
                due_date=deadline,
                days_left=(deadline - today).days,
                status=current.status,
                gaps=len(current.gaps),
                submitted_at=current.submitted_at,
                submitted_by=current.submitted_by,
            )
        )
    out.sort(key=lambda f: (f.status == "submitted", f.days_left, f.session_id))
    return out
