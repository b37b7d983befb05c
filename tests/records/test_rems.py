"""The REMS Patient Monitoring Form: filled from the record, completed, marked submitted."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2

from tests.records.profiles import clinic_and_staff
from tests.support import Api, ServerProcess, dosed_session, observe


def _days_left(form: dict[str, Any], first_dose_at: str) -> int:
    """7 calendar days (UTC here) from the dose's day, counted from today's: the
    test may dose before midnight and ask after it."""
    dose_day = datetime.fromisoformat(first_dose_at).astimezone(UTC).date()
    assert date.fromisoformat(form["due_date"]) == dose_day + timedelta(days=7)
    return (dose_day + timedelta(days=7) - datetime.now(UTC).date()).days


def _field(form: dict[str, Any], key: str) -> dict[str, Any]:
    return next(f for f in form["fields"] if f["key"] == key)


#: the program's form, field by field in its order (issue 25, defect 4)
ORDER = [
    "patient_first_name",
    "patient_middle_initial",
    "patient_last_name",
    "patient_dob",
    "patient_sex",
    "med_benzodiazepines",
    "med_sedative_hypnotics",
    "med_psychostimulants",
    "med_maois",
    "provider_first_name",
    "provider_last_name",
    "provider_phone",
    "provider_email",
    "setting_name",
    "setting_address1",
    "setting_address2",
    "setting_city",
    "setting_state",
    "setting_zip",
    "session_date",
    "dose",
    "dose_other_mg",
    "lot_number",
    "monitoring_minutes",
    "ready_minutes",
    "vitals_ok_before",
    "vitals_ok_end",
    "bp_before",
    "bp_40",
    "bp_end",
    "sedation",
    "dissociation",
    "respiratory_depression",
    "serious_adverse_events",
    "serious_adverse_events_detail",
]


async def test_form_prefilled_gaps_completed_and_marked_submitted(
    api: Api, server: ServerProcess, tmp_path: Path
) -> None:
    await clinic_and_staff(api)
    _, session, _ = await dosed_session(
        api,
        patient={
            "ref": "MRN-REMS-1",
            "display_name": "Rita M. Levi",
            "date_of_birth": "1975-04-22",
            "sex": "female",
        },
        dose={"amount": 84, "lot_number": "SPR-884"},
    )
    sid, h = session["id"], await api.auth()
    # the nurse asked about three of the four medications on the checklist
    r = await api.http.put(
        f"/api/v1/sessions/{sid}/checklist/concomitant_medications",
        json={
            "done": True,
            "medications": {
                "benzodiazepines": True,
                "sedative_hypnotics": False,
                "psychostimulants": False,
            },
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    bad = await api.http.put(
        f"/api/v1/sessions/{sid}/checklist/consent",
        json={"done": True, "medications": {"maois": False}},
        headers=h,
    )
    assert bad.status_code == 422 and "concomitant_medications" in bad.text
    # sent alone, the medications leave the tick as it was
    r = await api.http.put(
        f"/api/v1/sessions/{sid}/checklist/concomitant_medications",
        json={
            "medications": {
                "benzodiazepines": True,
                "sedative_hypnotics": False,
                "psychostimulants": False,
            }
        },
        headers=h,
    )
    item = next(i for i in r.json()["items"] if i["key"] == "concomitant_medications")
    assert item["done"] is True and item["medications"]["benzodiazepines"] is True
    await observe(api, sid, moass=4, dissociation="mild")
    await observe(api, sid, moass=5, dissociation="none", respiratory_depression=False)
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/discharge", json={"left_with": "Son"}, headers=h
    )
    assert r.status_code == 200, r.text
    form = (await api.http.get(f"/api/v1/sessions/{sid}/rems-form", headers=h)).json()
    assert [f["key"] for f in form["fields"]] == ORDER
    values = {f["key"]: f["value"] for f in form["fields"]}
    assert (values["patient_first_name"], values["patient_middle_initial"]) == ("Rita", "M")
    assert (values["patient_last_name"], values["patient_sex"]) == ("Levi", "Female")
    assert _field(form, "patient_first_name")["source"].startswith("patient record name")
    # medications: yes/no only, from the checklist with who answered; the fourth is a gap
    for key in ("med_benzodiazepines", "med_sedative_hypnotics", "med_maois"):
        assert _field(form, key)["options"] == ["yes", "no"]
    assert values["med_benzodiazepines"] == "yes" and values["med_psychostimulants"] == "no"
    assert _field(form, "med_benzodiazepines")["source"].startswith("checklist, Sam Patel, RN at")
    assert values["med_maois"] is None and _field(form, "med_maois")["gap"]
    # the monitoring provider and the setting, from the staff and clinic profiles
    assert [values[k] for k in ORDER[9:13]] == [
        "Sam",
        "Patel",
        "+1 207 555 0100",
        "sam.patel@harbour.example",
    ]
    assert [values[k] for k in ORDER[13:19]] == [
        "Harbour Mental Health Clinic",
        "12 Quay Street",
        "Suite 4",
        "Portland",
        "ME",
        "04101",
    ]
    assert values["dose"] == "84 mg" and values["lot_number"] == "SPR-884"
    assert values["bp_40"].startswith("134/86 at ")
    assert values["bp_before"].startswith("120/80 at ")
    assert values["bp_end"].startswith("124/82 at ")
    assert values["sedation"] == "yes" and values["dissociation"] == "yes"
    assert 125 <= values["monitoring_minutes"] <= 140
    assert values["ready_minutes"] is not None
    # vitals acceptable: the clinician's answer; the record only suggests, from BP,
    # HR, SpO2 and RR, and says which limits it used
    before, end = _field(form, "vitals_ok_before"), _field(form, "vitals_ok_end")
    assert before["value"] is None and before["gap"] and end["value"] is None and end["gap"]
    assert before["suggestion"] == "yes"
    basis = before["suggestion_basis"]
    assert "BP 120/80" in basis and "limits 0-140/0-90" in basis
    assert "HR 70/min" in basis and "SpO2 98%" in basis and "no RR reading" in basis
    assert (
        "BP 124/82" in end["suggestion_basis"]
        and "limits 100-140/65-95" in (end["suggestion_basis"])
    )
    assert form["time_zone"] == "UTC"
    dosed = (await api.http.get(f"/api/v1/sessions/{sid}", headers=h)).json()["first_dose_at"]
    assert form["status"] == "draft" and form["days_left"] == _days_left(form, dosed)
    assert "Monoamine oxidase inhibitors (MAOIs)" in form["gaps"]
    assert "Serious adverse events" in form["gaps"]
    assert "Middle initial" not in form["gaps"]  # the program does not require it
    assert "Other dose (mg)" not in form["gaps"]  # asked only for another dose
    early = await api.http.post(f"/api/v1/sessions/{sid}/rems-form/submitted", headers=h)
    assert early.status_code == 409 and "MAOIs" in early.json()["detail"]
    for bad_answer in ({"med_maois": "unknown"}, {"patient_sex": "unknown"}):
        bad = await api.http.put(
            f"/api/v1/sessions/{sid}/rems-form", json={"answers": bad_answer}, headers=h
        )
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == [
            "body",
            "answers",
            *bad_answer,
        ]
    answers = {
        "med_maois": "no",
        "serious_adverse_events": "no",
        "vitals_ok_before": "yes",
        "vitals_ok_end": "yes",
    }
    r = await api.http.put(
        f"/api/v1/sessions/{sid}/rems-form", json={"answers": answers}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json()["gaps"] == []
    due = (await api.http.get("/api/v1/rems-forms/due", headers=h)).json()
    mine = next(d for d in due if d["session_id"] == sid)
    assert (mine["status"], mine["gaps"]) == ("draft", 0)
    assert mine["days_left"] == _days_left(form, dosed)
    done = await api.http.post(f"/api/v1/sessions/{sid}/rems-form/submitted", headers=h)
    assert done.status_code == 200 and done.json()["status"] == "submitted"
    assert done.json()["submitted_by"] == "nurse"
    assert done.json()["submitted_at_text"].endswith(" UTC")  # the clinic's zone, named
    closed = await api.http.put(
        f"/api/v1/sessions/{sid}/rems-form", json={"answers": {"med_maois": "yes"}}, headers=h
    )
    assert closed.status_code == 409
    due = (await api.http.get("/api/v1/rems-forms/due", headers=h)).json()
    assert next(d for d in due if d["session_id"] == sid)["status"] == "submitted"
    rows = await server.sql(
        "SELECT action FROM audit_log WHERE entity_id=:sid AND action LIKE 'rems.%' ORDER BY id",
        sid=sid,
    )
    assert [r[0] for r in rows] == ["rems.save", "rems.submitted"]

    # the PDF of the form: the fields in the form's order, read back and rendered
    pdf = await api.http.get(f"/api/v1/sessions/{sid}/rems-form.pdf", headers=h)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    pages = [p.extract_text() for p in reader.pages]
    body = re.sub(r"\s+", " ", " ".join(pages))
    expected = [
        "SPRAVATO REMS Patient Monitoring Form",
        "Marked submitted on the REMS portal by nurse",
        "Rita",
        "Levi",
        "1975-04-22",
        "Female",
        "Benzodiazepines yes",
        "Sam",
        "Patel",
        "sam.patel@harbour.example",
        "Harbour Mental Health Clinic",
        "04101",
        "84 mg",
        "SPR-884",
        "134/86 at",
        "Respiratory depression",
    ]
    at = 0
    for word in expected:  # present, and in the form's order
        found = body.find(word, at)
        assert found >= 0, (word, body[at : at + 300])
        at = found + len(word)
    assert "limits 0-140/0-90" in body
    assert "from the record: checklist, Sam Patel, RN at" in body
    assert "from the record: clinic profile" in body
    for n, page in enumerate(pages, start=1):
        assert f"times in UTC - page {n} of {len(pages)}" in page
    document = pypdfium2.PdfDocument(pdf.content)
    for i in range(len(document)):
        image = document[i].render(scale=1.5).to_pil()
        image.save(tmp_path / f"rems-{i + 1}.png")
        assert image.width > 800 and image.convert("L").getextrema()[0] < 100
    assert (await api.http.get(f"/api/v1/sessions/{sid}/rems-form.pdf")).status_code == 401


async def test_form_only_for_dosed_esketamine(api: Api) -> None:
    _, iv = await api.monitored("ketamine-iv")
    h = await api.auth()
    assert (
        await api.http.get(f"/api/v1/sessions/{iv['id']}/rems-form", headers=h)
    ).status_code == 404
    _, es = await api.monitored("esketamine-in")
    assert (
        await api.http.get(f"/api/v1/sessions/{es['id']}/rems-form", headers=h)
    ).status_code == 409


async def test_defect_form_lacks_the_programs_fields(api: Api) -> None:
    """Issue 25, defect 4, through the form's endpoint as it was: one "Patient
    name", a login handle for the provider, no setting, "unknown" medications,
    vitals acceptable pre-filled from BP alone."""
    _, session, _ = await dosed_session(
        api, patient={"ref": "MRN-REMS-D4", "display_name": "Ann Bell", "sex": "female"}
    )
    sid, h = session["id"], await api.auth()
    form = (await api.http.get(f"/api/v1/sessions/{sid}/rems-form", headers=h)).json()
    keys = [f["key"] for f in form["fields"]]
    assert "patient_name" not in keys and "monitoring_provider" not in keys
    for key in ("patient_first_name", "patient_sex", "provider_phone", "setting_zip"):
        assert key in keys, key
    assert _field(form, "patient_sex")["value"] == "Female"
    meds = [f for f in form["fields"] if f["key"].startswith("med_")]
    assert len(meds) == 4 and all(f["options"] == ["yes", "no"] and f["gap"] for f in meds)
    before = _field(form, "vitals_ok_before")
    assert before["value"] is None and before["suggestion"] == "yes"
    assert "HR" in before["suggestion_basis"] and "SpO2" in before["suggestion_basis"]
    assert form["time_zone"] == "UTC"
