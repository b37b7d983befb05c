"""/api/v1/patients: patients as records, each with their sessions (nurse or admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from vitalwatch.auth.deps import Staff, actor_of
from vitalwatch.db import DbSession
from vitalwatch.ids import PathId
from vitalwatch.patients import service
from vitalwatch.patients.schemas import (
    PatientCreate,
    PatientDetail,
    PatientPatch,
    PatientRecord,
    PatientSession,
)
from vitalwatch.sessions import repository as sessions_repo

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such patient"},
    409: {"description": "Another patient has this reference"},
}


async def _detail(db: DbSession, patient_id: int) -> PatientDetail:
    patient = await service.get(db, patient_id)
    sessions = await sessions_repo.list_for_patient(db, patient_id)
    return PatientDetail(
        **PatientRecord.model_validate(patient).model_dump(),
        sessions=[PatientSession.model_validate(s) for s in sessions],
    )


@router.get("", response_model=list[PatientRecord])
async def search_patients(
    db: DbSession,
    claims: Staff,
    q: Annotated[
        str | None, Query(max_length=120, description="Part of a reference or name")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[PatientRecord]:
    return [PatientRecord.model_validate(p) for p in await service.search(db, q, limit)]


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=PatientDetail, responses=_ERRORS
)
async def create_patient(body: PatientCreate, db: DbSession, claims: Staff) -> PatientDetail:
    patient = await service.create(db, body, actor_of(claims))
    return await _detail(db, patient.id)


@router.get("/{patient_id}", response_model=PatientDetail, responses=_ERRORS)
async def get_patient(patient_id: PathId, db: DbSession, claims: Staff) -> PatientDetail:
    """The patient's record with every session, newest first."""
    return await _detail(db, patient_id)


@router.patch("/{patient_id}", response_model=PatientDetail, responses=_ERRORS)
async def patch_patient(
    patient_id: PathId, body: PatientPatch, db: DbSession, claims: Staff
) -> PatientDetail:
    """Correct the record; audited with the old and new values."""
    await service.update(db, patient_id, body, actor_of(claims))
    return await _detail(db, patient_id)
