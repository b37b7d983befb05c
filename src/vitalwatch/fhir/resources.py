"""VitalWatch records as FHIR R4 resources (plain JSON-ready dicts): Patient,
Encounter and Observations."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from vitalwatch.auth.models import User
from vitalwatch.fhir.codes import (
    BP_PARTS,
    CATEGORIES,
    NURSING,
    PARTICIPATION,
    PROFILE,
    REF_SYSTEM,
    UCUM,
    VITALS,
    Code,
    Kind,
)
from vitalwatch.patients.models import Patient
from vitalwatch.records.models import Observation as NurseObservation
from vitalwatch.sessions.models import Session
from vitalwatch.vitals import PROFILES

CLINIC_ID = "clinic"
CLINIC_REF = {"reference": f"Organization/{CLINIC_ID}"}


def instant(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ms_instant(ms: int) -> str:
    """Epoch milliseconds as an instant (the export's hot path: no datetime)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def coding(c: Code) -> dict[str, str]:
    return {"system": c.system, "code": c.code, "display": c.display}


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def practitioner_ref(user_id: int | None, name: str | None) -> dict[str, str]:
    """A reference to a staff member: by id when the account is known, else by name."""
    out = {"reference": f"Practitioner/{user_id}"} if user_id is not None else {}
    if name:
        out["display"] = name
    return out


def user_ref(user: User) -> dict[str, str]:
    """A known account, displayed as the records sign it ("Sam Patel, RN")."""
    return practitioner_ref(user.id, user.signature())


def _concept(kind: Kind) -> dict[str, Any]:
    return {"coding": [coding(c) for c in kind.codes], "text": kind.text}


def patient(p: Patient) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(p.id),
        "identifier": [{"system": REF_SYSTEM, "value": p.ref}],
    }
    if p.display_name:
        out["name"] = [{"text": p.display_name}]
    if p.sex:
        out["gender"] = p.sex
    if p.date_of_birth:
        out["birthDate"] = p.date_of_birth.isoformat()
    return out


#: v3 ParticipationType codes of the staff an Encounter names
ROLES = {
    "ADM": "admitter",  # started the session
    "PPRF": "primary performer",  # gave a dose
    "DIS": "discharger",  # signed the patient off
}


def encounter(s: Session, participants: list[tuple[str, User]]) -> dict[str, Any]:
    """A session: its period, the clinic as provider, and who started it, dosed
    and discharged (`participants`: (ParticipationType code, user))."""
    period = {"start": instant(s.started_at)}
    if s.ended_at:
        period["end"] = instant(s.ended_at)
    out: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(s.id),
        "status": "in-progress" if s.status == "active" else "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "type": [{"text": PROFILES[s.protocol].label}],
        "subject": {"reference": f"Patient/{s.patient_id}"},
        "period": period,
        "serviceProvider": CLINIC_REF,
    }
    if participants:
        out["participant"] = [
            {
                "type": [
                    {"coding": [{"system": PARTICIPATION, "code": code, "display": ROLES[code]}]}
                ],
                "individual": user_ref(u),
            }
            for code, u in participants
        ]
    if s.room:
        out["location"] = [{"location": {"display": s.room}}]
    return out


def _profiles(kind: Kind) -> list[str]:
    extra = [] if kind.profile in (None, "vitalsigns") else [PROFILE + str(kind.profile)]
    return [PROFILE + "vitalsigns", *extra]


def _category(kind: Kind) -> list[dict[str, Any]]:
    c = CATEGORIES[kind.category]
    return [{"coding": [coding(c)], "text": c.display}]


#: per kind: (meta, category, code), built once and shared (the export
#: serialises these, never edits them): the hot path of a whole session's export
_FIXED = {
    k.key: ({"profile": _profiles(k)}, _category(k), _concept(k)) for k in (*VITALS, *NURSING)
}


def vital(kind: Kind, row: Mapping[Any, Any], session: Session) -> dict[str, Any]:
    """A vital-signs profile Observation of one stored value (BP: the panel), with
    the monitor that measured it or the nurse who typed it in."""
    meta, category, code = _FIXED[kind.key]
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"r{row['id']}-{kind.key}",
        "meta": meta,
        "status": "final",
        "category": category,
        "code": code,
        "subject": {"reference": f"Patient/{session.patient_id}"},
        "encounter": {"reference": f"Encounter/{session.id}"},
        "effectiveDateTime": ms_instant(row["ts_ms"]),
    }
    if row["entered_by_name"] is not None:
        out["performer"] = [practitioner_ref(row["entered_by"], row["entered_by_name"])]
    else:
        out["device"] = {"reference": f"Device/{row['device_id']}"}
    if kind.key == "bp":
        out["component"] = [
            {"code": code, "valueQuantity": quantity(float(row[metric]), "mm[Hg]")}
            for metric, code in _BP_CODES
        ]
    else:
        assert kind.column is not None and kind.unit is not None
        out["valueQuantity"] = quantity(float(row[kind.column]), kind.unit)
    return out


_BP_CODES = [(metric, {"coding": [coding(loinc), coding(mdc)]}) for metric, loinc, mdc in BP_PARTS]


def present(kind: Kind, row: Mapping[Any, Any]) -> bool:
    if kind.key == "bp":
        return row["sbp"] is not None and row["dbp"] is not None
    return row[kind.column or ""] is not None


def nursing(
    kind: Kind, obs: NurseObservation, session: Session, author: User | None
) -> dict[str, Any]:
    """A nurse's scored observation (MOAA/S, CADSS, dissociation)."""
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"o{obs.id}-{kind.key}",
        "status": "final",
        "category": _category(kind),
        "code": _concept(kind),
        "subject": {"reference": f"Patient/{session.patient_id}"},
        "encounter": {"reference": f"Encounter/{session.id}"},
        "effectiveDateTime": instant(obs.ts),
    }
    if author is not None:
        out["performer"] = [user_ref(author)]
    elif obs.created_by:
        out["performer"] = [practitioner_ref(None, obs.created_by)]
    value = getattr(obs, kind.column or kind.key)
    if isinstance(value, str):
        out["valueCodeableConcept"] = {"text": value}
    else:
        out["valueInteger"] = int(value)
    return out
