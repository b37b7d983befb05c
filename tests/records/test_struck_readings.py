"""A struck reading is never a value: issue 25's case (a typed-in BP of 185/96
struck out as a typo and typed again as 158/96), walked through every record and
export of the session."""

from __future__ import annotations

import asyncio
import re
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support import Api, ServerProcess, dosed_session, iso, observe

#: how the struck value would read if it were shown as a value
_AS_VALUE = re.compile(r"185\s*/\s*96|\b185(\.0)?\s*mmHg|SBP\W{0,3}185\b")


async def _get(api: Api, path: str, **params: Any) -> Any:
    r = await api.http.get(path, params=params, headers=await api.auth())
    assert r.status_code == 200, (path, r.text)
    return r


def _walk(doc: Any, where: str, found: list[str]) -> None:
    """Every number 185 and every text reading "185/96" outside a struck-out mark."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            _walk(v, f"{where}.{k}", found)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            _walk(v, f"{where}[{i}]", found)
    elif isinstance(doc, bool):
        return
    elif isinstance(doc, int | float) and doc == 185:
        found.append(f"{where} = {doc}")
    elif isinstance(doc, str) and _AS_VALUE.search(doc) and "struck" not in doc:
        found.append(f"{where} = {doc!r}")


def _text_lines(text: str, where: str, found: list[str]) -> None:
    for line in text.splitlines():
        if _AS_VALUE.search(line) and "struck" not in line.lower():
            found.append(f"{where}: {line.strip()!r}")


async def _fhir_observations(api: Api, patient_id: int) -> list[dict[str, Any]]:
    r = await _get(api, "/fhir/r4/Observation", patient=f"Patient/{patient_id}", _count=200)
    pages = [r.json()]
    while nxt := next((x["url"] for x in pages[-1]["link"] if x["relation"] == "next"), None):
        pages.append((await api.http.get(nxt, headers=await api.auth())).json())
    return [e["resource"] for b in pages for e in b.get("entry", [])]


async def test_a_struck_bp_is_no_value_in_any_record_or_export(
    api: Api, server: ServerProcess, tmp_path: Any
) -> None:
    _, session, t0 = await dosed_session(
        api, bp_at_40=False, patient={"ref": "MRN-STRUCK-1", "display_name": "Struck Case"}
    )
    sid, pid, h = session["id"], session["patient"]["id"], await api.auth()
    at40 = t0 + timedelta(minutes=40)
    typo = await api.http.post(
        f"/api/v1/sessions/{sid}/readings", json={"sbp": 185, "dbp": 96, "ts": iso(at40)}, headers=h
    )
    assert typo.status_code == 201, typo.text
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/manual-readings/{typo.json()['id']}/strike",
        json={"reason": "typo: 158 typed as 185"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    again = await api.http.post(
        f"/api/v1/sessions/{sid}/readings",
        json={"sbp": 158, "dbp": 96, "ts": iso(at40 + timedelta(seconds=30))},
        headers=h,
    )
    assert again.status_code == 201, again.text
    await observe(api, sid, moass=5, dissociation="none", respiratory_depression=False)
    state = (await _get(api, f"/api/v1/sessions/{sid}/readiness")).json()
    body: dict[str, Any] = {"left_with": "Partner"}
    if not state["ready"]:
        body["override_reason"] = "test: signed off as it stands"
    r = await api.http.post(f"/api/v1/sessions/{sid}/discharge", json=body, headers=h)
    assert r.status_code == 200, r.text

    found: list[str] = []
    html = (await _get(api, f"/api/v1/sessions/{sid}/report")).text
    # shown where it was entered, crossed out, with who struck it, when and why
    struck_row = re.search(r'data-testid="rp-struck".*?</table>', html, re.S)
    assert struck_row and "<del>BP 185/96 mmHg</del>" in struck_row.group(0)
    assert "typo: 158 typed as 185" in struck_row.group(0) and "by nurse" in struck_row.group(0)
    _text_lines(re.sub(r"<del>.*?</del>", "", html, flags=re.S), "report.html", found)
    checkpoints = re.search(r'data-testid="rp-checkpoints".*?</table>', html, re.S)
    assert checkpoints and "158/96" in checkpoints.group(0)

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes((await _get(api, f"/api/v1/sessions/{sid}/report.pdf")).content)
    text = (
        await asyncio.to_thread(
            subprocess.run,
            ["pdftotext", "-layout", str(pdf), "-"],
            check=True,
            capture_output=True,
            text=True,
        )
    ).stdout
    assert "Readings struck out" in text and "typo: 158 typed as 185" in text
    _text_lines(text, "report.pdf", found)

    form = (await _get(api, f"/api/v1/sessions/{sid}/rems-form")).json()
    _walk(form, "rems-form", found)
    bp40 = next(f for f in form["fields"] if f["key"] == "bp_40")
    assert bp40["value"].startswith("158/96 at "), bp40

    course = (await _get(api, f"/api/v1/patients/{pid}/series")).json()
    _walk(course, "course", found)
    assert course["sessions"][0]["peak_sbp"] == 158

    _walk((await _get(api, f"/api/v1/sessions/{sid}/readiness")).json(), "readiness", found)
    _walk((await _get(api, f"/api/v1/sessions/{sid}")).json()["latest"], "latest", found)
    trend = await _get(api, f"/api/v1/sessions/{sid}/readings", metric="sbp")
    _walk(trend.json(), "trend", found)

    day = datetime.now(UTC).date()
    since = (day - timedelta(days=1)).isoformat()
    load = await _get(api, "/api/v1/reports/alarm-load", since=since, until=day.isoformat())
    _walk(load.json(), "alarm-load", found)
    csv = await _get(api, "/api/v1/reports/alarm-load.csv", since=since, until=day.isoformat())
    _text_lines(csv.text, "alarm-load.csv", found)

    for o in await _fhir_observations(api, pid):
        if o.get("status") == "entered-in-error":
            continue
        _walk({k: v for k, v in o.items() if k != "id"}, f"fhir Observation/{o['id']}", found)
    assert found == [], "\n".join(found)
