"""A dose on the session's timeline as a FHIR R4 MedicationAdministration:
RxNorm drug, dose in UCUM mg, SNOMED CT route, who gave it, the Encounter."""

from __future__ import annotations

from typing import Any, Final

from vitalwatch.auth.models import User
from vitalwatch.fhir.codes import RXNORM, SNOMED, Code
from vitalwatch.fhir.resources import coding, instant, practitioner_ref, quantity, user_ref
from vitalwatch.sessions.models import Session, SessionEvent
from vitalwatch.sessions.schemas import ROUTE_LABELS, DoseRecord

#: RxNorm: ketamine is the ingredient (IN 6130); esketamine's only US product
#: is the nasal spray, coded as its clinical drug form (SCDF 2201623).
#: 6130 checked (issue 25): the CLIF ELF concept tables map "ketamine
#: intermittent bolus" to RxNorm/6130 beside fentanyl 4337 and rocuronium
#: 68139 (github.com/Common-Longitudinal-ICU-data-Format, MED_INT); openFDA's
#: substance records put the neighbouring ketoconazole at RXCUI 6135. The
#: concept itself: https://rxnav.nlm.nih.gov/REST/rxcui/6130/properties.json
DRUGS: Final = {
    "ketamine": Code(RXNORM, "6130", "ketamine"),
    "esketamine": Code(RXNORM, "2201623", "esketamine Nasal Spray"),
}
#: SNOMED CT route of administration (the FHIR R4 RouteCodes value set)
ROUTES: Final = {
    "iv_infusion": Code(SNOMED, "47625008", "Intravenous route"),
    "iv_bolus": Code(SNOMED, "47625008", "Intravenous route"),
    "im": Code(SNOMED, "78421000", "Intramuscular route"),
    "intranasal": Code(SNOMED, "46713006", "Nasal route"),
    "sc": Code(SNOMED, "34206005", "Subcutaneous route"),
    "oral": Code(SNOMED, "26643006", "Oral route"),
}


def _drug(name: str | None) -> dict[str, Any]:
    code = DRUGS.get((name or "").strip().casefold())
    concept: dict[str, Any] = {"text": name or "not recorded"}
    if code is not None:
        concept["coding"] = [coding(code)]
    return concept


def _dosage(d: DoseRecord) -> dict[str, Any]:
    route = ROUTE_LABELS.get(d.route or "", "")
    amount = f"{d.amount:g} {d.unit}" if d.amount is not None else "amount not recorded"
    if d.unit == "mg/kg" and d.weight_kg:
        amount += f" x {d.weight_kg:g} kg"
    out: dict[str, Any] = {"text": " ".join(p for p in (amount, route) if p)}
    if d.route:
        route_code = ROUTES.get(d.route)
        out["route"] = {"text": ROUTE_LABELS[d.route]}
        if route_code is not None:
            out["route"]["coding"] = [coding(route_code)]
    if d.total_mg is not None:
        out["dose"] = quantity(float(d.total_mg), "mg")
    return out


def administration(event: SessionEvent, session: Session, giver: User | None) -> dict[str, Any]:
    d = DoseRecord.model_validate(event.data or {})
    out: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": str(event.id),
        "status": "completed",
        "subject": {"reference": f"Patient/{session.patient_id}"},
        "context": {"reference": f"Encounter/{session.id}"},
        "dosage": _dosage(d),
    }
    drug = _drug(d.drug)
    if d.lot_number:  # R4 keeps the lot on the Medication: a contained one
        out["contained"] = [
            {
                "resourceType": "Medication",
                "id": "med",
                "code": drug,
                "batch": {"lotNumber": d.lot_number},
            }
        ]
        out["medicationReference"] = {"reference": "#med", "display": drug["text"]}
    else:
        out["medicationCodeableConcept"] = drug
    if d.route == "iv_infusion":
        period = {"start": instant(d.infusion_start or event.ts)}
        if d.infusion_stop is not None:
            period["end"] = instant(d.infusion_stop)
        elif session.status == "active":
            out["status"] = "in-progress"
        out["effectivePeriod"] = period
    else:
        out["effectiveDateTime"] = instant(event.ts)
    if giver is not None:
        out["performer"] = [{"actor": user_ref(giver)}]
    elif event.created_by is not None:
        out["performer"] = [{"actor": practitioner_ref(event.created_by, None)}]
    return out
