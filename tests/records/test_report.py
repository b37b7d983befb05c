"""The session report: HTML for printing and its PDF, read back and rendered."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2

from tests.records.profiles import clinic_and_staff
from tests.support import Api, dosed_session, iso, now_utc, observe, samples


async def _two_more_parts(api: Api, sid: int, t0: datetime, dose: dict[str, Any]) -> None:
    """The second and third part of a dose given in three, 5 and 10 min after the first."""
    for minutes in (5, 10):
        r = await api.http.post(
            f"/api/v1/sessions/{sid}/events",
            json={"kind": "dose", "ts": iso(t0 + timedelta(minutes=minutes)), "dose": dose},
            headers=await api.auth(),
        )
        assert r.status_code == 201, r.text


async def _documented_session(api: Api) -> tuple[dict[str, Any], int]:
    """A 3 x 28 mg esketamine session with everything a chart keeps: an HR alarm
    paused and acknowledged, a limit change, an alarm switched off with its
    reason, observations, a nurse's note, the discharge with its note."""
    await clinic_and_staff(api)
    device, session, t0 = await dosed_session(
        api,
        now_hr=None,
        patient={
            "ref": "MRN-REPORT-1",
            "display_name": "Zoë Łukasiewicz",
            "date_of_birth": "1980-02-03",
        },
        dose={"amount": 28, "lot_number": "LOT-1"},
    )
    sid, h = session["id"], await api.auth()
    await _two_more_parts(api, sid, t0, {"amount": 28, "lot_number": "LOT-1"})
    start = now_utc() - timedelta(seconds=40)
    spike = samples(start, 15, seq0=20000, hr=150) + samples(
        start + timedelta(seconds=15), 20, seq0=20100, hr=75
    )
    assert (await api.post(device["token"], spike)).status_code == 202
    alarms = (await api.http.get("/api/v1/alarms", params={"session_id": sid}, headers=h)).json()
    hr = next(a for a in alarms if a["rule"].startswith("hr") and a["state"] != "resolved")
    r = await api.http.post(f"/api/v1/alarms/{hr['id']}/silence", json={"seconds": 60}, headers=h)
    assert r.status_code == 200, r.text
    assert (await api.http.post(f"/api/v1/alarms/{hr['id']}/ack", headers=h)).status_code == 200
    r = await api.http.patch(
        f"/api/v1/sessions/{sid}/thresholds",
        json={"hr": {"high": 125}, "reason": "athlete, resting HR high"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    r = await api.http.patch(
        f"/api/v1/sessions/{sid}/thresholds",
        json={"rr": {"high": None}, "reason": "RR probe reads talking as apnoea"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    await observe(
        api, sid, moass=3, dissociation="moderate", cadss=20, ts=iso(t0 + timedelta(minutes=20))
    )
    await observe(api, sid, moass=5, dissociation="none", nausea=False, note="settled")
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/events",
        json={"kind": "note", "detail": "Asked for water; sister waiting outside"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/discharge",
        json={
            "left_with": "Sister",
            "note": "Walked out steadily, leaflet given",
            "override_reason": "HR alarm 1 min ago, reviewed: artefact",
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    return session, sid


#: what a chart needs, in the HTML and the PDF alike (issue 25, defect 5)
CHART = (
    "Harbour Mental Health Clinic",
    "12 Quay Street",
    "Portland, ME 04101",
    "Zoë Łukasiewicz",
    "MRN-REPORT-1",
    "Esketamine nasal spray",
    "esketamine 28 mg, intranasal",
    "Session total: 3 x 28 mg = 84 mg",
    "Sam Patel, RN",
    "LOT-1",
    "About 40 min after the dose",
    "134/86",
    "moderate (CADSS 20)",
    "athlete, resting HR high",
    "RR probe reads talking as apnoea",
    "rr.high 24 -> off",
    "Asked for water; sister waiting outside",
    "Walked out steadily, leaflet given",
    "audio paused 60 s by Sam Patel, RN",
    "Vitals every 5 min",
    "Signed off by",
    "Consent on file",
)


async def test_report_html_and_pdf_carry_what_a_chart_needs(api: Api, tmp_path: Path) -> None:
    _, sid = await _documented_session(api)
    h = await api.auth()
    html = await api.http.get(f"/api/v1/sessions/{sid}/report", headers=h)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<script" not in html.text and "hr.high 120 -&gt; 125" in html.text  # escaped
    text = unescape(html.text)
    for expected in (*CHART, "hr.high 120 -> 125", "<svg", "times in UTC"):
        assert expected in text, expected
    assert "<script" not in text
    # the acknowledgement's clock time and who, not only "42 s"
    assert re.search(r"\d\d:\d\d by Sam Patel, RN \(\d+ s\)", text)
    # every BP in the vitals table, with its time
    vitals = text[text.index('data-testid="rp-vitals"') :]
    vitals = vitals[: vitals.index("</table>")]
    assert len(re.findall(r"120/80 at \d\d:\d\d", vitals)) == 2 and "134/86 at" in vitals
    assert re.search(r"<td>75 \(75-150\)</td>", vitals)  # last value, lowest-highest
    pdf = await api.http.get(f"/api/v1/sessions/{sid}/report.pdf", headers=h)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    pages = [page.extract_text() for page in reader.pages]
    body = re.sub(r"\s+", " ", "\n".join(pages))
    for expected in (*CHART, "Session report", "hr.high 120 -> 125", "Heart rate"):
        assert expected in body, expected
    for n, page in enumerate(pages, start=1):  # every page: its zone and "page n of m"
        assert f"times in UTC - page {n} of {len(pages)}" in page, page[-200:]
    # charts are vector paths: no page holds a raster image
    assert all(not page.images for page in reader.pages)
    document = pypdfium2.PdfDocument(pdf.content)
    assert len(document) == len(reader.pages) >= 2
    for i in range(len(document)):
        image = document[i].render(scale=1.5).to_pil()
        path = tmp_path / f"report-{i + 1}.png"
        image.save(path)
        assert image.width > 800 and image.convert("L").getextrema()[0] < 100  # not blank
    assert (await api.http.get(f"/api/v1/sessions/{sid}/report.pdf")).status_code == 401
    assert (await api.http.get("/api/v1/sessions/999999/report", headers=h)).status_code == 404


async def test_report_of_an_undosed_session(api: Api) -> None:
    _, session = await api.monitored("custom")
    r = await api.http.get(f"/api/v1/sessions/{session['id']}/report.pdf", headers=await api.auth())
    assert r.status_code == 200
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    assert "No dose recorded." in text and "No observations recorded." in text


async def test_defect_report_misses_what_a_chart_needs(api: Api) -> None:
    """Issue 25, defect 5, through the endpoints that existed: a dose in parts has
    no total and no giver, the note and the discharge note are nowhere, an
    acknowledgement has no clock time, a page names no zone and no page count."""
    _, session, t0 = await dosed_session(api, dose={"amount": 28, "lot_number": "LOT-9"})
    sid, h = session["id"], await api.auth()
    await _two_more_parts(api, sid, t0, {"amount": 28})
    await api.http.post(
        f"/api/v1/sessions/{sid}/events", json={"kind": "note", "detail": "Dozing"}, headers=h
    )
    await observe(api, sid, moass=5)
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/discharge",
        json={"left_with": "Friend", "note": "Steady on her feet", "override_reason": "reviewed"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    html = (await api.http.get(f"/api/v1/sessions/{sid}/report", headers=h)).text
    pdf = (await api.http.get(f"/api/v1/sessions/{sid}/report.pdf", headers=h)).content
    pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]
    body = " ".join(" ".join(pages).split())
    for text in (html, body):
        assert "Session total: 3 x 28 mg = 84 mg" in text
        assert "Dozing" in text and "Steady on her feet" in text
        assert "Given by" in text
    assert f"times in UTC - page 1 of {len(pages)}" in pages[0]
    assert f"page {len(pages)} of {len(pages)}" in pages[-1]
