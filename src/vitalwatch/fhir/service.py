"""The FHIR R4 read API: reads of every exported resource, the searches that
are not the Observation export (fhir/observations.py), and the
CapabilityStatement built from the same tables of what is supported."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.auth.models import User
from vitalwatch.devices import repository as devices_repo
from vitalwatch.fhir import catalog, observations, repository, resources
from vitalwatch.fhir.codes import LOCAL_ID, REF_SYSTEM
from vitalwatch.fhir.medication import administration
from vitalwatch.fhir.params import FhirError, Query, bundle, int_id, not_found, reference
from vitalwatch.fhir.resources import CLINIC_ID
from vitalwatch.patients import repository as patients_repo
from vitalwatch.records import clinic
from vitalwatch.records import repository as records_repo
from vitalwatch.sessions.models import Session

PATIENT_SEARCH = {"identifier": None}
BY_PATIENT = {"patient": None}
MEDICATION_SEARCH = {"patient": None, "context": None}
DOCUMENT_SEARCH = {"patient": None, "encounter": None}
#: every type and its search parameters (None: read only)
SEARCHES: dict[str, dict[str, Any] | None] = {
    "Patient": PATIENT_SEARCH,
    "Encounter": BY_PATIENT,
    "Observation": observations.SUPPORTED,
    "MedicationAdministration": MEDICATION_SEARCH,
    "DocumentReference": DOCUMENT_SEARCH,
    "Practitioner": None,
    "Organization": None,
    "Device": None,
    "CodeSystem": None,
}


async def read_patient(db: AsyncSession, patient_id: str) -> dict[str, Any]:
    patient = await patients_repo.get(db, int_id(patient_id, "Patient"))
    if patient is None:
        raise not_found(f"Patient/{patient_id}")
    return resources.patient(patient)


async def search_patients(db: AsyncSession, base: str, q: Query) -> dict[str, Any]:
    """By `identifier` (the clinic's reference: `urn:vitalwatch:patient-ref|MRN-1`
    or the bare value); a comma is any of them."""
    tokens = q.all("identifier")
    if not tokens:
        raise FhirError(400, "required", "identifier is required (Patient?identifier=MRN-1)")
    found: dict[int, Any] = {}
    for i, param in enumerate(tokens):
        matched: dict[int, Any] = {}
        for token in (t for t in param.split(",") if t):
            system, bar, value = token.rpartition("|")
            if bar and system != REF_SYSTEM:
                continue
            patient = await patients_repo.by_ref(db, value)
            if patient is not None:
                matched[patient.id] = patient
        found = matched if i == 0 else {k: v for k, v in found.items() if k in matched}
    items = [resources.patient(p) for _, p in sorted(found.items())]
    return bundle(base, "Patient", q, len(items), items[: q.count()])


async def _participants(
    db: AsyncSession, sessions: Iterable[Session]
) -> dict[int, list[tuple[str, User]]]:
    """Who started each session (ADM), gave its doses (PPRF) and signed it off (DIS)."""
    sessions = list(sessions)
    ids = [s.id for s in sessions]
    doses = await records_repo.doses_of(db, ids)
    signed = await records_repo.readiness_rows(db, ids)
    users = await repository.users_by_ids(
        db, [s.created_by for s in sessions] + [e.created_by for d in doses.values() for e in d]
    )
    signers = await repository.users_by_names(db, (r.signed_off_by for r in signed.values()))
    out: dict[int, list[tuple[str, User]]] = {}
    for s in sessions:
        people: list[tuple[str, User | None]] = [("ADM", users.get(s.created_by or 0))]
        people += [("PPRF", users.get(e.created_by or 0)) for e in doses.get(s.id, [])]
        row = signed.get(s.id)
        if row is not None and row.signed_off_by:
            people.append(("DIS", signers.get(row.signed_off_by)))
        seen: set[tuple[str, int]] = set()
        out[s.id] = []
        for code, u in people:
            if u is not None and (code, u.id) not in seen:
                seen.add((code, u.id))
                out[s.id].append((code, u))
    return out


async def _session(db: AsyncSession, value: str, kind: str) -> Session:
    sid = int_id(value, kind)
    session = (await repository.sessions_by_ids(db, [sid])).get(sid)
    if session is None:
        raise not_found(f"{kind}/{value}")
    return session


async def read_encounter(db: AsyncSession, encounter_id: str) -> dict[str, Any]:
    session = await _session(db, encounter_id, "Encounter")
    return resources.encounter(session, (await _participants(db, [session]))[session.id])


async def _scope(db: AsyncSession, q: Query, encounter_param: str | None) -> list[Session]:
    """The sessions a search names by `patient` and/or its encounter parameter."""
    patient = q.first("patient")
    encounter = q.first(encounter_param) if encounter_param else None
    if patient is None and encounter is None:
        names = " or ".join(n for n in ("patient", encounter_param) if n)
        raise FhirError(400, "required", f"{names} is required (?patient=Patient/12)")
    if patient is not None:
        found = await repository.sessions_of(db, reference("patient", patient, "Patient"))
    else:
        assert encounter_param is not None and encounter is not None
        found = await repository.sessions_by_ids(
            db, [reference(encounter_param, encounter, "Encounter")]
        )
    if encounter is not None:
        sid = reference(str(encounter_param), encounter, "Encounter")
        found = {k: v for k, v in found.items() if k == sid}
    return sorted(found.values(), key=lambda s: s.id)


async def search_encounters(db: AsyncSession, base: str, q: Query) -> dict[str, Any]:
    sessions = await _scope(db, q, None)
    people = await _participants(db, sessions)
    items = [resources.encounter(s, people[s.id]) for s in sessions]
    return bundle(base, "Encounter", q, len(items), items[: q.count()])


async def _administrations(db: AsyncSession, sessions: list[Session]) -> list[dict[str, Any]]:
    by_id = {s.id: s for s in sessions}
    doses = await records_repo.doses_of(db, by_id)
    events = [e for sid in sorted(doses) for e in doses[sid]]
    givers = await repository.users_by_ids(db, (e.created_by for e in events))
    return [administration(e, by_id[e.session_id], givers.get(e.created_by or 0)) for e in events]


async def read_administration(db: AsyncSession, dose_id: str) -> dict[str, Any]:
    event = await repository.dose(db, int_id(dose_id, "MedicationAdministration"))
    session = (await repository.sessions_by_ids(db, [event.session_id])) if event else {}
    if event is None or not session:
        raise not_found(f"MedicationAdministration/{dose_id}")
    givers = await repository.users_by_ids(db, [event.created_by])
    return administration(event, session[event.session_id], givers.get(event.created_by or 0))


async def search_administrations(db: AsyncSession, base: str, q: Query) -> dict[str, Any]:
    items = await _administrations(db, await _scope(db, q, "context"))
    return bundle(base, "MedicationAdministration", q, len(items), items[: q.count()])


async def _documents(
    db: AsyncSession, origin: str, sessions: list[Session]
) -> list[dict[str, Any]]:
    """A DocumentReference per signed-off session: its report PDF."""
    signed = await records_repo.readiness_rows(db, [s.id for s in sessions])
    signers = await repository.users_by_names(db, (r.signed_off_by for r in signed.values()))
    out = []
    for s in sessions:
        row = signed.get(s.id)
        if row is not None and row.signed_off_at is not None:
            url = f"{origin}/api/v1/sessions/{s.id}/report.pdf"
            signer = signers.get(row.signed_off_by or "")
            out.append(catalog.document_reference(s, row, signer, url))
    return out


async def read_document(db: AsyncSession, origin: str, doc_id: str) -> dict[str, Any]:
    found = await _documents(db, origin, [await _session(db, doc_id, "DocumentReference")])
    if not found:
        raise not_found(f"DocumentReference/{doc_id}")
    return found[0]


async def search_documents(db: AsyncSession, origin: str, q: Query) -> dict[str, Any]:
    items = await _documents(db, origin, await _scope(db, q, "encounter"))
    return bundle(f"{origin}/fhir/r4", "DocumentReference", q, len(items), items[: q.count()])


async def read_practitioner(db: AsyncSession, user_id: str) -> dict[str, Any]:
    u = await repository.user(db, int_id(user_id, "Practitioner"))
    if u is None:
        raise not_found(f"Practitioner/{user_id}")
    return catalog.practitioner(u)


async def read_organization(
    db: AsyncSession, org_id: str, tz: ZoneInfo, default_name: str
) -> dict[str, Any]:
    """The clinic profile; `default_name` (VITALWATCH_CLINIC_NAME) names it
    until an admin has given the profile a name."""
    if org_id != CLINIC_ID:
        raise not_found(f"Organization/{org_id}")
    profile, _ = await clinic.in_use(db, tz, default_name)
    return catalog.organization(profile)


async def read_device(db: AsyncSession, device_id: str) -> dict[str, Any]:
    did = int_id(device_id, "Device")
    d = await devices_repo.by_id(db, did)
    if d is None or d.kind != "monitor":
        raise not_found(f"Device/{device_id}")
    return catalog.device(d, (await devices_repo.ids_of(db, [did])).get(did, []))


def read_code_system(cs_id: str) -> dict[str, Any]:
    if cs_id != LOCAL_ID:
        raise not_found(f"CodeSystem/{cs_id}")
    return catalog.code_system()


_PARAM_TYPES = {
    "patient": "reference",
    "encounter": "reference",
    "context": "reference",
    "identifier": "token",
    "category": "token",
    "code": "token",
    "date": "date",
    "_count": "number",
    "_sort": "string",
    "_summary": "token",
}
_PARAM_DOCS = {
    "_count": "0: the total only",
    "_sort": "date (ascending; also the default order)",
    "_summary": "count only",
    "code": "LOINC, IEEE 11073 MDC and urn:vitalwatch:observation (CodeSystem/"
    + LOCAL_ID
    + "); system|code, system| or a bare code",
}


def capability(base: str, version: str) -> dict[str, Any]:
    """Exactly the types, interactions and search parameters that work."""
    listed = []
    for kind, params in SEARCHES.items():
        entry: dict[str, Any] = {"type": kind, "interaction": [{"code": "read"}]}
        if params is not None:
            entry["interaction"].append({"code": "search-type"})
            entry["searchParam"] = [
                {"name": n, "type": _PARAM_TYPES[n]}
                | ({"documentation": _PARAM_DOCS[n]} if n in _PARAM_DOCS else {})
                for n in params
                if not n.startswith("_cursor")
            ]
        listed.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "kind": "instance",
        "software": {"name": "VitalWatch", "version": version},
        "implementation": {"description": "VitalWatch FHIR R4 export (read-only)", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Unsupported search parameters: a 400 OperationOutcome with "
                "Prefer: handling=strict; otherwise left out of the Bundle's self link and "
                "named in an OperationOutcome entry (search mode outcome).",
                "security": {"description": "Authorization: Bearer <staff access token>"},
                "resource": listed,
            }
        ],
    }
