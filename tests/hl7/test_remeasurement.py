"""A re-measurement over a real MLLP socket: an ORU^R01 whose observation time is
one already stored for the monitor, with other values, is neither a retry (it
would be a duplicate) nor a correction (OBX-11 C): it is answered AE, the ACK
names the time and both values, and nothing of that message is stored."""

from __future__ import annotations

import time
from typing import Any

from simulators.hl7 import MllpClient, ack_code, oru_r01

from tests.support import Api, ServerProcess, hl7_monitored, mllp_port


async def _stored(server: ServerProcess, device_id: int) -> list[tuple[Any, ...]]:
    rows = await server.sql(
        "SELECT ts_ms, hr, spo2, sbp FROM readings WHERE device_id=:d ORDER BY ts_ms, seq",
        d=device_id,
    )
    return [tuple(r) for r in rows]


async def test_a_remeasurement_is_refused_naming_the_conflict_and_stores_nothing(
    hl7_api: Api, hl7_server: ServerProcess
) -> None:
    who, device, _ = await hl7_monitored(hl7_api)
    t = int(time.time()) - 120
    first = oru_r01("ihe", who, "m-1", t, {"hr": 72, "spo2": 97})
    # the same observation time with another heart rate, as the same message
    # (control id) and as a new one; each also carries a BP measured later
    remeasured = {"hr": 80, "spo2": 97, "sbp": 121, "dbp": 79}
    again = oru_r01("ihe", who, "m-1", t, remeasured, bp_ts=t + 30)
    later = oru_r01("ihe", who, "m-2", t, remeasured, bp_ts=t + 30)
    async with MllpClient("127.0.0.1", mllp_port(hl7_server)) as c:
        assert ack_code(await c.send(first))[0] == "AA"
        stored = await _stored(hl7_server, device["id"])
        assert stored == [(t * 1000, 72.0, 97.0, None)]
        for message in (again, later):
            code, text = ack_code(await c.send(message))
            assert code == "AE", text
            stamp = time.strftime("%H:%M:%S", time.gmtime(t))
            assert stamp in text and "HR" in text and "72" in text and "80" in text, text
            assert "nothing of this message was stored" in text, text
    assert await _stored(hl7_server, device["id"]) == stored
