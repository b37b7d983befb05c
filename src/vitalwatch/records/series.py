"""A patient's course: every session in one view, for the prescriber's review."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.alarms import repository as alarms_repo
from vitalwatch.db import to_ms
from vitalwatch.patients import repository as patients_repo
from vitalwatch.patients.schemas import PatientOut
from vitalwatch.readings import repository as readings_repo
from vitalwatch.records import repository
from vitalwatch.records.errors import RecordNotFound
from vitalwatch.records.schemas import SeriesOut, SeriesSession
from vitalwatch.records.text import minutes
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.schemas import DoseRecord


async def of_patient(db: AsyncSession, patient_id: int) -> SeriesOut:
    patient = await patients_repo.get(db, patient_id)
    if patient is None:
        raise RecordNotFound(f"Patient {patient_id} not found")
    sessions = sorted(
        await sessions_repo.list_for_patient(db, patient_id), key=lambda s: s.started_at
    )
    ids = [s.id for s in sessions]
    doses = await repository.doses_of(db, ids)
    observations = await repository.observations_of(db, ids)
    alarms = await alarms_repo.counts_by_session(db, ids)
    rows = await repository.readiness_rows(db, ids)
    out = []
    for s in sessions:
        since = s.first_dose_at or s.started_at
        peaks = await readings_repo.extremes_in_force(db, s.id, to_ms(since))
        records = [DoseRecord.model_validate(e.data or {}) for e in doses.get(s.id, [])]
        total = sum(d.total_mg or 0 for d in records) or None
        scores = [
            o.moass for o in observations.get(s.id, []) if o.moass is not None and o.ts >= since
        ]
        row = rows.get(s.id)
        base = s.baseline or {}
        out.append(
            SeriesSession(
                session_id=s.id,
                protocol=s.protocol,
                started_at=s.started_at,
                first_dose_at=s.first_dose_at,
                status=s.status,
                dose_mg=total,
                dose=", ".join(
                    f"{d.drug or ''} {d.amount:g} {d.unit}".strip() for d in records if d.amount
                )
                or None,
                baseline_sbp=base.get("sbp"),
                baseline_dbp=base.get("dbp"),
                baseline_hr=base.get("hr"),
                peak_sbp=peaks["sbp"],
                peak_dbp=peaks["dbp"],
                peak_hr=peaks["hr"],
                lowest_spo2=peaks["spo2"],
                lowest_moass=min(scores) if scores else None,
                alarms=alarms.get(s.id, {}),
                ready_min=minutes(s.first_dose_at, row.first_ready_at) if row else None,
                stable_min=minutes(s.first_dose_at, row.stable_at) if row else None,
                signed_off_at=row.signed_off_at if row else None,
            )
        )
    return SeriesOut(patient=PatientOut.model_validate(patient), sessions=out)
