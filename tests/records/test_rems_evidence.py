"""REMS pre-fills that never assert what nobody assessed (issue 25): each answer
filled from the record says from what; an answer with no evidence is left for the
nurse and blocks "submitted"; an SpO2-low alarm makes respiratory depression
"yes" for the nurse to review, whatever an observation said."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support import Api, ServerProcess, dosed_session, observe, samples, wait_for


def _field(form: dict[str, Any], key: str) -> dict[str, Any]:
    return next(f for f in form["fields"] if f["key"] == key)


async def _form(api: Api, sid: int) -> dict[str, Any]:
    r = await api.http.get(f"/api/v1/sessions/{sid}/rems-form", headers=await api.auth())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_desaturation_makes_respiratory_depression_yes_with_its_evidence(
    api: Api, server: ServerProcess
) -> None:
    device, session, t0 = await dosed_session(api)
    sid, h = session["id"], await api.auth()
    # a desaturation 20 min after the dose: SpO2 86% for 40 s
    r = await api.post(
        device["token"],
        samples(t0 + timedelta(minutes=20), 40, seq0=9000, hr=74, spo2=86)
        + samples(t0 + timedelta(minutes=20, seconds=40), 20, seq0=9100, hr=72, spo2=97),
    )
    assert r.status_code == 202, r.text

    async def desaturated() -> list[dict[str, Any]]:
        got = await api.http.get("/api/v1/alarms", params={"session_id": sid}, headers=h)
        return [a for a in got.json() if a["metric"] == "spo2"]

    await wait_for(desaturated, timeout=10)
    # the nurse's round said no respiratory depression: the alarm still asks for review
    await observe(api, sid, moass=5, dissociation="none", respiratory_depression=False)
    breathing = _field(await _form(api, sid), "respiratory_depression")
    assert breathing["value"] == "yes", breathing
    assert breathing["source"].startswith("SpO2 alarm ") and "lowest 86%" in breathing["source"]
    assert breathing["source"].endswith(": review")
    sedation = _field(await _form(api, sid), "sedation")
    assert sedation["value"] == "no" and sedation["source"].startswith("lowest MOAA/S 5 at ")
    dissociation = _field(await _form(api, sid), "dissociation")
    assert dissociation["source"].startswith("no dissociation observed at ")


async def test_what_nobody_assessed_is_left_for_the_nurse_and_blocks_submission(
    api: Api, server: ServerProcess
) -> None:
    _, session, _ = await dosed_session(api)
    sid, h = session["id"], await api.auth()
    await observe(api, sid, moass=5)  # sedation scored; breathing and dissociation not
    form = await _form(api, sid)
    for key in ("respiratory_depression", "dissociation"):
        f = _field(form, key)
        assert f["value"] is None and f["prefilled"] is None and f["gap"] is True, f
    assert "Respiratory depression" in form["gaps"] and "Dissociation" in form["gaps"]
    for f in form["fields"]:
        if f["prefilled"] is not None:
            assert f["source"], f  # every pre-filled answer says from what
    answers = {f["key"]: f["options"][-1] for f in form["fields"] if f["gap"] and f["options"]}
    answers = {k: v for k, v in answers.items() if k not in ("respiratory_depression",)}
    answers.update({f["key"]: "x" for f in form["fields"] if f["gap"] and f["kind"] == "text"})
    answers.update({f["key"]: 10 for f in form["fields"] if f["gap"] and f["kind"] == "number"})
    r = await api.http.put(
        f"/api/v1/sessions/{sid}/rems-form", json={"answers": answers}, headers=h
    )
    assert r.status_code == 200, r.text
    early = await api.http.post(f"/api/v1/sessions/{sid}/rems-form/submitted", headers=h)
    assert early.status_code == 409 and "Respiratory depression" in early.json()["detail"]
    r = await api.http.put(
        f"/api/v1/sessions/{sid}/rems-form",
        json={"answers": {"respiratory_depression": "no"}},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert "Respiratory depression" not in r.json()["gaps"]
