"""A patient's course: every session in one view, for the prescriber's review."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.alarms import repository as alarms_repo
from vitalwatch.db import to_ms
from vitalwatch.patients import repository as patients_repo
from vitalwatch.patients.schemas import PatientOut
from vitalwatch.readings import repository as readings_repo
from vitalwatch.readings.latest import LatestStore
from vitalwatch.records import readiness, repository
from vitalwatch.records.errors import RecordNotFound
from vitalwatch.records.schemas import SeriesOut, SeriesSession
from vitalwatch.records.text import minutes, num
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.schemas import DoseRecord


def dose_sum(records: Sequence[DoseRecord]) -> str | None:
    """A session's doses summed, with their parts: "esketamine 3 x 28 mg = 84 mg"."""
    parts = [d.total_mg for d in records if d.total_mg]
    if not parts:
        return None
    drugs = {d.drug for d in records if d.drug}
    drug = f"{drugs.pop()} " if len(drugs) == 1 else ""
    total = f"{num(sum(parts))} mg"
    if len(parts) == 1:
        return f"{drug}{total}"
    if len(set(parts)) == 1:
        return f"{drug}{len(parts)} x {num(parts[0])} mg = {total}"
    return f"{drug}{' + '.join(f'{num(p)} mg' for p in parts)} = {total}"


async def of_patient(
    db: AsyncSession, latest: LatestStore, tz: ZoneInfo, patient_id: int
) -> SeriesOut:
    """Every session of a patient; readiness as records/readiness.py computes it
    (`latest`, `tz` as for the report), peaks from the readings in force."""
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
    await latest.ensure_loaded(db, set(ids))
    states = await readiness.compute(db, latest, tz, sessions)
    out = []
    for s in sessions:
        since = s.first_dose_at or s.started_at
        peaks = await readings_repo.extremes_in_force(db, s.id, to_ms(since))
        records = [DoseRecord.model_validate(e.data or {}) for e in doses.get(s.id, [])]
        parts = [d.total_mg for d in records if d.total_mg]
        scores = [
            o.moass for o in observations.get(s.id, []) if o.moass is not None and o.ts >= since
        ]
        q = states[s.id]
        base = s.baseline or {}
        out.append(
            SeriesSession(
                session_id=s.id,
                protocol=s.protocol,
                started_at=s.started_at,
                first_dose_at=s.first_dose_at,
                status=s.status,
                dose_mg=sum(parts) or None,
                dose_parts_mg=parts,
                dose=dose_sum(records),
                baseline_sbp=base.get("sbp"),
                baseline_dbp=base.get("dbp"),
                baseline_hr=base.get("hr"),
                peak_sbp=peaks["sbp"],
                peak_dbp=peaks["dbp"],
                peak_hr=peaks["hr"],
                lowest_spo2=peaks["spo2"],
                lowest_moass=min(scores) if scores else None,
                alarms=alarms.get(s.id, {}),
                ready_min=minutes(s.first_dose_at, q.first_ready_at),
                stable_min=minutes(s.first_dose_at, q.stable_at),
                signed_off_at=q.signed_off_at,
            )
        )
    return SeriesOut(patient=PatientOut.model_validate(patient), sessions=out)
