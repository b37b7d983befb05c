"""A real MLLP client against a real server (SQLite and PostgreSQL): every
message acknowledged once and in order, readings stored exactly, repeats once,
nothing of a refused message stored."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest
import websockets
from simulators.hl7 import DIALECTS, Identity, MllpClient, ack_code, oru_r01, oru_r40

from tests.support import ADMIN, Api, ServerProcess, mllp_port, wait_for

_n = itertools.count(1)


def identity() -> Identity:
    k = next(_n)
    return Identity(f"0012A5FFFE{k:06X}", f"ICU^^BED{k}")


@pytest.fixture
async def api(hl7_server: ServerProcess) -> Any:
    client = Api(hl7_server.url)
    yield client
    await client.aclose()


async def hl7_device(api: Api, hl7_ids: list[str], **extra: Any) -> dict[str, Any]:
    r = await api.http.post(
        "/api/v1/devices",
        json={"name": f"HL7 monitor {next(_n)}", "hl7_ids": hl7_ids, **extra},
        headers=await api.auth(ADMIN),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def monitored(api: Api, dialect: str = "ihe") -> tuple[Identity, dict[str, Any], int]:
    who = identity()
    device = await hl7_device(api, [who.hl7_id(dialect)])
    session = await api.session([device["id"]])
    return who, device, int(session["id"])


async def rows(server: ServerProcess, device_id: int) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in await server.sql(
            "SELECT ts_ms, hr, sbp, dbp, map, spo2, rr FROM readings WHERE device_id=:d "
            "ORDER BY ts_ms",
            d=device_id,
        )
    ]


def client(server: ServerProcess) -> MllpClient:
    return MllpClient("127.0.0.1", mllp_port(server))


async def test_every_dialect_stored_exactly_with_one_ack_per_message_in_order(
    api: Api, hl7_server: ServerProcess
) -> None:
    t0 = int(time.time()) - 600
    for dialect in DIALECTS:
        who, device, _ = await monitored(api, dialect)
        messages = [
            oru_r01(dialect, who, f"{dialect}-{k}", t0 + k, {"hr": 60 + k, "spo2": 90 + k % 10})
            for k in range(40)
        ]
        messages.append(
            oru_r01(dialect, who, f"{dialect}-bp", t0 + 50, {"sbp": 131, "dbp": 77, "map": 95})
        )
        async with client(hl7_server) as c:
            acks = await c.send_many(messages)
        assert [ack_code(a)[0] for a in acks] == ["AA"] * len(messages), (dialect, acks[:2])
        controls = [a.split(b"\r")[1].split(b"|")[2].decode() for a in acks]
        assert controls == [f"{dialect}-{k}" for k in range(40)] + [f"{dialect}-bp"]
        stored = await rows(hl7_server, device["id"])
        nan = None
        expected = [
            ((t0 + k) * 1000, 60.0 + k, nan, nan, nan, 90.0 + k % 10, nan) for k in range(40)
        ] + [((t0 + 50) * 1000, nan, 131.0, 77.0, 95.0, nan, nan)]
        assert stored == expected, dialect


async def test_a_resent_message_is_stored_once_and_a_restarted_counter_is_not_a_repeat(
    api: Api, hl7_server: ServerProcess
) -> None:
    who, device, _ = await monitored(api)
    t = int(time.time()) - 100
    message = oru_r01("ihe", who, "1", t, {"hr": 72})
    async with client(hl7_server) as c:
        acks = await c.send_many([message, message])
        acks.append(await c.send(message))
    for _ in range(2):  # one connection per message, as some senders do
        async with client(hl7_server) as c:
            acks.append(await c.send(message))
    assert [ack_code(a)[0] for a in acks] == ["AA"] * 5
    # The monitor restarted: control id 1 again, but a new observation.
    async with client(hl7_server) as c:
        assert ack_code(await c.send(oru_r01("ihe", who, "1", t + 5, {"hr": 75})))[0] == "AA"
    stored = await rows(hl7_server, device["id"])
    assert [(r[0], r[1]) for r in stored] == [(t * 1000, 72.0), ((t + 5) * 1000, 75.0)]


async def test_refused_messages_say_why_and_store_nothing(
    api: Api, hl7_server: ServerProcess
) -> None:
    who, device, _ = await monitored(api)
    free = identity()
    free_device = await hl7_device(api, [free.eui64])  # registered, in no session
    t = int(time.time()) - 50
    cases = [
        (oru_r01("ihe", who, "bad", t, {"hr": 70, "spo2": 130}), "AE", "SpO2 130 % is outside"),
        (oru_r01("ihe", who, "bp", t, {"sbp": 80, "dbp": 90}), "AE", "systolic must be above"),
        (
            oru_r01("ihe", who, "future", int(time.time()) + 3600, {"hr": 70}),
            "AE",
            "ahead of the service clock",
        ),
        (oru_r01("ihe", free, "x", t, {"hr": 70}), "AE", "no active session"),
        (oru_r01("ihe", identity(), "y", t, {"hr": 70}), "AE", "unknown sender"),
        (b"MSH|^~\\&|A||||20260101||ADT^A01|7|P|2.6\rPID|||1\r", "AR", "ADT^A01 is not handled"),
        (b"MSH|^~\\&|A||||20260101||ORU^R01|8|P|2.1\rOBX|1|NM|147842||70\r", "AR", "version 2.1"),
        (b"this is not HL7", "AR", "not an HL7 v2 message"),
    ]
    async with client(hl7_server) as c:
        acks = await c.send_many([m for m, _, _ in cases])
    for (_, code, why), a in zip(cases, acks, strict=True):
        got, text = ack_code(a)
        assert (got, why in text) == (code, True), text
        assert b"\rERR|" in a
    assert await rows(hl7_server, device["id"]) == []
    assert await rows(hl7_server, free_device["id"]) == []


async def test_segment_ends_encodings_and_sloppy_times(api: Api, hl7_server: ServerProcess) -> None:
    who, device, _ = await monitored(api)
    base = oru_r01("ihe", who, "crlf", 1_700_000_000, {"hr": 61})
    latin1 = (
        b"MSH|^~\\&|VWSIM^" + who.eui64.encode() + b"^EUI-64||||20231114221320||ORU^R01|l1|P|2.6"
        b"||||||8859/1\rPID|||1||M\xfcller^J\xf6rg\rOBR|1|||x|||20231114221321\r"
        b"OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||62|/min\r"
    )
    sloppy = (
        b"MSH|^~\\&|VWSIM^" + who.eui64.encode() + b"^EUI-64||||20231114221322000+0100||ORU^R01|"
        b"s1|P|2.6\rOBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||63|bpm|||||R|||"
        b"20231114 2213 23000+0100\r"
    )
    async with client(hl7_server) as c:
        acks = await c.send_many(
            [base.replace(b"\r", b"\r\n"), latin1.replace(b"\r", b"\n"), sloppy]
        )
    assert [ack_code(a)[0] for a in acks] == ["AA"] * 3
    stored = [(r[0], r[1]) for r in await rows(hl7_server, device["id"])]
    assert stored == [
        (1_699_996_403_000, 63.0),  # 17 digits, a stray space, +0100
        (1_700_000_000_000, 61.0),
        (1_700_000_001_000, 62.0),  # no offset: VITALWATCH_MLLP_TIMEZONE (UTC)
    ]


async def test_ecg_heart_rate_wins_over_the_pulse_rate(api: Api, hl7_server: ServerProcess) -> None:
    who, device, _ = await monitored(api)
    t = int(time.time()) - 30
    both = (
        oru_r01("ihe", who, "both", t, {"hr": 70})
        .replace(
            b"\r",
            b"\rOBX|9|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.3.1|88|264864^MDC_DIM_BEAT_PER_MIN^MDC\r",
            4,
        )
        .replace(b"\r\r", b"\r")
    )
    pulse_only = b"".join(
        [
            b"MSH|^~\\&|VWSIM^",
            who.eui64.encode(),
            b"^EUI-64||||20200101||ORU^R01|p|P|2.6\r",
            b"OBX|1|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1|90|/min|||||R|||",
            str(t + 100).encode(),  # not a valid time: falls back to MSH-7
            b"\r",
        ]
    )
    async with client(hl7_server) as c:
        assert ack_code(await c.send(both))[0] == "AA"
    assert [r[1] for r in await rows(hl7_server, device["id"])] == [70.0]
    await asyncio.sleep(0)  # an oximeter-only monitor's pulse rate is its HR
    other, other_device, _ = await monitored(api)
    async with client(hl7_server) as c:
        ack = await c.send(pulse_only.replace(who.eui64.encode(), other.eui64.encode()))
    assert ack_code(ack)[0] == "AA"
    assert [r[1] for r in await rows(hl7_server, other_device["id"])] == [90.0]


async def test_oversized_frames_and_garbage(api: Api, hl7_server: ServerProcess) -> None:
    who, device, _ = await monitored(api)
    t = int(time.time()) - 20
    huge = oru_r01("ihe", who, "huge", t, {"hr": 70}) + b"NTE|1||" + b"x" * (1 << 20) + b"\r"
    reader, writer = await asyncio.open_connection("127.0.0.1", mllp_port(hl7_server))
    c = MllpClient("127.0.0.1", 0)
    c._reader, c._writer = reader, writer
    writer.write(b"\r\n  \r\n")  # line ends between frames are fine
    c.write(huge)
    c.write(oru_r01("ihe", who, "after", t + 1, {"hr": 71}))
    await writer.drain()
    first, second = await c.read_ack(), await c.read_ack()
    assert ack_code(first)[0] == "AR" and "over" in ack_code(first)[1]
    assert b"|huge|" in first  # named by its control id
    assert ack_code(second)[0] == "AA"
    writer.write(b"GET / HTTP/1.1\r\n" * 200)  # not MLLP at all: the connection is closed
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()
    assert [r[1] for r in await rows(hl7_server, device["id"])] == [71.0]


async def test_unknown_sender_is_listed_and_registered_in_one_step(
    api: Api, hl7_server: ServerProcess
) -> None:
    who = identity()
    t = int(time.time()) - 10
    async with client(hl7_server) as c:
        ack = await c.send(oru_r01("philips", who, "u1", t, {"hr": 66, "spo2": 96}, "PID-9"))
    assert ack_code(ack)[0] == "AE"
    admin = await api.auth(ADMIN)

    async def listed() -> Any:
        r = await api.http.get("/api/v1/hl7/unassigned", headers=admin)
        return next((s for s in r.json() if s["identifier"] == who.bed), None)

    sender = await wait_for(listed)
    assert {"kind": "bed", "value": who.bed} in sender["identifiers"]
    assert sender["messages"] == 1 and sender["address"] == "127.0.0.1"
    codes = {o["code"]: o for o in sender["sample"]["observations"]}
    assert codes["0002-4182^HR^MDIL"]["metric"] == "hr"
    assert "PID-9" not in json.dumps(sender)  # no patient data in the list
    nurse = await api.auth()
    r = await api.http.get("/api/v1/hl7/unassigned", headers=nurse)
    assert r.status_code == 403
    r = await api.http.post(
        f"/api/v1/hl7/unassigned/{sender['id']}/register", json={"name": "Bed 3"}, headers=admin
    )
    assert r.status_code == 201, r.text
    device = r.json()
    assert device["hl7_ids"] == [who.bed]
    assert await listed() is None
    await api.session([device["id"]])
    async with client(hl7_server) as c:
        ack = await c.send(oru_r01("philips", who, "u2", t + 1, {"hr": 67}))
    assert ack_code(ack)[0] == "AA"
    assert [r[1] for r in await rows(hl7_server, device["id"])] == [67.0]
    # An identifier is one device's: a second claim is a 409 naming the holder.
    r = await api.http.post(
        "/api/v1/devices", json={"name": "dup", "hl7_ids": [who.bed.lower()]}, headers=admin
    )
    assert r.status_code == 409 and str(device["id"]) in r.text
    r = await api.http.patch(
        f"/api/v1/devices/{device['id']}",
        json={"hl7_ids": [who.bed, who.eui64], "hl7_timezone": "Europe/Berlin"},
        headers=admin,
    )
    assert r.status_code == 200 and r.json()["hl7_ids"] == [who.bed, who.eui64]
    r = await api.http.patch(
        f"/api/v1/devices/{device['id']}", json={"hl7_timezone": "Mars/Olympus"}, headers=admin
    )
    assert r.status_code == 422 and "unknown time zone" in r.text
    listed_devices = (await api.http.get("/api/v1/devices", headers=nurse)).json()
    assert next(d for d in listed_devices if d["id"] == device["id"])["hl7_ids"] == [
        who.bed,
        who.eui64,
    ]


async def test_monitor_alarms_reach_the_timeline_and_every_dashboard(
    api: Api, hl7_server: ServerProcess
) -> None:
    who, device, session_id = await monitored(api, "mindray")
    token = await api.token(("nurse", "nurse-password-1"))
    ws = await websockets.connect(f"{hl7_server.ws_url}?token={token}", open_timeout=10)
    t = int(time.time()) - 5
    start = oru_r40(
        "mindray",
        who,
        "a1",
        t,
        "** RR High",
        "PM",
        "SP",
        "start",
        "196648^MDC_EVT_HI^MDC",
        "rr",
        33,
    )
    again = oru_r40(
        "mindray",
        who,
        "a2",
        t + 2,
        "** RR High",
        "PM",
        "SP",
        "continue",
        "196648^MDC_EVT_HI^MDC",
        "rr",
        34,
    )
    lead = oru_r40(
        "mindray", who, "a3", t + 3, "Lead off", "PL", "ST", "start", "196680^MDC_EVT_LEAD_OFF^MDC"
    )
    end = oru_r40(
        "mindray",
        who,
        "a4",
        t + 4,
        "** RR High",
        "PM",
        "SP",
        "end",
        "196648^MDC_EVT_HI^MDC",
        "rr",
        20,
    )
    try:
        async with client(hl7_server) as c:
            acks = await c.send_many([start, start, again, lead, end])
        assert [ack_code(a)[0] for a in acks] == ["AA"] * 5
        seen = []
        deadline = time.monotonic() + 10
        while len(seen) < 3 and time.monotonic() < deadline:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if msg["type"] == "monitor_alarm":
                seen.append(msg["monitor_alarm"])
    finally:
        await ws.close()
    assert [(a["message"], a["priority"], a["kind"], a["active"]) for a in seen] == [
        ("Monitor: ** RR High", "medium", "physiological", True),
        ("Monitor: Lead off", "low", "technical", True),
        ("Monitor: ** RR High (ended)", "medium", "physiological", False),
    ]
    assert seen[0]["device_name"] == device["name"] and seen[0]["value"] == 33
    nurse = await api.auth()
    events = (await api.http.get(f"/api/v1/sessions/{session_id}/events", headers=nurse)).json()
    assert [e["detail"] for e in events if e["kind"] == "monitor_alarm"] == [
        "Monitor: ** RR High (patient alarm)",
        "Monitor: Lead off (technical alarm)",
        "Monitor: ** RR High (patient alarm, ended)",
    ]
    listed = (
        await api.http.get(f"/api/v1/sessions/{session_id}/monitor-alarms", headers=nurse)
    ).json()
    assert [a["label"] for a in listed] == ["** RR High", "Lead off", "** RR High"]
    stored = await hl7_server.sql(
        "SELECT count(*) FROM monitor_alarms WHERE device_id=:d", d=device["id"]
    )
    assert stored[0][0] == 4  # the resent start once; the continue kept, not shown
    alarms = (await api.http.get(f"/api/v1/alarms?session_id={session_id}", headers=nurse)).json()
    assert alarms == []  # the monitor's alarms never drive VitalWatch's rules


async def test_a_patient_id_that_is_not_the_sessions_patient_warns_the_nurse(
    api: Api, hl7_server: ServerProcess
) -> None:
    who, device, session_id = await monitored(api)
    ref = (await api.http.get(f"/api/v1/sessions/{session_id}", headers=await api.auth())).json()[
        "patient"
    ]["ref"]
    t = int(time.time()) - 10
    async with client(hl7_server) as c:
        acks = await c.send_many(
            [
                oru_r01("ihe", who, "p1", t, {"hr": 70}, ref),
                oru_r01("ihe", who, "p2", t + 1, {"hr": 70}, "OTHER-123"),
                oru_r01("ihe", who, "p3", t + 2, {"hr": 70}, '""'),
            ]
        )
    assert [ack_code(a)[0] for a in acks] == ["AA"] * 3
    assert len(await rows(hl7_server, device["id"])) == 3  # bound by device, never by PID

    async def warnings() -> list[Any]:
        r = await api.http.get(f"/api/v1/sessions/{session_id}/events", headers=await api.auth())
        return [e for e in r.json() if e["kind"] == "monitor_warning"]

    found = await wait_for(warnings)
    assert len(found) == 1
    assert "OTHER-123" in found[0]["detail"] and ref in found[0]["detail"]
