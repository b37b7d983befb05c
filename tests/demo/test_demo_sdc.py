"""`vitalwatch demo --sdc 1`: room 1's monitor is a real sdc11073 provider on `lo`
(simulators.sdc), which the demo binds to the room's device through the
binding API; its live readings reach the dashboard over SDC, and a terminal's
Ctrl-C stops the demo, its service and the provider."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import time
from typing import Any

import httpx
import psutil
import pytest
import websockets

from tests.demo.conftest import staff_client, stopped_cleanly
from tests.sdc.conftest import require_multicast
from tests.support import free_port, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.servers]


async def test_an_sdc_room_reaches_the_dashboard_and_ctrl_c_stops_everything(
    demo_factory: Any,
) -> None:
    require_multicast()
    # a discovery port of its own: no other test's (or demo's) providers on it
    discovery = {"VITALWATCH_SDC_DISCOVERY_PORT": str(free_port())}
    demo = demo_factory(free_port(), "--sdc", "1", by_env=False, env=discovery)
    client = await staff_client(demo)  # six rooms open, their history posted
    live_ms = int(time.time() * 1000)  # readings measured after this are the live part's
    try:
        assert "Room 1: IEEE 11073 SDC monitors on lo" in demo.output()
        providers = [p for p in demo.descendants() if "simulators.sdc" in p.cmdline()]
        assert len(providers) == 1 and "--serial" in providers[0].cmdline()
        sessions = (await client.get("/api/v1/sessions", params={"status": "active"})).json()
        room1 = next(s["id"] for s in sessions if s["room"] == "Room 1")
        token = client.headers["Authorization"].removeprefix("Bearer ")
        ws_url = demo.url.replace("http", "ws", 1) + "/api/v1/ws"
        async with websockets.connect(ws_url, open_timeout=10) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))

            async def live_reading() -> dict[str, Any] | None:
                """Room 1's item of a vitals frame, measured in the live part."""
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if msg["type"] != "vitals":
                    return None
                mine = [i for i in msg["items"] if i["session_id"] == room1]
                return mine[0] if mine and mine[0]["ts_ms"] > live_ms + 1000 else None

            item = await wait_for(live_reading, timeout=60, interval=0)
        assert 30 <= item.get("hr", 0) <= 200 and 80 <= item.get("spo2", 0) <= 100, item
    finally:
        await client.aclose()
    os.killpg(demo.proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    stopped_cleanly(demo, within_s=25)
    with sqlite3.connect(demo.folder / "vitalwatch.db") as db:
        (device,) = db.execute(
            "SELECT device_id FROM session_devices WHERE session_id = ?", (room1,)
        ).fetchone()
        bound = db.execute("SELECT epr, device_id FROM sdc_bindings").fetchall()
        audited = db.execute(
            "SELECT actor_name, entity_id FROM audit_log WHERE action = 'sdc.bind'"
        ).fetchall()
    assert [d for _, d in bound] == [device], bound  # bound by the demo, as an admin binds
    assert audited == [("demo-admin", device)]
    with pytest.raises(httpx.ConnectError):
        httpx.get(demo.url + "/readyz", timeout=2)


async def test_more_sdc_rooms_than_rooms_is_said_plainly(demo_factory: Any) -> None:
    demo = demo_factory(free_port(), "--sdc", "3", "--patients", "2", by_env=False)
    demo.proc.wait(30)
    out = demo.output()
    assert demo.proc.returncode == 1, out
    assert "--sdc 3: the demo has only 2 rooms (--patients)" in out
    assert "Traceback" not in out


async def test_a_killed_demo_takes_its_sdc_monitor_along(demo_factory: Any) -> None:
    """SIGKILL gives the demo no chance to stop anything: the service dies with
    it (its parent-death signal), the SDC monitor when its stdin closes."""
    require_multicast()
    discovery = {"VITALWATCH_SDC_DISCOVERY_PORT": str(free_port())}
    demo = demo_factory(free_port(), "--sdc", "1", by_env=False, env=discovery)
    client = await staff_client(demo)
    await client.aclose()
    children = demo.descendants()
    assert any("simulators.sdc" in p.cmdline() for p in children)
    demo.proc.kill()
    demo.proc.wait()
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, f"left running: {[p.cmdline() for p in alive]}"
