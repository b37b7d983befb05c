"""The ward as two nurses met it (issue 27): one room in each state the station
must tell apart from 3 m, for tests/browser/test_station_nurses.py."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tests.support import Api, iso, now_utc, samples

VIEWPORTS = [(1920, 1080), (1280, 720), (768, 1024)]


@dataclass
class NursesWard:
    """Rooms by what they show; `monitors` keep sending while the tests look."""

    acked: dict[str, Any]  # a high alarm (HR 152, BP 188/120), acknowledged
    unanswered: dict[str, Any]  # a high alarm (SpO2 84), nobody has answered
    off: dict[str, Any]  # SpO2 alarms switched off, values normal
    typed: dict[str, Any]  # no monitor, values typed in (HR 84, BP 168/100)
    medium: dict[str, Any]  # HR 130
    calm: dict[str, Any]  # all normal
    oldbp: dict[str, Any]  # the cuff measured 5 min ago, HR and SpO2 live
    monitors: list[tuple[str, dict[str, float]]] = field(default_factory=list)

    @property
    def rooms(self) -> list[dict[str, Any]]:
        return [
            self.acked,
            self.unanswered,
            self.off,
            self.typed,
            self.medium,
            self.calm,
            self.oldbp,
        ]


async def keep_sending(api: Api, monitors: list[tuple[str, dict[str, float]]]) -> None:
    """The monitors go on sending their values, twice a second."""
    seq = itertools.count(10_000)
    while True:
        ts = iso(now_utc())
        await asyncio.gather(
            *(api.post(token, [{"ts": ts, "seq": next(seq), **v}]) for token, v in monitors)
        )
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def sending(api: Api, monitors: list[tuple[str, dict[str, float]]]) -> AsyncIterator[None]:
    """`keep_sending` while the block runs (a module's ward while its tests look)."""
    task = asyncio.create_task(keep_sending(api, monitors))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def alarms_of(api: Api, session_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(
        "/api/v1/alarms", params={"session_id": session_id}, headers=await api.auth()
    )
    return list(r.json())


async def make_ward(api: Api) -> NursesWard:
    t0 = now_utc() - timedelta(seconds=25)
    monitors: list[tuple[str, dict[str, float]]] = []
    rooms: dict[str, dict[str, Any]] = {}
    values = {
        "acked": {"hr": 152, "spo2": 97, "rr": 14, "sbp": 188, "dbp": 120},
        "unanswered": {"hr": 80, "spo2": 84, "rr": 14, "sbp": 122, "dbp": 78},
        "off": {"hr": 76, "spo2": 97, "rr": 14, "sbp": 118, "dbp": 76},
        "medium": {"hr": 130, "spo2": 97, "rr": 14, "sbp": 124, "dbp": 80},
        "calm": {"hr": 68, "spo2": 98, "rr": 12, "sbp": 116, "dbp": 74},
    }
    for name, v in values.items():
        device = await api.device()
        session = await api.session([device["id"]], room=f"Room {name}")
        r = await api.post(device["token"], samples(t0, 22, **v))
        assert r.status_code == 202, r.text
        monitors.append((device["token"], v))
        rooms[name] = session
    device = await api.device()
    rooms["oldbp"] = await api.session([device["id"]], room="Room oldbp")
    cuff = now_utc() - timedelta(minutes=5)
    r = await api.post(device["token"], [{"ts": iso(cuff), "seq": 0, "sbp": 126, "dbp": 82}])
    assert r.status_code == 202, r.text
    live = {"hr": 104, "spo2": 96, "rr": 15}
    r = await api.post(device["token"], samples(t0, 22, seq0=1, **live))
    assert r.status_code == 202, r.text
    monitors.append((device["token"], live))
    rooms["typed"] = await api.session([], room="Room typed")
    r = await api.http.post(
        f"/api/v1/sessions/{rooms['typed']['id']}/readings",
        json={"hr": 84, "sbp": 168, "dbp": 100, "spo2": 96, "rr": 16},
        headers=await api.auth(),
    )
    assert r.status_code == 201, r.text
    r = await api.http.patch(
        f"/api/v1/sessions/{rooms['off']['id']}/thresholds",
        json={"spo2": {"low": None, "critical_low": None}, "reason": "probe keeps slipping"},
        headers=await api.auth(),
    )
    assert r.status_code == 200, r.text
    for alarm in await alarms_of(api, rooms["acked"]["id"]):
        r = await api.http.post(f"/api/v1/alarms/{alarm['id']}/ack", headers=await api.auth())
        assert r.status_code == 200, r.text
    return NursesWard(**rooms, monitors=monitors)
