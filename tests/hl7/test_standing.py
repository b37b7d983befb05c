"""VITALWATCH_MONITOR_ALARM_STANDS_S: a server started with a short value drops
a monitor's own alarm (ORU^R40, sent by a real MLLP client) from the standing
list once no report of it came for that long, and a new report brings it back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.backends import new_database_url
from tests.support import (
    RR_HIGH,
    Api,
    ServerProcess,
    hl7_monitored,
    mllp_send,
    mllp_server,
    r40,
)

STANDS_S = 2.0


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"  # a setting read by the service, not by the database


@pytest.fixture(scope="module")
def short_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("stands")
    proc = mllp_server(
        workdir,
        new_database_url(backend, workdir),
        VITALWATCH_MONITOR_ALARM_STANDS_S=str(STANDS_S),
    )
    proc.create_users()
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
async def api(short_server: ServerProcess) -> AsyncIterator[Api]:
    client = Api(short_server.url)
    yield client
    await client.aclose()


async def test_a_shorter_stands_setting_drops_a_silent_monitor_alarm_sooner(
    api: Api, short_server: ServerProcess
) -> None:
    who, _, session = await hl7_monitored(api)
    sid = session["id"]

    async def standing() -> list[str]:
        r = await api.http.get("/api/v1/monitor-alarms", headers=await api.auth())
        assert r.status_code == 200, r.text
        return [a["message"] for a in r.json() if a["session_id"] == sid]

    await api.auth()  # signed in before the clock starts
    t = int(time.time()) - 10
    sent = time.monotonic()
    acks = await mllp_send(
        short_server, r40(who, "a1", t, "** RR High", "PM", "SP", "start", RR_HIGH, "rr", 33)
    )
    assert acks == ["AA"]
    assert await standing() == ["Monitor: ** RR High"]
    # No end was reported, no "continue" came: gone after STANDS_S, not after 10 min.
    await asyncio.sleep(sent + STANDS_S + 0.3 - time.monotonic())
    assert await standing() == []
    # A "continue" from the monitor: it stands again, for another STANDS_S.
    acks = await mllp_send(
        short_server, r40(who, "a2", t + 1, "** RR High", "PM", "SP", "continue", RR_HIGH)
    )
    assert acks == ["AA"]
    assert await standing() == ["Monitor: ** RR High"]
