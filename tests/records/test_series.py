"""A patient's course across sessions."""

from __future__ import annotations

from datetime import timedelta

from tests.support import Api, dosed_session, iso, observe


async def test_series_has_every_session_with_its_figures(api: Api) -> None:
    patient = {"ref": "MRN-SERIES-1", "display_name": "Course Patient"}
    _, first, _ = await dosed_session(api, patient=patient, now_bp=(150, 96), dose={"amount": 56})
    await observe(api, first["id"], moass=3)
    await api.http.post(f"/api/v1/sessions/{first['id']}/end", headers=await api.auth())
    _, second, _ = await dosed_session(
        api, patient=patient, dose={"amount": 84, "lot_number": "L2"}
    )
    await observe(api, second["id"], moass=5)
    pid = first["patient"]["id"]
    r = await api.http.get(f"/api/v1/patients/{pid}/series", headers=await api.auth())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["patient"]["ref"] == "MRN-SERIES-1"
    one, two = body["sessions"]
    assert [one["session_id"], two["session_id"]] == [first["id"], second["id"]]
    assert one["baseline_sbp"] == 120 and one["baseline_hr"] == 70
    assert one["peak_sbp"] == 150 and one["peak_dbp"] == 96 and one["peak_hr"] == 72
    assert one["lowest_spo2"] is None or one["lowest_spo2"] <= 98
    assert one["lowest_moass"] == 3 and two["lowest_moass"] == 5
    assert one["dose_mg"] == 56 and two["dose_mg"] == 84
    assert two["peak_sbp"] == 134  # the 40-min reading is the highest after the dose
    missing = await api.http.get("/api/v1/patients/999999/series", headers=await api.auth())
    assert missing.status_code == 404


async def test_a_dose_given_in_parts_is_summed_with_its_parts(api: Api) -> None:
    _, session, t0 = await dosed_session(
        api, patient={"ref": "MRN-SERIES-2", "display_name": "Parts Patient"}, dose={"amount": 28}
    )
    sid, h = session["id"], await api.auth()
    for minutes in (5, 10):
        r = await api.http.post(
            f"/api/v1/sessions/{sid}/events",
            json={
                "kind": "dose",
                "ts": iso(t0 + timedelta(minutes=minutes)),
                "dose": {"amount": 28},
            },
            headers=h,
        )
        assert r.status_code == 201, r.text
    pid = session["patient"]["id"]
    course = (await api.http.get(f"/api/v1/patients/{pid}/series", headers=h)).json()
    one = course["sessions"][0]
    assert one["dose_mg"] == 84 and one["dose_parts_mg"] == [28, 28, 28]
    assert one["dose"] == "esketamine 3 x 28 mg = 84 mg"
