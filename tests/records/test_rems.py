"""The REMS Patient Monitoring Form: filled from the record, completed, marked submitted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.support import Api, ServerProcess, dosed_session, observe


def _days_left(form: dict[str, Any], first_dose_at: str) -> int:
    """7 calendar days (UTC here) from the dose's day, counted from today's: the
    test may dose before midnight and ask after it."""
    dose_day = datetime.fromisoformat(first_dose_at).astimezone(UTC).date()
    assert date.fromisoformat(form["due_date"]) == dose_day + timedelta(days=7)
    return (dose_day + timedelta(days=7) - datetime.now(UTC).date()).days


def _field(form: dict[str, Any], key: str) -> dict[str, Any]:
    return next(f for f in form["fields"] if f["key"] == key)


async def test_form_prefilled_gaps_completed_and_marked_submitted(
    api: Api, server: ServerProcess
) -> None:
    _, session, _ = await dosed_session(
        api,
        patient={"ref": "MRN-REMS-1", "display_name": "Rita Levi", "date_of_birth": "1975-04-22"},
        dose={"amount": 84, "lot_number": "SPR-884"},
    )
    sid, h = session["id"], await api.auth()
    await observe(api, sid, moass=4, dissociation="mild")
    await observe(api, sid, moass=5, dissociation="none", respiratory_depression=False)
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/discharge", json={"left_with": "Son"}, headers=h
    )
    assert r.status_code == 200, r.text
    form = (await api.http.get(f"/api/v1/sessions/{sid}/rems-form", headers=h)).json()
    assert [f["key"] for f in form["fields"]][:3] == [
        "patient_name",
        "patient_dob",
        "med_benzodiazepines",
    ]
    assert _field(form, "patient_name")["value"] == "Rita Levi"
    assert (
        _field(form, "dose")["value"] == "84 mg"
        and _field(form, "lot_number")["value"] == "SPR-884"
    )
    assert _field(form, "bp_40")["value"].startswith("134/86 at ")
    assert _field(form, "bp_before")["value"].startswith("120/80 at ")
    assert _field(form, "bp_end")["value"].startswith("124/82 at ")
    assert (
        _field(form, "sedation")["value"] == "yes"
        and _field(form, "dissociation")["value"] == "yes"
    )
    assert _field(form, "respiratory_depression")["value"] == "no"
    assert _field(form, "vitals_ok_before")["value"] == "yes"
    assert 125 <= _field(form, "monitoring_minutes")["value"] <= 140
    assert _field(form, "ready_minutes")["value"] is not None
    assert _field(form, "monitoring_provider")["value"] == "nurse"
    dosed = (await api.http.get(f"/api/v1/sessions/{sid}", headers=h)).json()["first_dose_at"]
    assert form["status"] == "draft" and form["days_left"] == _days_left(form, dosed)
    assert "Benzodiazepines" in form["gaps"] and "Serious adverse events" in form["gaps"]
    assert "Other dose (mg)" not in form["gaps"]  # asked only for another dose
    early = await api.http.post(f"/api/v1/sessions/{sid}/rems-form/submitted", headers=h)
    assert early.status_code == 409 and "Benzodiazepines" in early.json()["detail"]
    bad = await api.http.put(
        f"/api/v1/sessions/{sid}/rems-form", json={"answers": {"med_opioids": "maybe"}}, headers=h
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == [
        "body",
        "answers",
        "med_opioids",
    ]
    answers = {
        k: "no"
        for k in (
            "med_benzodiazepines",
            "med_sedative_hypnotics",
            "med_psychostimulants",
            "med_maois",
            "med_opioids",
            "serious_adverse_events",
        )
    }
    answers["monitoring_provider"] = "RN Sam Patel"
    r = await api.http.put(
        f"/api/v1/sessions/{sid}/rems-form", json={"answers": answers}, headers=h
    )
    assert r.status_code == 200, r.text
    assert (
        r.json()["gaps"] == []
        and _field(r.json(), "monitoring_provider")["value"] == "RN Sam Patel"
    )
    due = (await api.http.get("/api/v1/rems-forms/due", headers=h)).json()
    mine = next(d for d in due if d["session_id"] == sid)
    assert (mine["status"], mine["gaps"]) == ("draft", 0)
    assert mine["days_left"] == _days_left(form, dosed)
    done = await api.http.post(f"/api/v1/sessions/{sid}/rems-form/submitted", headers=h)
    assert done.status_code == 200 and done.json()["status"] == "submitted"
    assert done.json()["submitted_by"] == "nurse"
    closed = await api.http.put(
        f"/api/v1/sessions/{sid}/rems-form", json={"answers": {"med_opioids": "yes"}}, headers=h
    )
    assert closed.status_code == 409
    due = (await api.http.get("/api/v1/rems-forms/due", headers=h)).json()
    assert next(d for d in due if d["session_id"] == sid)["status"] == "submitted"
    rows = await server.sql(
        "SELECT action FROM audit_log WHERE entity_id=:sid AND action LIKE 'rems.%' ORDER BY id",
        sid=sid,
    )
    assert [r[0] for r in rows] == ["rems.save", "rems.submitted"]


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
