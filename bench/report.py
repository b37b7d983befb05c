"""Benchmark: the session report (HTML, PDF) and the REMS form's PDF of a 3-hour session at 1 Hz.

Starts the real service (SQLite file), records one esketamine session of 3 h
of HR/SpO2/RR every second plus a cuff BP every 5 min (10,800 samples), a
dose in three parts, observations every 15 min, a note and the sign-off (the
clinic's and the nurse's profiles set), then times GET
/api/v1/sessions/{id}/report, /report.pdf and /rems-form.pdf over HTTP: median
and max of `--runs` requests each (the first one, which warms caches, reported
apart). The target: each PDF under 1 s (exit status 1 when a median is not).

    .venv/bin/python bench/report.py [--runs 7] [--hours 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.records.profiles import clinic_and_staff
from tests.support import Api, ServerProcess, iso, now_utc


async def _record(api: Api, hours: float) -> int:
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


async def main(runs: int, hours: float) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp))
        server.create_users()
        server.start()
        api = Api(server.url)
        try:
            sid = await _record(api, hours)
            h = await api.auth()
            print(f"session of {hours:g} h at 1 Hz ({int(hours * 3600)} samples), {runs} runs each")
            print(f"{'report':<8} {'first ms':>9} {'median ms':>10} {'max ms':>8} {'size kB':>8}")
            slow = []
            for name, path in (
                ("HTML", "report"),
                ("PDF", "report.pdf"),
                ("REMS PDF", "rems-form.pdf"),
            ):
                times, size = [], 0
                for _ in range(runs + 1):
                    t = time.perf_counter()
                    r = await api.http.get(f"/api/v1/sessions/{sid}/{path}", headers=h)
                    times.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, r.text
                    size = len(r.content)
                first, rest = times[0], times[1:]
                median = statistics.median(rest)
                print(
                    f"{name:<8} {first:>9.0f} {median:>10.0f} {max(rest):>8.0f} {size / 1024:>8.0f}"
                )
                if path.endswith(".pdf") and median >= 1000:
                    slow.append(name)
            print("target (each PDF under 1 s):", f"missed by {', '.join(slow)}" if slow else "met")
            return 1 if slow else 0
        finally:
            await api.aclose()
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--hours", type=float, default=3.0)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.runs, args.hours)))
