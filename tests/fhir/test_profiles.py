"""The clinic and the staff in the FHIR export and the records come from the
profiles an admin edits (PUT /api/v1/clinic, PATCH /api/v1/users/{id}); the
VITALWATCH_CLINIC_NAME setting only names the clinic until the profile has a
name. This module's server starts with no profile, and the test fills it in."""

from __future__ import annotations

from typing import Any

from tests.fhir.checks import fhir
from tests.records.profiles import CLINIC, NURSE_PROFILE, clinic_and_staff
from tests.support import ADMIN, Api, dosed_session

SETTING_NAME = "VitalWatch clinic"  # VITALWATCH_CLINIC_NAME's default


async def _setting_name(api: Api, sid: int) -> dict[str, Any]:
    form = await api.http.get(f"/api/v1/sessions/{sid}/rems-form", headers=await api.auth())
    assert form.status_code == 200, form.text
    return next(f for f in form.json()["fields"] if f["key"] == "setting_name")


async def _report_html(api: Api, sid: int) -> str:
    r = await api.http.get(f"/api/v1/sessions/{sid}/report", headers=await api.auth())
    assert r.status_code == 200, r.text
    return r.text


async def test_organization_and_practitioners_are_the_profiles(api: Api) -> None:
    _, session, _ = await dosed_session(api, minutes_ago=45, now_bp=None)
    sid = session["id"]
    # before an admin filled the profile in: the setting's name, and only that
    before = await fhir(api, "/fhir/r4/Organization/clinic")
    assert before["name"] == SETTING_NAME and "address" not in before
    assert SETTING_NAME in await _report_html(api, sid)
    field = await _setting_name(api, sid)
    assert field["value"] == SETTING_NAME and "VITALWATCH_CLINIC_NAME" in field["source"]

    nurse = await clinic_and_staff(api)
    clinic = await fhir(api, "/fhir/r4/Organization/clinic")
    assert clinic["name"] == CLINIC["name"]
    assert clinic["address"] == [
        {
            "use": "work",
            "type": "physical",
            "line": [CLINIC["address1"], CLINIC["address2"]],
            "city": CLINIC["city"],
            "state": CLINIC["state"],
            "postalCode": CLINIC["zip"],
        }
    ]
    assert clinic["telecom"] == [{"system": "phone", "value": CLINIC["phone"], "use": "work"}]
    html = await _report_html(api, sid)
    assert CLINIC["name"] in html and SETTING_NAME not in html
    field = await _setting_name(api, sid)
    assert (field["value"], field["source"]) == (CLINIC["name"], "clinic profile")

    person = await fhir(api, f"/fhir/r4/Practitioner/{nurse['id']}")
    assert person["name"] == [
        {"use": "official", "text": "Sam Patel", "family": "Patel", "given": ["Sam"]}
    ]
    assert person["qualification"] == [{"code": {"text": "RN"}}]
    assert person["telecom"] == [
        {"system": "phone", "value": NURSE_PROFILE["phone"], "use": "work"},
        {"system": "email", "value": NURSE_PROFILE["email"], "use": "work"},
    ]
    assert person["identifier"][0]["value"] == "nurse"  # the login stays the identifier
    # references to the nurse are displayed as the records sign them
    encounter = await fhir(api, f"/fhir/r4/Encounter/{sid}")
    gave = next(p for p in encounter["participant"] if p["type"][0]["coding"][0]["code"] == "PPRF")
    assert gave["individual"] == {
        "reference": f"Practitioner/{nurse['id']}",
        "display": "Sam Patel, RN",
    }
    doses = await fhir(api, "/fhir/r4/MedicationAdministration", context=f"Encounter/{sid}")
    assert doses["entry"][0]["resource"]["performer"][0]["actor"]["display"] == "Sam Patel, RN"
    # a user without a profile keeps the login name, and nothing invented
    users = (await api.http.get("/api/v1/users", headers=await api.auth(ADMIN))).json()
    admin_id = next(u["id"] for u in users if u["username"] == ADMIN[0])
    admin = await fhir(api, f"/fhir/r4/Practitioner/{admin_id}")
    assert admin["name"] == [{"text": ADMIN[0]}]
    assert "qualification" not in admin and "telecom" not in admin
