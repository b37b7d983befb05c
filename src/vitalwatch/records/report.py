"""The session report's content, gathered once from the stored record; rendered
as HTML for printing (report_html.py) and as a PDF of it (report_pdf.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.alarms import repository as alarms_repo
from vitalwatch.auth import repository as auth_repo
from vitalwatch.db import from_ms, utcnow
from vitalwatch.patients import repository as patients_repo
from vitalwatch.patients.models import Patient
from vitalwatch.readings import repository as readings_repo
from vitalwatch.readings.latest import LatestStore
from vitalwatch.readings.repository import BpReading, StruckReading
from vitalwatch.records import checklist, clinic, readiness, repository, struck
from vitalwatch.records.charts import Chart, Series, svg
from vitalwatch.records.models import Observation
from vitalwatch.records.profiles import Profiles, entered_at
from vitalwatch.records.report_parts import (
    AlarmRow,
    Staff,
    VitalsRow,
    alarm_row,
    dose_total,
    vitals_table,
)
from vitalwatch.records.schemas import ChecklistOut, ClinicOut, ReadinessOut, RecordProfileOut
from vitalwatch.records.text import hm, num
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.errors import SessionNotFound
from vitalwatch.sessions.models import Session, SessionEvent
from vitalwatch.sessions.schemas import ROUTE_LABELS, DoseRecord
from vitalwatch.sessions.thresholds import Thresholds
from vitalwatch.vitals import METRIC_INFO, METRICS, PROFILES


@dataclass
class Checkpoint:
    label: str
    ts: datetime | None
    sbp: float | None
    dbp: float | None
    minutes_after_dose: int | None
    entered_by: str | None = None  # typed in by; None: a monitor's


@dataclass
class LimitChange:
    ts: datetime
    by: str | None
    changes: list[str]
    reason: str | None = None


@dataclass
class Report:
    session: Session
    patient: Patient
    protocol_label: str
    tz: ZoneInfo
    generated_at: datetime
    end_of_monitoring: datetime
    checklist: ChecklistOut
    doses: list[tuple[SessionEvent, DoseRecord]]
    events: list[SessionEvent]
    charts: list[tuple[str, str]]  # title, svg
    checkpoints: list[Checkpoint]
    observations: list[Observation]
    alarms: list[AlarmRow]
    limit_changes: list[LimitChange]
    readiness: ReadinessOut
    clinic: ClinicOut
    clinic_source: str  # where its name is from (the profile, or the setting until then)
    staff: Staff
    profile: RecordProfileOut
    discharge_note: str | None
    vitals: list[VitalsRow]  # the vitals table (empty without charts)
    #: newest values before the dose and at the end of monitoring (vitals acceptable)
    before_dose: dict[str, tuple[int, float]]
    at_end: dict[str, tuple[int, float]]
    struck: list[StruckReading] = field(default_factory=list)  # shown crossed out

    def t(self, when: datetime | None) -> str:
        return hm(when, self.tz)

    def struck_values(self, x: StruckReading) -> str:
        """What a struck reading said, for showing crossed out (never as a value)."""
        return struck_values(x)

    @property
    def zone(self) -> str:
        """The clinic's zone as every page and form names it."""
        return str(self.tz)

    @property
    def dose_total(self) -> str | None:
        return dose_total([d for _, d in self.doses])

    @property
    def notes(self) -> list[SessionEvent]:
        """The nurses' timeline notes."""
        return [e for e in self.events if e.kind == "note"]

    @property
    def alarms_off(self) -> list[SessionEvent]:
        """Alarms switched off (with the reason) and back on."""
        return [e for e in self.events if e.kind in ("alarm_off", "alarm_on")]

    def dose_text(self, d: DoseRecord) -> str:
        amount = f"{num(d.amount)} {d.unit}" if d.amount is not None else "amount not recorded"
        total = f" ({num(d.total_mg)} mg)" if d.unit == "mg/kg" and d.total_mg else ""
        route = ROUTE_LABELS.get(d.route or "", "route not recorded")
        return f"{d.drug or 'drug not recorded'} {amount}{total}, {route}"


def struck_values(x: StruckReading) -> str:
    v = dict(x.values)
    parts = []
    if "sbp" in v and "dbp" in v:
        parts.append(f"BP {num(v.pop('sbp'))}/{num(v.pop('dbp'))} mmHg")
    parts += [f"{METRIC_INFO[k].label} {num(val)} {METRIC_INFO[k].unit}" for k, val in v.items()]
    return ", ".join(parts)


def _changes(detail: dict[str, Any] | None) -> list[str]:
    patch, old = (detail or {}).get("patch") or {}, (detail or {}).get("old") or {}
    return [
        f"{metric}.{name} {num(old.get(metric, {}).get(name)) or 'off'} -> "
        f"{'off' if value is None else num(value)}"
        for metric, fields in patch.items()
        for name, value in (fields or {}).items()
    ]


def _charts(
    report_session: Session,
    ts: list[int],
    rows: list[tuple[float | None, ...]],
    doses: list[SessionEvent],
    tz: ZoneInfo,
    end: datetime,
) -> list[tuple[str, str]]:
    t = np.asarray(ts, dtype=np.int64)
    table = np.array(rows, dtype=np.float64) if rows else np.empty((0, len(METRICS)))
    limits = Thresholds.model_validate(report_session.thresholds)
    markers = [(e.ts, "dose") for e in doses]

    def series(metric: str, label: str, colour: str, points: bool = False) -> Series:
        col = table[:, METRICS.index(metric)] if table.size else np.empty(0)
        keep = ~np.isnan(col)
        return Series(label, colour, t[keep], col[keep], points)

    def lines(metric: str) -> list[tuple[float, str, str]]:
        lim = getattr(limits, metric)
        out = []
        for name, colour in (
            ("critical_low", "#c00"),
            ("low", "#c80"),
            ("high", "#c80"),
            ("critical_high", "#c00"),
        ):
            value = getattr(lim, name)
            if value is not None:
                out.append(
                    (
                        float(value),
                        colour,
                        f"{metric.upper()} {name.replace('_', ' ')} {num(value)}",
                    )
                )
        return out

    charts = [
        Chart("Heart rate", "/min", [series("hr", "HR", "#1a7f37")], lines("hr"), markers),
        Chart("SpO2", "%", [series("spo2", "SpO2", "#0969da")], lines("spo2"), markers),
        Chart(
            "Blood pressure",
            "mmHg",
            [series("sbp", "SBP", "#bc4c00", True), series("dbp", "DBP", "#e08040", True)],
            lines("sbp") + lines("dbp"),
            markers,
        ),
        Chart("Respiratory rate", "/min", [series("rr", "RR", "#444")], lines("rr"), markers),
    ]
    start = report_session.started_at
    if t.size:  # readings may be dated before the start (a monitor's backlog)
        start, end = min(start, from_ms(int(t[0]))), max(end, from_ms(int(t[-1])))
    return [(c.title, svg(c, start, end, tz)) for c in charts]


async def build(
    db: AsyncSession,
    latest: LatestStore,
    tz: ZoneInfo,
    session_id: int,
    *,
    clinic_name: str,
    charts: bool = True,
) -> Report:
    """`charts=False`: without the trend charts (reads only the cuff readings).
    `latest`: for readiness; `tz`: the clinic's zone, the report's times;
    `clinic_name`: VITALWATCH_CLINIC_NAME, the name until the profile has one."""
    session = await sessions_repo.get(db, session_id)
    if session is None:
        raise SessionNotFound(session_id)
    patient = await patients_repo.get(db, session.patient_id)
    assert patient is not None
    await latest.ensure_loaded(db, {session_id})
    state = (await readiness.compute(db, latest, tz, [session]))[session_id]
    now = utcnow()
    end = state.signed_off_at or session.ended_at or now
    events = list(await sessions_repo.events(db, session_id))
    doses = [e for e in events if e.kind == "dose"]
    if charts:
        ts, rows, authors = await readings_repo.rows_in_force(db, session_id)
        sbp, dbp = METRICS.index("sbp"), METRICS.index("dbp")
        bps = [
            BpReading(t, s, d, by)
            for t, r, by in zip(ts, rows, authors, strict=True)
            if (s := r[sbp]) is not None and (d := r[dbp]) is not None
        ]
    else:
        ts, rows = [], []
        bps = (await readings_repo.bp_in_force(db, [session_id])).get(session_id, [])
    checkpoints: list[Checkpoint] = []
    if session.first_dose_at is not None:
        labels = ("Before dosing", "About 40 min after the dose", "Before discharge")
        for label, point in zip(
            labels, readiness.checkpoints(session.first_dose_at, bps, end), strict=True
        ):
            when = (
                datetime.fromtimestamp(point[0] / 1000, tz=session.started_at.tzinfo)
                if point
                else None
            )
            checkpoints.append(
                Checkpoint(
                    label,
                    when,
                    point.sbp if point else None,
                    point.dbp if point else None,
                    int((when - session.first_dose_at).total_seconds() // 60) if when else None,
                    point.entered_by if point else None,
                )
            )
    alarm_log = await alarms_repo.of_session_with_log(db, session_id)
    readiness_row = (await repository.readiness_rows(db, [session_id])).get(session_id)
    audits = await repository.audit_of(db, session_id, ["session.thresholds"])
    staff = Staff(
        await auth_repo.users_named(
            db,
            names=[
                state.signed_off_by,
                *(a.actor_name for a in audits),
                *(e.user for _, log in alarm_log for e in log),
                *(a.acked_by for a, _ in alarm_log),
                *(a.resolved_by for a, _ in alarm_log),
            ],
            ids=[e.created_by for e in events],
        )
    )
    struck_readings = (await readings_repo.struck_of_sessions(db, [session_id])).get(session_id, [])
    alarm_rows = []
    for a, log in alarm_log:
        raised = [e.value for e in log if e.action == "raised"]
        by = struck.raised_by(
            a.metric, [*raised, a.value, a.worst_value], a.raised_at, struck_readings
        )
        alarm_rows.append(alarm_row(a, log, staff, struck.note(by, tz) if by else None))
    profile = (await Profiles.load(db, [session.protocol])).at(
        session.protocol, entered_at(session)
    )
    before_dose: dict[str, tuple[int, float]] = {}
    at_end: dict[str, tuple[int, float]] = {}
    if session.first_dose_at is not None:
        dose_ms = int(session.first_dose_at.timestamp() * 1000)
        end_ms = int(end.timestamp() * 1000)
        before_dose = await repository.last_values(db, session_id, dose_ms, dose_ms - 3_600_000)
        at_end = await repository.last_values(
            db, session_id, end_ms, end_ms - profile.bp_max_age_min * 60_000
        )
    changes = [
        LimitChange(
            a.ts, staff.of(a.actor_name), _changes(a.detail), (a.detail or {}).get("reason")
        )
        for a in audits
    ]
    clinic_out, clinic_source = await clinic.in_use(db, tz, clinic_name)
    return Report(
        session=session,
        patient=patient,
        protocol_label=PROFILES[session.protocol].label,
        tz=tz,
        generated_at=now,
        end_of_monitoring=end,
        checklist=await checklist.state(db, session, tz),
        doses=[(e, DoseRecord.model_validate(e.data or {})) for e in doses],
        events=events,
        charts=_charts(session, ts, rows, doses, tz, session.ended_at or now) if charts else [],
        checkpoints=checkpoints,
        observations=list(await repository.observations(db, session_id)),
        alarms=alarm_rows,
        limit_changes=changes,
        readiness=state,
        struck=struck_readings,
        clinic=clinic_out,
        clinic_source=clinic_source,
        staff=staff,
        profile=profile,
        discharge_note=readiness_row.note if readiness_row else None,
        vitals=vitals_table(ts, rows, clinic_out.vitals_interval_min) if charts else [],
        before_dose=before_dose,
        at_end=at_end,
    )
