"""/fhir/r4: a read-only FHIR R4 export (staff token), application/fhir+json."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from vitalwatch import __version__
from vitalwatch.auth.deps import Staff
from vitalwatch.db import DbSession
from vitalwatch.fhir import service

router = APIRouter(prefix="/fhir/r4", tags=["fhir"])
FHIR_JSON = "application/fhir+json"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir/r4"


async def _answer(work: Awaitable[dict[str, Any]]) -> JSONResponse:
    try:
        return JSONResponse(await work, media_type=FHIR_JSON)
    except service.FhirError as exc:
        return JSONResponse(exc.outcome(), status_code=exc.status, media_type=FHIR_JSON)


@router.get("/metadata")
async def metadata(request: Request, claims: Staff) -> JSONResponse:
    """The CapabilityStatement."""
    return JSONResponse(service.capability(_base(request), __version__), media_type=FHIR_JSON)


@router.get("/Patient/{patient_id}")
async def read_patient(patient_id: str, db: DbSession, claims: Staff) -> JSONResponse:
    return await _answer(service.read_patient(db, patient_id))


@router.get("/Encounter/{encounter_id}")
async def read_encounter(encounter_id: str, db: DbSession, claims: Staff) -> JSONResponse:
    """A session as an Encounter."""
    return await _answer(service.read_encounter(db, encounter_id))


@router.get("/Encounter")
async def search_encounters(
    request: Request, db: DbSession, claims: Staff, patient: str | None = None
) -> JSONResponse:
    return await _answer(service.search_encounters(db, _base(request), patient))


@router.get("/Observation/{observation_id}")
async def read_observation(observation_id: str, db: DbSession, claims: Staff) -> JSONResponse:
    return await _answer(service.read_observation(db, observation_id))


@router.get("/Observation")
async def search_observations(
    request: Request,
    db: DbSession,
    claims: Staff,
    patient: str | None = None,
    code: Annotated[list[str] | None, Query()] = None,
    date: Annotated[list[str] | None, Query()] = None,
    count: Annotated[int | None, Query(alias="_count", ge=1)] = None,
    cursor: Annotated[str | None, Query(alias="_cursor", max_length=100)] = None,
) -> JSONResponse:
    """Vital-signs Observations (one per stored value; BP as the 85354-9 panel) and
    the nurses' MOAA/S, CADSS and dissociation, as a searchset Bundle with paging."""
    return await _answer(
        service.search_observations(
            db, _base(request), patient, code or [], date or [], count, cursor
        )
    )
