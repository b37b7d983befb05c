"""A whole esketamine session documented by hand in Chromium: checklist with the
BP gate decided by a clinician, dose, observation, readiness, sign-off, report
and its PDF, REMS form completed and marked submitted."""

from __future__ import annotations

import io
import os
import re
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2
import pytest
from playwright.async_api import expect

from tests.records.profiles import clinic_and_staff
from tests.support import NURSE, Api, ServerProcess, iso, now_utc, samples

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def backend() -> str:
    """The pages do not depend on the database: one backend is enough here."""
    return "sqlite"


async def _until_text(page: Any, testid: str, how: str, text: str, timeout: float = 30_000) -> None:
    """Wait until the element's text `how` (includes, startsWith, ===) `text`
    (Playwright's own matching: the pages' CSP allows no string evaluation)."""
    pattern = {
        "===": re.compile(f"^{re.escape(text)}$"),
        "startsWith": re.compile(f"^{re.escape(text)}"),
        "includes": re.compile(re.escape(text)),
    }[how]
    await expect(page.get_by_test_id(testid)).to_have_text(pattern, timeout=timeout)


async def _sign_in(page: Any) -> None:
    await page.fill("#username", NURSE[0])
    await page.fill("#password", NURSE[1])
    await page.click("#page-login button[type=submit]")


async def test_whole_esketamine_session_by_hand(
    chromium: Any, api: Api, server: ServerProcess, tmp_path: Path
) -> None:
    await clinic_and_staff(api)
    device = await api.device("Bay 1 monitor")
    t0 = (now_utc() - timedelta(minutes=130)).replace(second=0, microsecond=0)
    r = await api.http.post(
        "/api/v1/sessions",
        json={
            "patient": {"ref": "MRN-UI-1", "display_name": "Mara Quist"},
            "protocol": "esketamine-in",
            "room": "Room 1",
            "device_ids": [device["id"]],
            "started_at": iso(t0 - timedelta(minutes=11)),  # entered now, begun then
        },
        headers=await api.auth(),
    )
    sid = r.json()["id"]
    pre = samples(t0 - timedelta(minutes=10), 120, step_s=5, hr=70, spo2=98)
    pre.append({"ts": iso(t0 - timedelta(minutes=2)), "seq": 900, "sbp": 150, "dbp": 95})
    assert (await api.post(device["token"], pre)).status_code == 202

    context = await chromium.new_context(
        viewport={"width": 1500, "height": 1100}, timezone_id="UTC", accept_downloads=True
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{server.url}/sessions/{sid}/record")
    await _sign_in(page)
    checklist = page.locator("#checklist")
    await checklist.locator("li").first.wait_for()
    # the medications the REMS form asks about, answered on the checklist
    meds = checklist.locator("[data-meds]")
    for key, answer in (
        ("benzodiazepines", "no"),
        ("sedative_hypnotics", "yes"),
        ("psychostimulants", "no"),
        ("maois", "no"),
    ):
        await meds.locator(f"select[data-med={key}]").select_option(answer)
        await expect(meds.locator(f"select[data-med={key}]")).to_have_value(answer)
    boxes = checklist.locator("input[type=checkbox]")
    for i in range(await boxes.count()):
        await boxes.nth(i).check()
        await expect(page.locator("#checklist li.ok")).to_have_count(i + 1)
    gate = checklist.locator("[data-testid=gate-status]")
    assert (
        "150/95" in await gate.inner_text()
        and "needs a clinician's decision" in await gate.inner_text()
    )
    # the dose form asks for an override reason while the checklist is incomplete
    assert await page.locator("#override-box").is_visible()
    await page.fill("form.gate [name=clinician]", "Dr Osei")
    await page.fill("form.gate [name=reason]", "Known white-coat hypertension")
    await page.click("form.gate button[type=submit]")
    await _until_text(page, "gate-status", "includes", "decided to proceed")
    assert not await page.locator("#override-box").is_visible()

    form = page.locator("#dose-form")
    await form.locator("[name=amount]").fill("84")
    await form.locator("[name=lot_number]").fill("SPR-84A")
    await form.locator("[name=ts]").fill(t0.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"))
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#doses")).to_contain_text("esketamine 84 mg")

    # the monitor goes on: the BP at 40 min and now, HR now
    post = [{"ts": iso(t0 + timedelta(minutes=41)), "seq": 901, "sbp": 138, "dbp": 88}]
    post += samples(now_utc() - timedelta(seconds=20), 15, seq0=1000, hr=72, spo2=97)
    post.append({"ts": iso(now_utc() - timedelta(seconds=3)), "seq": 1100, "sbp": 141, "dbp": 89})
    assert (await api.post(device["token"], post)).status_code == 202

    obs = page.locator("#obs-form")
    await obs.locator("input[name=moass][value='5']").check()
    await obs.locator("[name=dissociation]").select_option("none")
    await obs.locator("button[type=submit]").click()
    banner = page.locator("[data-testid=ready-banner]")
    await _until_text(page, "ready-banner", "===", "Ready for discharge")
    await page.fill("#signoff-form [name=left_with]", "Partner (Alex)")
    await page.click("#signoff-form button[type=submit]")
    await _until_text(page, "ready-banner", "startsWith", "Signed off at")
    assert "Partner (Alex)" in await banner.inner_text()
    shot = DOCS if os.environ.get("VITALWATCH_UPDATE_SCREENSHOTS") == "1" else tmp_path
    await page.screenshot(path=str(shot / "session-record.png"), full_page=True)

    await page.click("#rec-links a:text('Session report')")
    await page.locator("#report .vw-report").wait_for()
    report_text = await page.locator("#report").inner_text()
    for expected in (
        "Harbour Mental Health Clinic",
        "Mara Quist",
        "Dr Osei decided to proceed",
        "Sam Patel, RN",
        "times in UTC",
        "Signed off by",
    ):
        assert expected in report_text, expected
    await page.screenshot(path=str(shot / "session-report.png"), full_page=True)
    async with page.expect_download() as info:
        await page.click("#pdf")
    download = await info.value
    pdf_path = tmp_path / "report.pdf"
    await download.save_as(str(pdf_path))
    pages = pypdf.PdfReader(io.BytesIO(pdf_path.read_bytes())).pages
    text = " ".join(" ".join(p.extract_text() for p in pages).split())  # table cells wrap
    for expected in (
        "Harbour Mental Health Clinic",
        "Mara Quist",
        "esketamine 84 mg, intranasal",
        "SPR-84A",
        "138/88",
        "150/95",
        "Dr Osei decided to proceed",
        "Partner (Alex)",
        f"page 1 of {len(pages)}",
    ):
        assert expected in text, expected

    await page.goto(f"{server.url}/sessions/{sid}/rems")
    await page.locator("#rems-form .rems-field").first.wait_for()
    assert "to complete" in await page.locator("[data-testid=rems-status]").inner_text()
    await expect(page.get_by_test_id("rems-zone")).to_contain_text("time zone, UTC")
    assert await page.locator("#f-bp_40").input_value() == "138/88 at " + (
        t0 + timedelta(minutes=41)
    ).strftime("%H:%M")
    # who and where, from the record's profiles; the medications from the checklist
    for key, value in (
        ("patient_first_name", "Mara"),
        ("patient_last_name", "Quist"),
        ("provider_first_name", "Sam"),
        ("provider_email", "sam.patel@harbour.example"),
        ("setting_name", "Harbour Mental Health Clinic"),
        ("setting_zip", "04101"),
        ("med_sedative_hypnotics", "yes"),
        ("med_maois", "no"),
    ):
        assert await page.locator(f"#f-{key}").input_value() == value, key
    assert await page.locator("#f-med_benzodiazepines option").all_inner_texts() == [
        "—",
        "yes",
        "no",
    ]
    # vital signs acceptable: the clinician's answer, the computed suggestion beside it
    assert await page.locator("#f-vitals_ok_before").input_value() == ""
    await expect(page.get_by_test_id("suggest-vitals_ok_before")).to_contain_text("BP 150/95 at")
    await expect(page.get_by_test_id("suggest-vitals_ok_before")).to_contain_text("0-140/0-90")
    await page.select_option("#f-vitals_ok_before", "no")
    await page.select_option("#f-vitals_ok_end", "yes")
    await page.select_option("#f-patient_sex", "Female")  # not on record: a gap to complete
    for key in ("respiratory_depression", "serious_adverse_events"):
        await page.select_option(f"#f-{key}", "no")
    await page.fill("#f-patient_dob", "1980-05-06")
    await page.click("#rems-submitted")
    await _until_text(page, "rems-status", "startsWith", "Marked submitted")
    assert (await page.get_by_test_id("rems-status").inner_text()).endswith(" UTC.")
    await page.screenshot(path=str(shot / "rems-form.png"), full_page=True)
    async with page.expect_download() as info:
        await page.click("#pdf")
    rems_pdf = tmp_path / "rems.pdf"
    await (await info.value).save_as(str(rems_pdf))
    data = rems_pdf.read_bytes()
    text = " ".join(
        " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages).split()
    )
    for expected in ("Mara", "Quist", "1980-05-06", "Female", "Sam", "04101", "SPR-84A", "138/88"):
        assert expected in text, expected
    document = pypdfium2.PdfDocument(data)
    image = document[0].render(scale=1.5).to_pil()
    image.save(tmp_path / "rems-1.png")
    assert image.convert("L").getextrema()[0] < 100

    await page.goto(f"{server.url}/rems/due")
    row = page.locator(f"[data-testid=forms-due] tr[data-session='{sid}']")
    await row.wait_for()
    assert "submitted by nurse" in await row.inner_text()
    await page.goto(f"{server.url}/patients/{r.json()['patient']['id']}")
    await page.locator("#series tr td").first.wait_for()
    assert "84 mg" in await page.locator("#series").inner_text()
    await page.emulate_media(media="print")  # the course's legend reads on paper
    legend = page.locator("[data-testid=series-legend]")
    assert await legend.is_visible()
    assert "Peak SBP (mmHg)" in await legend.inner_text()
    assert await legend.locator("svg line").count() == 5
    assert errors == []
    await context.close()
