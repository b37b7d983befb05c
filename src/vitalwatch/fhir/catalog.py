"""The FHIR R4 resources around the clinical ones: staff (Practitioner), the
clinic (Organization), monitors (Device), the service's own observation codes
(CodeSystem) and the signed session report (DocumentReference)."""

from __future__ import annotations

from typing import Any

from vitalwatch.auth.models import User
from vitalwatch.devices.models import Device
from vitalwatch.fhir.codes import HL7_ID_SYSTEM, LOCAL, LOCAL_ID, LOINC, NURSING, USER_SYSTEM
from vitalwatch.fhir.resources import CLINIC_ID, CLINIC_REF, instant, practitioner_ref, user_ref
from vitalwatch.records.models import SessionReadiness
from vitalwatch.records.schemas import ClinicOut
from vitalwatch.sessions.models import Session

REPORT_TYPE = {"system": LOINC, "code": "28570-0", "display": "Procedure note"}


def practitioner(u: User) -> dict[str, Any]:
    """A staff account as the records sign it: the staff profile's name,
    credentials and contacts (the user name while the profile has no name)."""
    out: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(u.id),
        "identifier": [{"system": USER_SYSTEM, "value": u.username}],
        "active": bool(u.active),
        "name": [_human_name(u)],
    }
    telecom = _telecom(phone=u.phone, email=u.email)
    if telecom:
        out["telecom"] = telecom
    if u.credentials:
        out["qualification"] = [{"code": {"text": u.credentials}}]
    return out


def _human_name(u: User) -> dict[str, Any]:
    if not (u.given_name or u.family_name):
        return {"text": u.username}
    name: dict[str, Any] = {
        "use": "official",
        "text": " ".join(n for n in (u.given_name, u.family_name) if n),
    }
    if u.family_name:
        name["family"] = u.family_name
    if u.given_name:
        name["given"] = [u.given_name]
    return name


def _telecom(**points: str | None) -> list[dict[str, str]]:
    return [{"system": k, "value": v, "use": "work"} for k, v in points.items() if v]


def organization(c: ClinicOut) -> dict[str, Any]:
    """The clinic: the profile's name, address and phone (`c.name` is the
    VITALWATCH_CLINIC_NAME setting until an admin has filled the profile in)."""
    out: dict[str, Any] = {
        "resourceType": "Organization",
        "id": CLINIC_ID,
        "active": True,
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "prov",
                        "display": "Healthcare Provider",
                    }
                ]
            }
        ],
        "name": c.name,
    }
    telecom = _telecom(phone=c.phone)
    if telecom:
        out["telecom"] = telecom
    address: dict[str, Any] = {
        k: v for k, v in (("city", c.city), ("state", c.state), ("postalCode", c.zip)) if v
    }
    if lines := [line for line in (c.address1, c.address2) if line]:
        address["line"] = lines
    if address:
        out["address"] = [{"use": "work", "type": "physical", **address}]
    return out


def device(d: Device, hl7_ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Device",
        "id": str(d.id),
        "status": "inactive" if d.retired else "active",
        "deviceName": [{"name": d.name, "type": "user-friendly-name"}],
        "owner": CLINIC_REF,
    }
    if hl7_ids:
        out["identifier"] = [{"system": HL7_ID_SYSTEM, "value": i} for i in hl7_ids]
    if d.model:
        out["modelNumber"] = d.model
    return out


def code_system() -> dict[str, Any]:
    """The nurses' observation codes (system `urn:vitalwatch:observation`)."""
    concepts = [
        {"code": c.code, "display": c.display, "definition": k.text}
        for k in NURSING
        for c in k.codes
        if c.system == LOCAL
    ]
    return {
        "resourceType": "CodeSystem",
        "id": LOCAL_ID,
        "url": LOCAL,
        "name": "VitalWatchObservation",
        "title": "VitalWatch nurses' observation codes",
        "status": "active",
        "publisher": "VitalWatch",
        "description": "Scores a nurse records during a supervised ketamine or "
        "esketamine session, for which no LOINC code is in use.",
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        "concept": concepts,
    }


def document_reference(
    session: Session, signed: SessionReadiness, signer: User | None, pdf_url: str
) -> dict[str, Any]:
    """The signed session report: its PDF by URL (the report endpoint, staff token)."""
    assert signed.signed_off_at is not None
    author = user_ref(signer) if signer else practitioner_ref(None, signed.signed_off_by)
    period = {"start": instant(session.started_at)}
    if session.ended_at:
        period["end"] = instant(session.ended_at)
    return {
        "resourceType": "DocumentReference",
        "id": str(session.id),
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [REPORT_TYPE], "text": "Session report"},
        "subject": {"reference": f"Patient/{session.patient_id}"},
        "date": instant(signed.signed_off_at),
        "author": [author],
        "authenticator": author,
        "custodian": CLINIC_REF,
        "description": f"Report of monitoring session {session.id}",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "url": pdf_url,
                    "title": f"session-{session.id}-report.pdf",
                    "creation": instant(signed.signed_off_at),
                }
            }
        ],
        "context": {"encounter": [{"reference": f"Encounter/{session.id}"}], "period": period},
    }
