"""The FHIR R4 export, each resource validated with fhir.resources (R4B models)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient

from tests.support import Api, dosed_session, iso, now_utc, observe


async def _get(api: Api, path: str, **params: Any) -> Any:
    r = await api.http.get(path, params=params, headers=await api.auth())
    assert r.headers["content-type"].startswith("application/fhir+json"), r.text
    return r


async def _all_pages(api: Api, first: dict[str, Any]) -> list[dict[str, Any]]:
    bundles = [first]
    while nxt := next(
        (link["url"] for link in bundles[-1]["link"] if link["relation"] == "next"), None
    ):
        r = await api.http.get(nxt, headers=await api.auth())
        bundles.append(r.json())
        Bundle.model_validate(bundles[-1])
    return [e["resource"] for b in bundles for e in b.get("entry", [])]


async def test_patient_encounter_and_paged_observations_validate(api: Api) -> None:
    _, session, _ = await dosed_session(
        api,
        patient={
            "ref": "MRN-FHIR-1",
            "display_name": "Fhir Patient",
            "date_of_birth": "1990-01-02",
            "sex": "female",
        },
    )
    pid = session["patient"]["id"]
    await observe(api, session["id"], moass=4, dissociation="mild", cadss=8)
    meta = (await _get(api, "/fhir/r4/metadata")).json()
    CapabilityStatement.model_validate(meta)
    patient = (await _get(api, f"/fhir/r4/Patient/{pid}")).json()
    Patient.model_validate(patient)
    assert patient["identifier"][0]["value"] == "MRN-FHIR-1" and patient["gender"] == "female"
    encounters = (await _get(api, "/fhir/r4/Encounter", patient=f"Patient/{pid}")).json()
    Bundle.model_validate(encounters)
    encounter = encounters["entry"][0]["resource"]
    Encounter.model_validate(encounter)
    assert encounter["id"] == str(session["id"]) and encounter["status"] == "in-progress"

    first = (await _get(api, "/fhir/r4/Observation", patient=f"Patient/{pid}", _count=37)).json()
    Bundle.model_validate(first)
    assert first["type"] == "searchset" and len(first["entry"]) == 37
    resources = await _all_pages(api, first)
    for resource in resources:
        Observation.model_validate(resource)
    ids = [r["id"] for r in resources]
    assert len(ids) == len(set(ids)) == first["total"]
    hr = [r for r in resources if r["code"]["coding"][0]["code"] == "8867-4"]
    assert len(hr) == 121 and hr[0]["valueQuantity"] == {
        "value": 70.0,
        "unit": "/min",
        "system": "http://unitsofmeasure.org",
        "code": "/min",
    }
    assert {
        "system": "urn:iso:std:iso:11073:10101",
        "code": "147842",
        "display": "MDC_ECG_HEART_RATE",
    } in hr[0]["code"]["coding"]
    assert "http://hl7.org/fhir/StructureDefinition/heartrate" in hr[0]["meta"]["profile"]
    bp = [r for r in resources if r["code"]["coding"][0]["code"] == "85354-9"]
    assert len(bp) == 4 and all("valueQuantity" not in r for r in bp)
    parts = [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"], c["valueQuantity"]["code"])
        for c in bp[2]["component"]
    ]
    assert parts == [("8480-6", 134.0, "mm[Hg]"), ("8462-4", 86.0, "mm[Hg]")]
    spo2 = [r for r in resources if r["code"]["coding"][0]["code"] == "59408-5"]
    assert spo2 and any(c["code"] == "2708-6" for c in spo2[0]["code"]["coding"])
    moass = [r for r in resources if r["code"]["coding"][0]["code"] == "moass"]
    assert len(moass) == 1 and moass[0]["valueInteger"] == 4
    assert all(r["subject"]["reference"] == f"Patient/{pid}" for r in resources)
    assert all(r["encounter"]["reference"] == f"Encounter/{session['id']}" for r in resources)
    one = (await _get(api, f"/fhir/r4/Observation/{bp[2]['id']}")).json()
    assert one == bp[2]


async def test_observation_search_by_code_and_date(api: Api) -> None:
    _, session, t0 = await dosed_session(api)
    pid = session["patient"]["id"]
    bundle = (
        await _get(api, "/fhir/r4/Observation", patient=str(pid), code="http://loinc.org|8480-6")
    ).json()
    assert bundle["total"] == 4 and all(
        e["resource"]["code"]["coding"][0]["code"] == "85354-9" for e in bundle["entry"]
    )
    since = iso(t0 + timedelta(minutes=30))
    bundle = (
        await _get(
            api,
            "/fhir/r4/Observation",
            patient=str(pid),
            code="85354-9",
            date=[f"ge{since}", f"le{iso(now_utc())}"],
        )
    ).json()
    values = [e["resource"]["component"][0]["valueQuantity"]["value"] for e in bundle["entry"]]
    assert values == [134.0, 124.0] and bundle["total"] == 2
    hr = (
        await _get(
            api,
            "/fhir/r4/Observation",
            patient=str(pid),
            code="8867-4",
            date=f"lt{iso(t0 - timedelta(minutes=5))}",
        )
    ).json()
    assert 55 <= hr["total"] <= 62
    bad = await _get(api, "/fhir/r4/Observation", patient=str(pid), date="ge-yesterday")
    assert bad.status_code == 400
    OperationOutcome.model_validate(bad.json())
    for odd in ("999999", "%C2%B3", "-1", "99999999999999999999"):
        assert (await _get(api, f"/fhir/r4/Patient/{odd}")).status_code == 404
    assert (await _get(api, "/fhir/r4/Observation", patient="Patient/%C2%B3")).status_code == 400
    missing = await _get(api, "/fhir/r4/Patient/999999")
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    assert (await _get(api, "/fhir/r4/Observation")).status_code == 400
    assert (await api.http.get("/fhir/r4/metadata")).status_code == 401
