"""FHIR that carries the whole session (issue 25, item 8 and defect 7): one test
per defect first (each failed on the export before this change), then the
resources around the session. Every resource is validated (tests/fhir/checks.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.fhir.checks import every_page, fhir, valid
from tests.support import Api, dosed_session, iso, now_utc, observe

OBS = "/fhir/r4/Observation"


async def _two_sessions(api: Api) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Two sessions of one patient, days apart in the record (both dosed)."""
    ref = f"MRN-ENC-{now_utc().timestamp():.0f}"
    _, first, _ = await dosed_session(api, patient={"ref": ref}, minutes_ago=50, now_bp=None)
    r = await api.http.post(f"/api/v1/sessions/{first['id']}/end", headers=await api.auth())
    assert r.status_code == 200, r.text
    _, second, _ = await dosed_session(api, patient={"ref": ref}, minutes_ago=45, now_bp=None)
    assert first["patient"]["id"] == second["patient"]["id"]
    return first, second, first["patient"]["id"]


async def test_encounter_selects_that_sessions_observations_only(api: Api) -> None:
    first, second, pid = await _two_sessions(api)
    everything = await fhir(api, OBS, patient=pid, _count=500)
    one = await fhir(api, OBS, patient=pid, encounter=f"Encounter/{first['id']}", _count=500)
    got = await every_page(api, one)
    assert got and {r["encounter"]["reference"] for r in got} == {f"Encounter/{first['id']}"}
    assert one["total"] == len(got) < everything["total"]
    alone = await fhir(api, OBS, encounter=f"Encounter/{first['id']}", _count=500)
    assert alone["total"] == one["total"]
    other = await fhir(api, OBS, patient=pid, encounter=str(second["id"]), _count=500)
    assert {r["encounter"]["reference"] for r in await every_page(api, other)} == {
        f"Encounter/{second['id']}"
    }
    assert one["total"] + other["total"] == everything["total"]
    # another patient's encounter with this patient: nothing, not every session's data
    _, stranger, _ = await dosed_session(api, minutes_ago=45, now_bp=None)
    none = await fhir(api, OBS, patient=pid, encounter=str(stranger["id"]))
    assert none["total"] == 0 and "entry" not in none


async def test_nurses_codes_find_their_entries_and_total_counts_them(api: Api) -> None:
    _, session, _ = await dosed_session(api, minutes_ago=45, now_bp=None)
    pid = session["patient"]["id"]
    for score in (5, 4, 3):
        await observe(api, session["id"], moass=score)
    found = await fhir(api, OBS, patient=pid, code="urn:vitalwatch:observation|moass")
    assert found["total"] == 3 == len(found["entry"])
    assert [e["resource"]["valueInteger"] for e in found["entry"]] == [5, 4, 3]
    bare = await fhir(api, OBS, patient=pid, code="moass,cadss")
    assert bare["total"] == 3 == len(bare["entry"])
    system = await fhir(api, "/fhir/r4/CodeSystem/vitalwatch-observation")
    assert system["url"] == "urn:vitalwatch:observation"
    assert {c["code"] for c in system["concept"]} == {"moass", "cadss", "dissociation"}


async def test_count_zero_is_the_total_only_and_unknown_types_are_outcomes(api: Api) -> None:
    _, session, _ = await dosed_session(api, minutes_ago=45, now_bp=None)
    pid = session["patient"]["id"]
    counted = await fhir(api, OBS, patient=pid, _count=0)
    assert counted["resourceType"] == "Bundle" and counted["total"] > 100
    assert "entry" not in counted and [k["relation"] for k in counted["link"]] == ["self"]
    summary = await fhir(api, OBS, patient=pid, _summary="count")
    assert summary["total"] == counted["total"] and "entry" not in summary
    for path in ("/fhir/r4/Medication/1", "/fhir/r4/Flag", "/fhir/r4/Practitioner"):
        await fhir(api, path, status=404)
    await fhir(api, "/fhir/r4/Observation/r1-nope", status=404)
    await fhir(api, OBS, status=400, patient=pid, _count="many")
    r = await api.http.post("/fhir/r4/Patient", json={}, headers=await api.auth())
    assert r.status_code == 405 and valid(r.json())["resourceType"] == "OperationOutcome"
    for headers in ({}, {"Authorization": "Bearer nonsense"}):
        r = await api.http.get("/fhir/r4/metadata", headers=headers)
        assert r.status_code == 401 and r.headers["content-type"] == "application/fhir+json"
        assert valid(r.json())["issue"][0]["code"] == "login"


async def test_unsupported_parameters_are_refused_in_strict_and_reported_in_lenient(
    api: Api,
) -> None:
    _, session, _ = await dosed_session(api, minutes_ago=45, now_bp=None)
    pid = session["patient"]["id"]
    await observe(api, session["id"], moass=4)
    vitals = await fhir(api, OBS, patient=pid, category="vital-signs", _count=1)
    exams = await fhir(api, OBS, patient=pid, category="exam")
    assert exams["total"] == 1 and exams["entry"][0]["resource"]["valueInteger"] == 4
    assert vitals["total"] + 1 == (await fhir(api, OBS, patient=pid, _count=1))["total"]
    strict = {"Prefer": "handling=strict", **(await api.auth())}
    for odd in ({"_sort": "-date"}, {"_elements": "code"}, {"code:text": "heart"}):
        r = await api.http.get(OBS, params={"patient": pid, **odd}, headers=strict)
        assert r.status_code == 400, (odd, r.text)
        assert valid(r.json())["issue"][0]["code"] == "not-supported"
        assert next(iter(odd)) in r.json()["issue"][0]["diagnostics"]
    lenient = await fhir(api, OBS, patient=pid, _sort="-date", _elements="code", _count=5)
    self_link = lenient["link"][0]["url"]
    assert "_sort" not in self_link and "_elements" not in self_link and "_count=5" in self_link
    warning = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    text = " ".join(i["diagnostics"] for i in warning[0]["resource"]["issue"])
    assert "_sort=-date" in text and "_elements" in text
    ordered = await every_page(api, await fhir(api, OBS, patient=pid, _sort="date", _count=200))
    times = [r["effectiveDateTime"] for r in ordered]
    assert times == sorted(times) and ordered[-1]["code"]["coding"][0]["code"] == "moass"


async def test_pages_of_any_size_give_the_same_export_in_time_order(api: Api) -> None:
    """The cursor runs over readings and observations together: small pages that
    split a reading's values, or fall between a reading and an observation of
    the same moment, lose and repeat nothing."""
    _, session, t0 = await dosed_session(api, minutes_ago=45, now_bp=None)
    for m in (0, 5, 10):
        await observe(api, session["id"], ts=iso(t0 + timedelta(minutes=m)), moass=4, cadss=9)
    scope = {"encounter": session["id"], "date": f"ge{iso(t0 - timedelta(minutes=3))}"}
    whole = await every_page(api, await fhir(api, OBS, **scope, _count=1000))
    ids = [r["id"] for r in whole]
    assert len(ids) == len(set(ids)) > 40 and sum(i.startswith("o") for i in ids) == 6
    assert [r["effectiveDateTime"] for r in whole] == sorted(r["effectiveDateTime"] for r in whole)
    for size in (1, 4, 7):
        paged = await every_page(api, await fhir(api, OBS, **scope, _count=size))
        assert [r["id"] for r in paged] == ids, size


async def test_a_struck_reading_is_never_a_final_value(api: Api) -> None:
    _, session, _ = await dosed_session(api, minutes_ago=45, now_bp=None)
    sid, pid = session["id"], session["patient"]["id"]
    at = iso(now_utc() - timedelta(seconds=30))
    h = await api.auth()
    typo = await api.http.post(
        f"/api/v1/sessions/{sid}/readings", json={"sbp": 185, "dbp": 96, "ts": at}, headers=h
    )
    assert typo.status_code == 201, typo.text
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/manual-readings/{typo.json()['id']}/strike",
        json={"reason": "typo, 158 meant"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    again = await api.http.post(
        f"/api/v1/sessions/{sid}/readings", json={"sbp": 158, "dbp": 96, "ts": at}, headers=h
    )
    assert again.status_code == 201, again.text
    bp = await every_page(api, await fhir(api, OBS, patient=pid, code="85354-9", _count=3))
    systolic = [r["component"][0]["valueQuantity"]["value"] for r in bp]
    assert 185.0 not in systolic and 158.0 in systolic
    typed = [r for r in bp if r["component"][0]["valueQuantity"]["value"] == 158.0]
    assert typed[0]["performer"][0]["display"] == "nurse" and "device" not in typed[0]
    assert typed[0]["performer"][0]["reference"].startswith("Practitioner/")
    counted = await fhir(api, OBS, patient=pid, code="85354-9", _count=0)
    assert counted["total"] == len(bp)
    everything = await every_page(api, await fhir(api, OBS, patient=pid, _count=1000))
    assert not [
        r for r in everything if r["status"] == "final" and "185.0" in str(r.get("component"))
    ]


async def test_doses_are_medication_administrations_with_drug_route_and_giver(api: Api) -> None:
    _, session, t0 = await dosed_session(api, minutes_ago=45, now_bp=None)
    sid, pid = session["id"], session["patient"]["id"]
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/events",
        json={"kind": "dose", "ts": iso(t0 + timedelta(minutes=5)), "dose": {"amount": 28}},
        headers=await api.auth(),
    )
    assert r.status_code == 201, r.text
    found = await fhir(api, "/fhir/r4/MedicationAdministration", context=f"Encounter/{sid}")
    doses = [e["resource"] for e in found["entry"]]
    assert found["total"] == 2 == len(doses)
    first, second = doses
    med = first["contained"][0]
    assert (
        med["batch"]["lotNumber"] == "LOT-1" and first["medicationReference"]["reference"] == "#med"
    )
    assert med["code"]["coding"][0]["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm"
    assert med["code"]["coding"][0]["code"] == "2201623"
    assert second["medicationCodeableConcept"]["coding"][0]["code"] == "2201623"
    assert first["dosage"]["dose"] == {
        "value": 56.0,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    route = first["dosage"]["route"]["coding"][0]
    assert (route["system"], route["code"]) == ("http://snomed.info/sct", "46713006")
    assert first["context"] == {"reference": f"Encounter/{sid}"}
    assert first["subject"] == {"reference": f"Patient/{pid}"}
    giver = first["performer"][0]["actor"]
    assert giver["display"] == "nurse"
    practitioner = await fhir(api, f"/fhir/r4/{giver['reference']}")
    assert practitioner["identifier"][0]["value"] == "nurse"
    assert await fhir(api, f"/fhir/r4/MedicationAdministration/{first['id']}") == first
    by_patient = await fhir(api, "/fhir/r4/MedicationAdministration", patient=f"Patient/{pid}")
    assert by_patient["total"] == 2


async def test_patient_search_by_identifier(api: Api) -> None:
    ref = f"MRN-ID-{now_utc().timestamp():.0f}"
    _, session, _ = await dosed_session(api, patient={"ref": ref}, minutes_ago=45, now_bp=None)
    pid = session["patient"]["id"]
    for token in (ref, f"urn:vitalwatch:patient-ref|{ref}", f"MRN-NONE,{ref}"):
        found = await fhir(api, "/fhir/r4/Patient", identifier=token)
        assert found["total"] == 1 and found["entry"][0]["resource"]["id"] == str(pid), token
    for token in ("MRN-NONE", f"http://other.example|{ref}"):
        assert (await fhir(api, "/fhir/r4/Patient", identifier=token))["total"] == 0
    await fhir(api, "/fhir/r4/Patient", status=400)


async def test_encounter_names_clinic_staff_period_and_the_signed_report(api: Api) -> None:
    device, session, _ = await dosed_session(api, minutes_ago=45, now_bp=None)
    sid, pid = session["id"], session["patient"]["id"]
    encounter = await fhir(api, f"/fhir/r4/Encounter/{sid}")
    assert encounter["serviceProvider"] == {"reference": "Organization/clinic"}
    roles = {p["type"][0]["coding"][0]["code"]: p["individual"] for p in encounter["participant"]}
    assert set(roles) == {"ADM", "PPRF"} and roles["PPRF"]["display"] == "nurse"
    assert encounter["period"]["start"] and "end" not in encounter["period"]
    clinic = await fhir(api, "/fhir/r4/Organization/clinic")
    assert clinic["name"] == "VitalWatch clinic"
    monitor = await fhir(api, f"/fhir/r4/Device/{device['id']}")
    assert monitor["deviceName"][0]["name"] == device["name"] and monitor["status"] == "active"
    measured = await fhir(api, OBS, encounter=sid, code="8867-4", _count=1)
    assert measured["entry"][0]["resource"]["device"] == {"reference": f"Device/{device['id']}"}
    none = await fhir(api, "/fhir/r4/DocumentReference", encounter=sid)
    assert none["total"] == 0
    await fhir(api, f"/fhir/r4/DocumentReference/{sid}", status=404)
    h = await api.auth()
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/discharge",
        json={"left_with": "Partner", "override_reason": "Test: signed before the minimum time"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    r = await api.http.post(f"/api/v1/sessions/{sid}/end", headers=h)
    assert r.status_code == 200, r.text
    docs = await fhir(api, "/fhir/r4/DocumentReference", patient=f"Patient/{pid}")
    assert docs["total"] == 1
    doc = docs["entry"][0]["resource"]
    assert doc["context"]["encounter"] == [{"reference": f"Encounter/{sid}"}]
    assert doc["author"][0]["display"] == "nurse" and doc["docStatus"] == "final"
    attachment = doc["content"][0]["attachment"]
    pdf = await api.http.get(attachment["url"], headers=h)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert attachment["contentType"] == pdf.headers["content-type"] == "application/pdf"
    ended = await fhir(api, f"/fhir/r4/Encounter/{sid}")
    assert ended["status"] == "finished" and ended["period"]["end"]
    assert "DIS" in {p["type"][0]["coding"][0]["code"] for p in ended["participant"]}


_PROBE = {"_count": "1", "_sort": "date", "_summary": "count", "date": "ge2020-01-01"}


async def test_capability_statement_lists_exactly_what_works(api: Api) -> None:
    """Each listed search parameter is taken under strict handling, an unlisted one
    is refused, and a type listed without search-type has no search."""
    meta = await fhir(api, "/fhir/r4/metadata")
    resources = {r["type"]: r for r in meta["rest"][0]["resource"]}
    assert set(resources) == {
        "Patient",
        "Encounter",
        "Observation",
        "MedicationAdministration",
        "DocumentReference",
        "Practitioner",
        "Organization",
        "Device",
        "CodeSystem",
    }
    strict = {"Prefer": "handling=strict", **(await api.auth())}
    for kind, entry in resources.items():
        interactions = {i["code"] for i in entry["interaction"]}
        if "search-type" not in interactions:
            r = await api.http.get(f"/fhir/r4/{kind}", headers=strict)
            assert r.status_code == 404 and "not-supported" in r.text, kind
            continue
        names = [p["name"] for p in entry["searchParam"]]
        scope = {n: "1" for n in ("patient", "identifier") if n in names}
        for name in names:
            r = await api.http.get(
                f"/fhir/r4/{kind}", params={**scope, name: _PROBE.get(name, "1")}, headers=strict
            )
            assert r.status_code == 200, (kind, name, r.text)
        r = await api.http.get(
            f"/fhir/r4/{kind}", params={**scope, "_elements": "id"}, headers=strict
        )
        assert r.status_code == 400 and "not-supported" in r.text, kind
