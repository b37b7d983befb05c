"""A whole esketamine session through the pages, as a nurse charts it: sign in,
start the session on the station, the checklist and the dose on the record
page, readings typed in (one BP struck out as a typo and typed again), MOAA/S 5
then back to 4, a desaturation the monitor posts (the SpO2 alarm, acknowledged
on the station), MOAA/S 5 again, the sign-off. Then the report and REMS PDFs,
rendered to PNG (pdftoppm) and read back (pdftotext): the struck BP is never a
value, readiness is not the early MOAA/S 5, respiratory depression is "yes"
from the SpO2 alarm, and report, REMS form, course and FHIR agree on the BP.

The session runs on the wall clock (the station starts sessions now), so the
clinic's profile has a quiet time of 1 min after an alarm instead of 15."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.nurses_ward import sending
from tests.fhir.checks import every_page, fhir
from tests.records.profiles import clinic_and_staff
from tests.support import ADMIN, NURSE, Api, ServerProcess, iso, now_utc, wait_for

pytestmark = pytest.mark.browser
STRUCK, RETYPED, SETTLED, BEFORE = "185/96", "158/96", "126/82", "120/80"


@pytest.fixture(scope="module")
def backend() -> str:
    """The pages do not depend on the database: one backend is enough here."""
    return "sqlite"


def _poppler() -> None:
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed (apt-get install poppler-utils)")


def _read_back(pdf: bytes, tmp: Path, name: str) -> str:
    """The PDF rendered to PNG (every page, checked not blank) and its text."""
    path = tmp / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(tmp / name)], check=True)
    pngs = sorted(tmp.glob(f"{name}-*.png"))
    assert pngs and all(p.stat().st_size > 5_000 for p in pngs), pngs
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    )
    return out.stdout


async def _quiet_minute(api: Api) -> None:
    admin = await api.auth(ADMIN)
    r = await api.http.get("/api/v1/record-profiles/esketamine-in", headers=admin)
    body = {
        k: r.json()[k]
        for k in (
            "checklist",
            "observation_interval_min",
            "sbp_margin",
            "dbp_margin",
            "hr_margin",
            "quiet_min",
            "bp_max_age_min",
        )
    }
    r = await api.http.put(
        "/api/v1/record-profiles/esketamine-in", json={**body, "quiet_min": 1}, headers=admin
    )
    assert r.status_code == 200, r.text


async def _type_vitals(page: Any, bp: str, hr: str) -> None:
    await page.get_by_test_id("manual-bp").fill(bp)
    await page.get_by_test_id("manual-hr").fill(hr)
    await page.get_by_test_id("manual-hr").press("Enter")
    await expect(page.get_by_test_id("manual-status")).to_contain_text(f"Saved: BP {bp}")


async def _observe(page: Any, api: Api, sid: int, moass: str, dissociation: str) -> datetime:
    """A MOAA/S on the record page's form; when it was recorded (once stored)."""
    form = page.locator("#obs-form")
    radio = form.locator(f"input[name=moass][value='{moass}']")
    await radio.check()
    await form.locator("[name=dissociation]").select_option(dissociation)
    await expect(radio).to_be_checked()
    path, h = f"/api/v1/sessions/{sid}/observations", await api.auth()
    before = len((await api.http.get(path, headers=h)).json())
    at = now_utc()
    await form.locator("button[type=submit]").click()

    async def stored() -> bool:
        return len((await api.http.get(path, headers=h)).json()) == before + 1

    try:
        await wait_for(stored, timeout=10)
    except AssertionError:
        raise AssertionError(await page.locator("#obs-error").inner_text()) from None
    return at


def _only_struck(text: str, value: str) -> None:
    """`value` shows only crossed out ("struck out: ..."): on its line or the one
    above (a table cell wraps)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if value in line:
            assert "struck" in (lines[i - 1] + line).lower(), "\n".join(lines[i - 2 : i + 3])


def _hm(t: datetime) -> str:
    return t.strftime("%H:%M")


async def test_whole_esketamine_session_through_the_pages(
    chromium: Any, api: Api, server: ServerProcess, tmp_path: Path
) -> None:
    _poppler()
    await clinic_and_staff(api)
    await _quiet_minute(api)
    device = await api.device("Bay 7 monitor")
    context = await chromium.new_context(
        viewport={"width": 1500, "height": 1100}, timezone_id="UTC"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    h = await api.auth()

    # sign in and start the session on the station
    await page.goto(server.url + "/")
    await page.fill("#username", NURSE[0])
    await page.fill("#password", NURSE[1])
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("link-status")).to_have_text("live", timeout=15_000)
    await page.click("#new-session")
    await page.select_option("#start-form select[name=protocol]", "esketamine-in")
    await page.fill("#start-form input[name=ref]", "MRN-WHOLE-1")
    await page.fill("#start-form input[name=display_name]", "Vera Lind")
    await page.fill("#start-form input[name=room]", "Room 7")
    await page.check(f"#free-devices input[value='{device['id']}']")
    await page.click("#start-form button[type=submit]")
    await expect(page.locator(".tile", has_text="Room 7")).to_contain_text("Vera Lind")
    active = (await api.http.get("/api/v1/sessions", headers=h)).json()
    session = next(s for s in active if s["room"] == "Room 7")
    sid, pid = session["id"], session["patient"]["id"]
    # the monitor sends on from here to the sign-off (its values change below)
    live: dict[str, float] = {"hr": 70, "spo2": 98, "rr": 14}
    async with sending(api, [(device["token"], live)]):
        # the monitor's pre-dose readings
        pre = [{"ts": iso(now_utc()), "seq": 100, "sbp": 120, "dbp": 80}]
        assert (await api.post(device["token"], pre)).status_code == 202

        # checklist and dose on the record page
        await page.goto(f"{server.url}/sessions/{sid}/record")
        checklist = page.locator("#checklist")
        await checklist.locator("li").first.wait_for()
        meds = checklist.locator("[data-meds]")
        for key in ("benzodiazepines", "sedative_hypnotics", "psychostimulants", "maois"):
            await meds.locator(f"select[data-med={key}]").select_option("no")
            await expect(meds.locator(f"select[data-med={key}]")).to_have_value("no")
        boxes = checklist.locator("input[type=checkbox]")
        for i in range(await boxes.count()):
            await boxes.nth(i).check()

        async def complete() -> bool:
            r = await api.http.get(f"/api/v1/sessions/{sid}/checklist", headers=h)
            return bool(r.json()["complete"])

        await wait_for(complete, timeout=10)
        await expect(page.locator("#override-box")).to_be_hidden()
        form = page.locator("#dose-form")
        await form.locator("[name=amount]").fill("56")
        await form.locator("[name=lot_number]").fill("LOT-W1")
        await form.locator("button[type=submit]").click()
        await expect(page.locator("#doses")).to_contain_text("esketamine 56 mg")

        # readings typed in; the first BP is a typo, struck out and typed again
        await page.goto(f"{server.url}/manual?session={sid}")
        await _type_vitals(page, STRUCK, "76")
        await _type_vitals(page, RETYPED, "76")
        entries = (await api.http.get(f"/api/v1/sessions/{sid}/manual-readings", headers=h)).json()
        typo = next(e for e in entries if e["sbp"] == 185)
        await page.get_by_test_id(f"strike-{typo['id']}").click()
        await page.get_by_test_id("strike-reason").fill("typo, 158 meant")
        await page.get_by_test_id("strike-confirm").click()
        await expect(page.get_by_test_id(f"manual-entry-{typo['id']}")).to_contain_text(
            "struck by nurse: typo, 158 meant"
        )

        # MOAA/S 5, then back to 4
        await page.goto(f"{server.url}/sessions/{sid}/record")
        await expect(page.get_by_test_id("readiness")).not_to_be_empty()
        early = await _observe(page, api, sid, "5", "none")
        await _observe(page, api, sid, "4", "mild")

        # the monitor shows a desaturation, then SpO2 back; the nurse acknowledges
        live.update(spo2=85, rr=12)

        async def spo2_alarm() -> dict[str, Any] | None:
            r = await api.http.get("/api/v1/alarms", params={"session_id": sid}, headers=h)
            return next((a for a in r.json() if a["metric"] == "spo2"), None)

        await wait_for(spo2_alarm, timeout=30)
        live.update(spo2=97, rr=14)
        # the nurse answers the session's alarms on the station (the SpO2 alarm, and
        # the BP alarm the typo raised, which stands until acknowledged)
        await page.goto(server.url + "/")
        r = await api.http.get("/api/v1/alarms", params={"session_id": sid}, headers=h)
        for a in r.json():
            if a["state"] == "active":
                await page.get_by_test_id(f"ack-{a['id']}").click()

                async def answered(aid: int = a["id"]) -> bool:
                    r = await api.http.get("/api/v1/alarms", params={"session_id": sid}, headers=h)
                    return next(x for x in r.json() if x["id"] == aid)["state"] != "active"

                await wait_for(answered, timeout=15)

        # BP back near baseline, MOAA/S 5 again
        await page.goto(f"{server.url}/manual?session={sid}")
        await _type_vitals(page, SETTLED, "72")
        await page.goto(f"{server.url}/sessions/{sid}/record")
        await expect(page.get_by_test_id("readiness")).not_to_be_empty()
        await _observe(page, api, sid, "5", "none")

        # a quiet minute after the alarm ended: clinically ready (observation time aside)
        ready = page.get_by_test_id("readiness")
        await expect(ready).to_contain_text(
            "Clinically ready (without the observation time) at", timeout=120_000
        )
        state = (await api.http.get(f"/api/v1/sessions/{sid}/readiness", headers=h)).json()
        stable_at = datetime.fromisoformat(state["stable_at"])
        assert stable_at > early + timedelta(seconds=30), (stable_at, early)
        signoff = page.locator("#signoff-form")
        await signoff.locator("[name=left_with]").fill("Partner (Jon)")
        if await page.locator("#signoff-override").is_visible():
            await signoff.locator("[name=override_reason]").fill("Test: before the 2-h observation")
        if await page.locator("#signoff-bp").is_visible():
            await signoff.locator("[name=bp_overdue_answer]").fill("BP taken by hand just now")
        await signoff.locator("button[type=submit]").click()
        await expect(page.get_by_test_id("ready-banner")).to_contain_text("Signed off at")

    # the report and the REMS form, as PDFs: rendered and read back
    report = await api.http.get(f"/api/v1/sessions/{sid}/report.pdf", headers=h)
    rems = await api.http.get(f"/api/v1/sessions/{sid}/rems-form.pdf", headers=h)
    assert report.status_code == rems.status_code == 200
    report_text = _read_back(report.content, tmp_path, "report")
    rems_text = _read_back(rems.content, tmp_path, "rems")
    form_json = (await api.http.get(f"/api/v1/sessions/{sid}/rems-form", headers=h)).json()
    fields = {f["key"]: f for f in form_json["fields"]}

    # the struck BP: shown crossed out in the report, never a value anywhere
    for text in (report_text, rems_text):
        _only_struck(text, "185")
    assert STRUCK in report_text  # it is listed, as struck
    assert not [f for f in fields.values() if "185" in str(f["value"])]
    course = (await api.http.get(f"/api/v1/patients/{pid}/series", headers=h)).json()
    mine = next(s for s in course["sessions"] if s["session_id"] == sid)
    assert mine["peak_sbp"] == 158
    bps = await every_page(api, await fhir(api, "/fhir/r4/Observation", encounter=sid,
                                           code="85354-9", _count=100))  # fmt: skip
    systolic = [o["component"][0]["valueQuantity"]["value"] for o in bps]
    assert 185.0 not in systolic and max(systolic) == 158.0

    # readiness: not the early MOAA/S 5; the same on the form, the report, the course
    dose_at = datetime.fromisoformat(
        (await api.http.get(f"/api/v1/sessions/{sid}", headers=h)).json()["first_dose_at"]
    )
    minutes = int((stable_at - dose_at).total_seconds() // 60)
    ready_to_leave = fields["ready_minutes"]
    assert ready_to_leave["value"] == minutes, ready_to_leave
    assert f"from {_hm(stable_at)}" in ready_to_leave["source"], ready_to_leave
    assert re.search(rf"Clinically ready \(without the observation time\)\s+{_hm(stable_at)}",
                     report_text), report_text  # fmt: skip
    assert mine["stable_min"] == minutes

    # respiratory depression: yes, from the SpO2 alarm
    resp = fields["respiratory_depression"]
    assert resp["value"] == "yes" and "SpO2 alarm" in resp["source"], resp
    assert re.search(r"Respiratory depression\s+yes\s+from the record: SpO2 alarm", rems_text)

    # the BP checkpoints agree: before dosing the monitor's 120/80 (FHIR has it at
    # that time, the course as the baseline); none yet at 40 min or at the end
    before = fields["bp_before"]["value"]
    assert before.startswith(f"{BEFORE} at "), before
    hm_before = before.rsplit(" ", 1)[1]
    assert re.search(rf"Before dosing\s+{hm_before}\s+-?\d+\s+{BEFORE}", report_text)
    assert re.search(rf"BP before administration \(mmHg, time\)\s+{before}", rems_text)
    assert not fields["bp_40"]["value"] and not fields["bp_end"]["value"]
    for label in ("About 40 min after the dose", "Before discharge"):
        assert re.search(rf"{label}\s+no reading", report_text), label
    assert [120.0, 80.0] in [
        [c["valueQuantity"]["value"] for c in o["component"]]
        for o in bps
        if o["effectiveDateTime"][11:16] == hm_before
    ]
    assert (mine["baseline_sbp"], mine["baseline_dbp"]) == (120, 80)
    assert errors == []
    await context.close()
