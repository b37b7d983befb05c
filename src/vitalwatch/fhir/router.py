"""/fhir/r4: a read-only FHIR R4 export (staff token), application/fhir+json.
Every error under it, authentication's included, is an OperationOutcome."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from vitalwatch import __version__
from vitalwatch.auth.deps import Staff
from vitalwatch.context import Ctx
from vitalwatch.db import DbSession
from vitalwatch.fhir import observations, service
from vitalwatch.fhir.params import FhirError, Query, handling_strict, outcome, parse

FHIR_JSON = "application/fhir+json"


class FhirResponse(Response):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def problem(status: int, code: str, texts: list[str], headers: Any = None) -> FhirResponse:
    """An error under the FHIR routes, as an OperationOutcome (app.py's handler)."""
    return FhirResponse(outcome("error", code, texts), status_code=status, headers=headers)


_OUTCOME: dict[str, Any] = {"content": {FHIR_JSON: {}}}
#: in the OpenAPI schema: FHIR errors are OperationOutcomes, not `{"detail"}`
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "OperationOutcome: a malformed, missing or (strict) unsupported parameter",
        **_OUTCOME,
    },
    401: {"description": "OperationOutcome: no or a bad staff token", **_OUTCOME},
    403: {"description": "OperationOutcome: the wrong role", **_OUTCOME},
    404: {"description": "OperationOutcome: no such resource, type or interaction", **_OUTCOME},
}
#: every error under it, FastAPI's included, is answered as an OperationOutcome
PREFIX = "/fhir/r4"
router = APIRouter(prefix=PREFIX, tags=["fhir"], responses=ERRORS)


def _base(request: Request) -> str:
    return _origin(request) + "/fhir/r4"


def _origin(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _params(kind: str) -> dict[str, Any]:
    """A search's parameters for the OpenAPI schema (they are read from the query
    string by fhir/params.py, which also reports those not supported)."""
    listed = [
        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
        for n in service.SEARCHES[kind] or {}
    ]
    return {"parameters": listed}


def _query(request: Request, kind: str) -> Query:
    supported = service.SEARCHES[kind] or {}
    strict = handling_strict(request.headers.get("prefer"))
    return parse(list(request.query_params.multi_items()), supported, strict)


@router.get("/metadata", response_class=FhirResponse)
async def metadata(request: Request, claims: Staff) -> FhirResponse:
    """The CapabilityStatement: exactly the types, reads and searches that work."""
    return FhirResponse(service.capability(_base(request), __version__))


@router.get("/Patient", response_class=FhirResponse, openapi_extra=_params("Patient"))
async def search_patients(request: Request, db: DbSession, claims: Staff) -> FhirResponse:
    """Patients by `identifier` (the clinic's reference)."""
    q = _query(request, "Patient")
    return FhirResponse(await service.search_patients(db, _base(request), q))


@router.get("/Patient/{patient_id}", response_class=FhirResponse)
async def read_patient(patient_id: str, db: DbSession, claims: Staff) -> FhirResponse:
    return FhirResponse(await service.read_patient(db, patient_id))


@router.get("/Encounter", response_class=FhirResponse, openapi_extra=_params("Encounter"))
async def search_encounters(request: Request, db: DbSession, claims: Staff) -> FhirResponse:
    """A patient's sessions as Encounters."""
    q = _query(request, "Encounter")
    return FhirResponse(await service.search_encounters(db, _base(request), q))


@router.get("/Encounter/{encounter_id}", response_class=FhirResponse)
async def read_encounter(encounter_id: str, db: DbSession, claims: Staff) -> FhirResponse:
    """A session as an Encounter."""
    return FhirResponse(await service.read_encounter(db, encounter_id))


@router.get("/Observation", response_class=FhirResponse, openapi_extra=_params("Observation"))
async def search_observations(request: Request, db: DbSession, claims: Staff) -> FhirResponse:
    """Vital-signs Observations (one per stored value in force; BP as the 85354-9
    panel) and the nurses' MOAA/S, CADSS and dissociation, in time order, paged."""
    q = _query(request, "Observation")
    return FhirResponse(await observations.search(db, _base(request), q))


@router.get("/Observation/{observation_id}", response_class=FhirResponse)
async def read_observation(observation_id: str, db: DbSession, claims: Staff) -> FhirResponse:
    return FhirResponse(await observations.read(db, observation_id))


@router.get(
    "/MedicationAdministration",
    response_class=FhirResponse,
    openapi_extra=_params("MedicationAdministration"),
)
async def search_administrations(request: Request, db: DbSession, claims: Staff) -> FhirResponse:
    """The doses of a patient's sessions (`patient`) or of one (`context`)."""
    q = _query(request, "MedicationAdministration")
    return FhirResponse(await service.search_administrations(db, _base(request), q))


@router.get("/MedicationAdministration/{dose_id}", response_class=FhirResponse)
async def read_administration(dose_id: str, db: DbSession, claims: Staff) -> FhirResponse:
    return FhirResponse(await service.read_administration(db, dose_id))


@router.get(
    "/DocumentReference", response_class=FhirResponse, openapi_extra=_params("DocumentReference")
)
async def search_documents(request: Request, db: DbSession, claims: Staff) -> FhirResponse:
    """The signed session reports (PDF) of a patient or an encounter."""
    q = _query(request, "DocumentReference")
    return FhirResponse(await service.search_documents(db, _origin(request), q))


@router.get("/DocumentReference/{doc_id}", response_class=FhirResponse)
async def read_document(
    doc_id: str, request: Request, db: DbSession, claims: Staff
) -> FhirResponse:
    return FhirResponse(await service.read_document(db, _origin(request), doc_id))


@router.get("/Practitioner/{user_id}", response_class=FhirResponse)
async def read_practitioner(user_id: str, db: DbSession, claims: Staff) -> FhirResponse:
    """A staff account."""
    return FhirResponse(await service.read_practitioner(db, user_id))


@router.get("/Organization/{org_id}", response_class=FhirResponse)
async def read_organization(org_id: str, db: DbSession, ctx: Ctx, claims: Staff) -> FhirResponse:
    """The clinic (`Organization/clinic`): the clinic profile (PUT /api/v1/clinic);
    named by VITALWATCH_CLINIC_NAME until the profile has a name."""
    s = ctx.settings
    return FhirResponse(await service.read_organization(db, org_id, s.tz, s.clinic_name))


@router.get("/Device/{device_id}", response_class=FhirResponse)
async def read_device(device_id: str, db: DbSession, claims: Staff) -> FhirResponse:
    """A monitor."""
    return FhirResponse(await service.read_device(db, device_id))


@router.get("/CodeSystem/{cs_id}", response_class=FhirResponse)
async def read_code_system(cs_id: str, claims: Staff) -> FhirResponse:
    """The service's own observation codes (CodeSystem/vitalwatch-observation)."""
    return FhirResponse(service.read_code_system(cs_id))


@router.api_route(
    "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    response_class=FhirResponse,
    include_in_schema=False,
)
async def unsupported(rest: str, request: Request, claims: Staff) -> FhirResponse:
    """Anything else: an unknown type or interaction (404), or a write (405)."""
    if request.method != "GET":
        raise FhirError(405, "not-supported", f"{request.method}: this FHIR server is read-only")
    kind = rest.split("/", 1)[0]
    if kind in service.SEARCHES:
        raise FhirError(404, "not-supported", f"{rest}: not an interaction of {kind} here")
    raise FhirError(404, "not-supported", f"{kind}: not a resource type this server has")
