"""VITALWATCH_MONITOR_ALARM_STANDS_S: a server started with a short value drops
a monitor's own alarm (ORU^R40, sent by a real MLLP client) from the standing
list once no report of it came for that long, and a new report brings it back."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.support import RR_HIGH, Api, ServerProcess, hl7_monitored, mllp_send, r40

STANDS_S = 2.0


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"  # a setting read by the service, not by the database


@pytest.fixture(scope="module")
def hl7_env() -> dict[str, str]:
    return {"VITALWATCH_MONITOR_ALARM_STANDS_S": str(STANDS_S)}


async def test_a_shorter_stands_setting_drops_a_silent_monitor_alarm_sooner(
    hl7_api: Api, hl7_server: ServerProcess
) -> None:
    who, _, session = await hl7_monitored(hl7_api)
    sid = session["id"]

    async def standing() -> list[str]:
        r = await hl7_api.http.get("/api/v1/monitor-alarms", headers=await hl7_api.auth())
        assert r.status_code == 200, r.text
        return [a["message"] for a in r.json() if a["session_id"] == sid]

    await hl7_api.auth()  # signed in before the clock starts
    t = int(time.time()) - 10
    sent = time.monotonic()
    acks = await mllp_send(
        hl7_server, r40(who, "a1", t, "** RR High", "PM", "SP", "start", RR_HIGH, "rr", 33)
    )
    assert acks == ["AA"]
    assert await standing() == ["Monitor: ** RR High"]
    # No end was reported, no "continue" came: gone after STANDS_S, not after 10 min.
    await asyncio.sleep(sent + STANDS_S + 0.3 - time.monotonic())
    assert await standing() == []
    # A "continue" from the monitor: it stands again, for another STANDS_S.
    acks = await mllp_send(
        hl7_server, r40(who, "a2", t + 1, "** RR High", "PM", "SP", "continue", RR_HIGH)
    )
    assert acks == ["AA"]
    assert await standing() == ["Monitor: ** RR High"]
