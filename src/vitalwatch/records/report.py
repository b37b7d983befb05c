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
from vitalwatch.db import from_ms, utcnow
from vitalwatch.patients import repository as patients_repo
from vitalwatch.patients.models import Patient
from vitalwatch.readings import repository as readings_repo
from vitalwatch.readings.latest import LatestStore
from vitalwatch.readings.repository import BpReading, StruckReading
from vitalwatch.records import checklist, readiness, repository, struck
from vitalwatch.records.charts import Chart, Series, svg
from vitalwatch.records.errors import RecordNotFound
from vitalwatch.records.models import Observation
from vitalwatch.records.schemas import ChecklistOut, ReadinessOut
from vitalwatch.records.text import hm, num
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.models import Session, SessionEvent
from vitalwatch.sessions.schemas import ROUTE_LABELS, DoseRecord
from vitalwatch.sessions.thresholds import Thresholds
from vitalwatch.vitals import METRIC_INFO, METRICS, PROFILES

_RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass
class AlarmRow:
    raised_at: datetime
    priority: str  # the highest it reached
    message: str
    acked_by: str | None
    ack_s: float | None  # from raise to acknowledge
    resolved_at: datetime | None
    escalated: bool
    struck_note: str | None = None  # raised by a reading later struck out: who, when, why
    metric: str | None = None
    worst_value: float | None = None
    conditions: frozenset[str] = frozenset()  # every limit rule it met ("spo2_low", ...)

    @property
    def text(self) -> str:
        """The alarm in plain text; one a struck reading raised is marked struck out."""
        return (
            f"struck out: {self.message} ({self.struck_note})" if self.struck_note else self.message
        )


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
    struck: list[StruckReading] = field(default_factory=list)  # shown crossed out

    def t(self, when: datetime | None) -> str:
        return hm(when, self.tz)

    def struck_values(self, x: StruckReading) -> str:
        """What a struck reading said, for showing crossed out (never as a value)."""
        return struck_values(x)

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
        f"{metric}.{name} {num(old.get(metric, {}).get(name))} -> {num(value)}"
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
    db: AsyncSession, latest: LatestStore, tz: ZoneInfo, session_id: int, *, charts: bool = True
) -> Report:
    """`charts=False`: without the trend charts (reads only the cuff readings).
    `latest`: for readiness; `tz`: the clinic's zone, the report's times."""
    session = await sessions_repo.get(db, session_id)
    if session is None:
        raise RecordNotFound(f"Session {session_id} not found")
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
    struck_readings = (await readings_repo.struck_of_sessions(db, [session_id])).get(session_id, [])
    alarm_rows = []
    for alarm, log in await alarms_repo.of_session_with_log(db, session_id):
        by = struck.raised_by(alarm.metric, alarm.value, alarm.raised_at, struck_readings)
        top = max([alarm.priority, *(e.priority for e in log)], key=_RANK.__getitem__)
        raised = next((e for e in log if e.action == "raised"), None)
        alarm_rows.append(
            AlarmRow(
                raised_at=alarm.raised_at,
                priority=top,
                message=raised.message if raised else alarm.message,
                acked_by=alarm.acked_by,
                ack_s=(alarm.acked_at - alarm.raised_at).total_seconds()
                if alarm.acked_at
                else None,
                resolved_at=alarm.resolved_at,
                escalated=any(e.action == "escalated" for e in log),
                struck_note=struck.note(by, tz) if by else None,
                metric=alarm.metric,
                worst_value=alarm.worst_value,
                conditions=frozenset(str(c.get("rule")) for c in alarm.conditions or []),
            )
        )
    changes = [
        LimitChange(a.ts, a.actor_name, _changes(a.detail))
        for a in await repository.audit_of(db, session_id, ["session.thresholds"])
    ]
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
    )
