"""What bench/report.py and bench/fhir.py both measure against: the real
service on a fresh SQLite file in a temporary directory, with one esketamine
session of `hours` of HR/SpO2/RR every second plus a cuff BP every 5 min, a
dose in three parts, observations every 15 min, a note and the sign-off (the
clinic's and the nurse's profiles set). One place starts and stops it."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.records.profiles import clinic_and_staff
from tests.support import Api, ServerProcess, iso, now_utc


@contextlib.asynccontextmanager
async def recorded_session(hours: float) -> AsyncIterator[tuple[ServerProcess, Api, int]]:
    """(the running server, a client of it, the recorded session's id); the
    server is stopped and its directory removed when the block ends."""
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp))
        server.create_users()
        server.start()
        api = Api(server.url)
        try:
            yield server, api, await record(api, hours)
        finally:
            await api.aclose()
            server.stop()


async def record(api: Api, hours: float) -> int:
    device = await api.device("Bench monitor")
    n = int(hours * 3600)
    start = now_utc() - timedelta(seconds=n + 5)
    r = await api.http.post(
        "/api/v1/sessions",
        json={
            "patient": {"ref": "BENCH-1", "display_name": "Bench Patient"},
            "protocol": "esketamine-in",
            "room": "Bench",
            "device_ids": [device["id"]],
            "started_at": iso(start),
        },
        headers=await api.auth(),
    )
    assert r.status_code == 201, r.text
    sid = int(r.json()["id"])
    for chunk in range(0, n, 2000):
        batch = []
        for i in range(chunk, min(n, chunk + 2000)):
            sample = {
                "ts": iso(start + timedelta(seconds=i)),
                "seq": i,
                "hr": 72 + (i % 40) / 4,
                "spo2": 97 + (i % 3),
                "rr": 14 + (i % 5),
            }
            if i % 300 == 0:
                sample.update(sbp=122 + (i % 1800) / 60, dbp=80 + (i % 900) / 60)
            batch.append(sample)
        assert (await api.post(device["token"], batch)).status_code == 202
    h = await api.auth()
    await clinic_and_staff(api)
    for part in range(3):  # 3 x 28 mg, 5 min apart
        r = await api.http.post(
            f"/api/v1/sessions/{sid}/events",
            json={
                "kind": "dose",
                "ts": iso(start + timedelta(minutes=10 + 5 * part)),
                "dose": {"amount": 28, "lot_number": "BENCH"},
                "override_reason": "bench: checklist not answered",
            },
            headers=h,
        )
        assert r.status_code == 201, r.text
    for m in range(15, int(hours * 60), 15):
        await api.http.post(
            f"/api/v1/sessions/{sid}/observations",
            json={
                "ts": iso(start + timedelta(minutes=m)),
                "moass": 5 if m > 60 else 4,
                "dissociation": "mild" if m < 60 else "none",
            },
            headers=h,
        )
    await api.http.post(
        f"/api/v1/sessions/{sid}/events", json={"kind": "note", "detail": "bench"}, headers=h
    )
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/discharge",
        json={"left_with": "Bench", "note": "bench", "override_reason": "bench sign-off"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    return sid
