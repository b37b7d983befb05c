"""The session report: HTML for printing and its PDF, read back and rendered."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2

from tests.support import Api, dosed_session, iso, now_utc, observe, samples


async def _documented_session(api: Api) -> tuple[dict[str, Any], int]:
    device, session, t0 = await dosed_session(
        api,
        now_hr=None,
        patient={
            "ref": "MRN-REPORT-1",
            "display_name": "Zoë Łukasiewicz",
            "date_of_birth": "1980-02-03",
        },
    )
    sid, h = session["id"], await api.auth()
    start = now_utc() - timedelta(seconds=40)
    spike = samples(start, 15, seq0=20000, hr=150) + samples(
        start + timedelta(seconds=15), 20, seq0=20100, hr=75
    )
    assert (await api.post(device["token"], spike)).status_code == 202
    alarms = (await api.http.get("/api/v1/alarms", params={"session_id": sid}, headers=h)).json()
    hr = next(a for a in alarms if a["rule"].startswith("hr") and a["state"] != "resolved")
    assert (await api.http.post(f"/api/v1/alarms/{hr['id']}/ack", headers=h)).status_code == 200
    r = await api.http.patch(
        f"/api/v1/sessions/{sid}/thresholds", json={"hr": {"high": 125}}, headers=h
    )
    assert r.status_code == 200
    await observe(
        api, sid, moass=3, dissociation="moderate", cadss=20, ts=iso(t0 + timedelta(minutes=20))
    )
    await observe(api, sid, moass=5, dissociation="none", nausea=False, note="settled")
    return session, sid


async def test_report_html_and_pdf_carry_the_record(api: Api, tmp_path: Path) -> None:
    _, sid = await _documented_session(api)
    h = await api.auth()
    html = await api.http.get(f"/api/v1/sessions/{sid}/report", headers=h)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    text = html.text
    for expected in (
        "Zoë Łukasiewicz",
        "MRN-REPORT-1",
        "Esketamine nasal spray",
        "esketamine 56 mg, intranasal",
        "LOT-1",
        "Before dosing",
        "About 40 min after the dose",
        "134/86",
        "moderate (CADSS 20)",
        "hr.high 120 -&gt; 125",
        "<svg",
        "Acknowledged by",
        ">nurse<",
        "Consent on file",
    ):
        assert expected in text, expected
    assert "<script" not in text
    pdf = await api.http.get(f"/api/v1/sessions/{sid}/report.pdf", headers=h)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    body = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (
        "Session report",
        "Zoë Łukasiewicz",
        "MRN-REPORT-1",
        "134/86",
        "LOT-1",
        "hr.high 120 -> 125",
        "nurse",
        "About 40 min after the dose",
        "Heart rate",
    ):
        assert expected in body, expected
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
