"""VitalWatch records as FHIR R4 resources (plain JSON-ready dicts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vitalwatch.db import from_ms
from vitalwatch.fhir.codes import BP_PARTS, CATEGORY, PROFILE, REF_SYSTEM, UCUM, Kind
from vitalwatch.patients.models import Patient
from vitalwatch.records.models import Observation as NurseObservation
from vitalwatch.sessions.models import Session
from vitalwatch.vitals import PROFILES


def instant(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(ms: int) -> str:
    return instant(from_ms(ms))


def _concept(kind: Kind) -> dict[str, Any]:
    return {
        "coding": [{"system": c.system, "code": c.code, "display": c.display} for c in kind.codes],
        "text": kind.text,
    }


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


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


def encounter(s: Session) -> dict[str, Any]:
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
    }
    if s.room:
        out["location"] = [{"location": {"display": s.room}}]
    return out


def _profiles(kind: Kind) -> list[str]:
    extra = [] if kind.profile in (None, "vitalsigns") else [PROFILE + str(kind.profile)]
    return [PROFILE + "vitalsigns", *extra]


def vital(
    kind: Kind, reading_id: int, session: Session, ts_ms: int, row: dict[str, float | None]
) -> dict[str, Any]:
    """A vital-signs profile Observation of one stored value (BP: the panel)."""
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"r{reading_id}-{kind.key}",
        "meta": {"profile": _profiles(kind)},
        "status": "final",
        "category": [
            {
                "coding": [{"system": CATEGORY, "code": "vital-signs", "display": "Vital Signs"}],
                "text": "Vital Signs",
            }
        ],
        "code": _concept(kind),
        "subject": {"reference": f"Patient/{session.patient_id}"},
        "encounter": {"reference": f"Encounter/{session.id}"},
        "effectiveDateTime": _ms(ts_ms),
    }
    if kind.key == "bp":
        out["component"] = [
            {
                "code": {
                    "coding": [
                        {"system": c.system, "code": c.code, "display": c.display}
                        for c in (loinc, mdc)
                    ]
                },
                "valueQuantity": _quantity(float(row[metric] or 0), "mm[Hg]"),
            }
            for metric, loinc, mdc in BP_PARTS
        ]
    else:
        assert kind.column is not None and kind.unit is not None
        out["valueQuantity"] = _quantity(float(row[kind.column] or 0), kind.unit)
    return out


def nursing(kind: Kind, obs: NurseObservation, session: Session) -> dict[str, Any]:
    """A nurse's scored observation (MOAA/S, CADSS, dissociation)."""
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"o{obs.id}-{kind.key}",
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "exam", "display": "Exam"}]}],
        "code": _concept(kind),
        "subject": {"reference": f"Patient/{session.patient_id}"},
        "encounter": {"reference": f"Encounter/{session.id}"},
        "effectiveDateTime": instant(obs.ts),
    }
    if obs.created_by:
        out["performer"] = [{"display": obs.created_by}]
    value = getattr(obs, kind.column or kind.key)
    if isinstance(value, str):
        out["valueCodeableConcept"] = {"text": value}
    else:
        out["valueInteger"] = int(value)
    return out
