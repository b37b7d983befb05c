"""Every message of the shared HL7 corpus (real published messages, read as bytes):
parsed, acknowledged, and what its SOURCES.md says it must yield is stored, for a
registered sender in an active session.

The corpus is not part of the repository (several files carry no licence): it
is read from ../shared/hl7-corpus/ beside the checkout (or VITALWATCH_HL7_CORPUS),
and the test skips, saying why, when it is not there.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from simulators.hl7 import MllpClient, ack_code

from tests.support import ADMIN, Api, ServerProcess, mllp_port
from vitalwatch.hl7.parser import parse


def _corpus() -> Path | None:
    given = os.environ.get("VITALWATCH_HL7_CORPUS")
    candidates = [Path(given)] if given else []
    root = Path(__file__).resolve().parents[2]
    candidates.append(root.parent / "shared" / "hl7-corpus")
    return next((p for p in candidates if (p / "SOURCES.md").is_file()), None)


CORPUS = _corpus()
pytestmark = pytest.mark.skipif(
    CORPUS is None,
    reason="the HL7 corpus is not here (../shared/hl7-corpus beside the checkout, or set "
    "VITALWATCH_HL7_CORPUS)",
)


def ms(text: str) -> int:
    return round(datetime.fromisoformat(text).timestamp() * 1000)


#: file -> (ACK code, readings as {ts: {metric: value}}), from SOURCES.md; times
#: without an offset are read as UTC (the test server's VITALWATCH_MLLP_TIMEZONE).
READINGS: dict[str, tuple[str, dict[int, dict[str, float]]]] = {
    "ihe_pcd01_nibp_acme_example": (
        "AA",
        {ms("2009-08-13T09:57:15+05:00"): {"sbp": 120, "dbp": 80, "map": 100}},
    ),
    "ihe_pcd01_nibp_timesync_example": (
        "AA",
        {ms("2009-08-13T09:57:15+00:00"): {"sbp": 120, "dbp": 80, "map": 100}},
    ),
    # ECG HR only: the invasive arterial and PA pressures are not NIBP, the
    # invasive pulse rate gives way to the ECG.
    "ge_aware_gateway_pcd01_invasive_bp": ("AA", {ms("2008-12-11T14:45:00+00:00"): {"hr": 60}}),
    "continua_wan_pulse_oximeter_pleth": ("AA", {ms("2009-07-15T07:07:07+00:00"): {"spo2": 80.5}}),
    "philips_piic_mdil_oru_r01_v23": (
        "AA",
        {ms("2025-02-17T00:37:28+00:00"): {"hr": 66, "spo2": 96, "rr": 31}},
    ),
    "philips_piic_mdil_oru_r01_v23_utf8_cyrillic": (
        "AA",
        {ms("2025-02-17T00:40:28+00:00"): {"hr": 66, "spo2": 96, "rr": 26}},
    ),
    "philips_picix_pcd01_with_waveform_truncated": (
        "AA",
        {ms("2021-04-25T23:03:31.496-04:00"): {"hr": 60}},
    ),
    "vitalrecorder_oru_r01_numerics": (
        "AA",
        {ms("2025-03-23T14:30:00+00:00"): {"hr": 72, "spo2": 98, "sbp": 118, "dbp": 74}},
    ),
    "mindray_oru_r01_continuous_waveform": ("AA", {}),
    "philips_acm_oru_r40_rr_high": ("AA", {}),
    "philips_acm_oru_r40_vent_trigeminy": ("AA", {}),
    "ge_mural_acm_oru_r40_advisory": ("AA", {}),
    "mindray_acm_oru_r40_lead_off": ("AA", {}),
    "ack_aa_pcd01": ("AR", {}),  # ACKs are what senders expect back, not what they send
    "ack_ce_err_pcd01": ("AR", {}),
}
#: file -> (label, priority, kind) of the monitor alarm it reports.
ALARMS = {
    "philips_acm_oru_r40_rr_high": ("** RR High", "medium", "physiological"),
    "philips_acm_oru_r40_vent_trigeminy": ("* Vent Trigeminy", "low", "physiological"),
    "ge_mural_acm_oru_r40_advisory": ("HYPERTENSION-Alert Recheck BP", "medium", "advisory"),
    "mindray_acm_oru_r40_lead_off": ("Lead off", "low", "technical"),
}


@pytest.fixture
async def api(hl7_server: ServerProcess) -> Any:
    client = Api(hl7_server.url)
    yield client
    await client.aclose()


async def test_every_corpus_message(api: Api, hl7_server: ServerProcess) -> None:
    assert CORPUS is not None
    files = sorted(CORPUS.glob("*.hl7"))
    assert {f.stem for f in files} == set(READINGS), "SOURCES.md and this test disagree"
    devices: dict[str, dict[str, Any]] = {}
    admin = await api.auth(ADMIN)
    for path in files:
        data = path.read_bytes()
        message = parse(data)
        key = message.identifiers[0][1]
        if path.stem.startswith("ack_"):
            key = ""
        elif key not in devices:
            r = await api.http.post(
                "/api/v1/devices", json={"name": path.stem[:100], "hl7_ids": [key]}, headers=admin
            )
            assert r.status_code == 201, r.text
            devices[key] = r.json()
            devices[key]["session"] = (await api.session([devices[key]["id"]]))["id"]
        async with MllpClient("127.0.0.1", mllp_port(hl7_server)) as c:
            ack = await c.send(data)
        code, text = ack_code(ack)
        expected_code, expected = READINGS[path.stem]
        assert code == expected_code, (path.stem, text)
        assert message.control_id.encode() in ack, path.stem
        if not key:
            continue
        device = devices[key]
        got: dict[int, dict[str, float]] = {}
        for ts_ms, *values in await hl7_server.sql(
            "SELECT ts_ms, hr, sbp, dbp, map, spo2, rr FROM readings WHERE device_id=:d",
            d=device["id"],
        ):
            got[int(ts_ms)] = {
                m: v
                for m, v in zip(("hr", "sbp", "dbp", "map", "spo2", "rr"), values, strict=True)
                if v is not None
            }
        for ts_ms, values in expected.items():
            assert got.get(ts_ms) == values, (path.stem, got)
        if path.stem in ALARMS:
            r = await api.http.get(
                f"/api/v1/sessions/{device['session']}/monitor-alarms", headers=await api.auth()
            )
            shown = [(a["label"], a["priority"], a["kind"]) for a in r.json()]
            assert ALARMS[path.stem] in shown, (path.stem, shown)
