"""Raw HL7 over a real MLLP socket to a real server (SQLite and PostgreSQL): a
gateway's batch of several beds (each bed's values in its own session, each
message acknowledged), OBX-11 statuses (X, D, W not values; C replaces), and
every OBX row not stored listed in GET /api/v1/hl7/unmapped with why."""

from __future__ import annotations

import itertools
import time
from typing import Any

from simulators.hl7 import Identity, MllpClient, ack_code, acks_of, dtm, hl7_batch, oru_r01

from tests.support import ADMIN, Api, ServerProcess, mllp_port

_n = itertools.count(1)


def identity() -> Identity:
    k = next(_n)
    return Identity(f"0012A5FFFD{k:06X}", f"GW^^BED{k}")


async def bound(api: Api, hl7_ids: list[str]) -> dict[str, Any]:
    """A registered HL7 device in an active session."""
    r = await api.http.post(
        "/api/v1/devices",
        json={"name": f"Bed monitor {next(_n)}", "hl7_ids": hl7_ids},
        headers=await api.auth(ADMIN),
    )
    assert r.status_code == 201, r.text
    device = dict(r.json())
    await api.session([device["id"]])
    return device


async def rows(server: ServerProcess, device_id: int) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in await server.sql(
            "SELECT ts_ms, hr, spo2, rr FROM readings WHERE device_id=:d ORDER BY ts_ms, id",
            d=device_id,
        )
    ]


async def exchange(server: ServerProcess, payload: bytes) -> bytes:
    async with MllpClient("127.0.0.1", mllp_port(server)) as c:
        return await c.send(payload)


def segments(reply: bytes) -> list[list[str]]:
    return [s.decode().split("|") for s in reply.split(b"\r") if s]


async def unmapped(api: Api) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/hl7/unmapped", headers=await api.auth(ADMIN))
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_a_batch_of_two_beds_stores_each_in_its_own_session_and_acks_each(
    hl7_api: Api, hl7_server: ServerProcess
) -> None:
    a, b, stranger = identity(), identity(), identity()
    bed_a = await bound(hl7_api, [a.eui64])
    bed_b = await bound(hl7_api, [b.eui64])
    # The gateway's own address names a monitor: a bed of the batch that no
    # device has must still not land there (the address is the gateway's).
    by_address = await bound(hl7_api, ["127.0.0.1"])
    t = int(time.time()) - 60
    batch = hl7_batch(
        [
            oru_r01("ihe", a, "gwA1", t, {"hr": 71, "spo2": 96}),
            oru_r01("ihe", b, "gwB1", t, {"hr": 88, "spo2": 93}),
            oru_r01("ihe", stranger, "gwX1", t, {"hr": 120, "spo2": 85}),
        ],
        batch_id="B77",
        file_id="F77",
    )
    reply = await exchange(hl7_server, batch)
    segs = segments(reply)
    names = [s[0] for s in segs]
    assert names[:2] == ["FHS", "BHS"] and names[-2:] == ["BTS", "FTS"], names
    assert segs[0][11] == "F77" and segs[1][11] == "B77"  # FHS-12 / BHS-12: the reference
    assert segs[-2][1] == "3" and segs[-1][1] == "1"
    acks = acks_of(reply)
    assert [ack_code(x)[0] for x in acks] == ["AA", "AA", "AE"]
    assert [s[2] for s in segs if s[0] == "MSA"] == ["gwA1", "gwB1", "gwX1"]
    assert "unknown sender" in ack_code(acks[2])[1]
    assert await rows(hl7_server, bed_a["id"]) == [(t * 1000, 71.0, 96.0, None)]
    assert await rows(hl7_server, bed_b["id"]) == [(t * 1000, 88.0, 93.0, None)]
    assert await rows(hl7_server, by_address["id"]) == []
    # Resent whole (the ACK batch got lost): each message stored once.
    again = acks_of(await exchange(hl7_server, batch))
    assert [ack_code(x)[0] for x in again] == ["AA", "AA", "AE"]
    assert len(await rows(hl7_server, bed_a["id"])) == 1
    # Several MSH in one frame without a batch header: still one message each.
    bare = oru_r01("ihe", a, "gwA2", t + 5, {"hr": 72}) + oru_r01(
        "ihe", b, "gwB2", t + 5, {"hr": 89}
    )
    acks = acks_of(await exchange(hl7_server, bare))
    assert [ack_code(x)[0] for x in acks] == ["AA", "AA"]
    assert (await rows(hl7_server, bed_a["id"]))[-1] == ((t + 5) * 1000, 72.0, None, None)
    assert (await rows(hl7_server, bed_b["id"]))[-1] == ((t + 5) * 1000, 89.0, None, None)


def _message(who: Identity, control: str, obx: list[str]) -> bytes:
    """An ORU^R01 with these OBX rows after the MSH (OBX-18 names the monitor)."""
    segs = [f"MSH|^~\\&|VWSIM^{who.eui64}^EUI-64||||{dtm(time.time())}||ORU^R01|{control}|P|2.6"]
    segs += [f"{row}||||{who.eui64}^^{who.eui64}^EUI-64" for row in obx]
    return ("\r".join(segs) + "\r").encode()


def _obx(k: int, vt: str, code: str, value: str, unit: str, status: str, ts: float) -> str:
    return f"OBX|{k}|{vt}|{code}|1.{k}|{value}|{unit}|||||{status}|||{dtm(ts)}"


HR = "147842^MDC_ECG_HEART_RATE^MDC"
SPO2 = "150456^MDC_PULS_OXIM_SAT_O2^MDC"
RR = "151562^MDC_RESP_RATE^MDC"


async def test_obx_status_x_d_w_are_not_values_and_c_replaces(
    hl7_api: Api, hl7_server: ServerProcess
) -> None:
    who = identity()
    device = await bound(hl7_api, [who.eui64])
    t = int(time.time()) - 100
    messages = [
        # X: "results cannot be obtained", though OBX-5 carries a number
        _message(
            who,
            "s1",
            [
                _obx(1, "NM", HR, "70", "/min", "F", t),
                _obx(2, "NM", SPO2, "97", "%", "X", t),
                _obx(3, "NM", RR, "0", "/min", "X", t),
            ],
        ),
        _message(who, "s2", [_obx(1, "NM", HR, "75", "/min", "C", t)]),  # corrects 70
        _message(who, "s3", [_obx(1, "NM", SPO2, "95", "%", "F", t + 10)]),
        _message(who, "s4", [_obx(1, "NM", SPO2, "95", "%", "D", t + 10)]),  # deletes it
        _message(who, "s5", [_obx(1, "NM", RR, "14", "/min", "W", t + 20)]),  # wrong
        _message(  # a correction in the same message wins over the first value
            who,
            "s6",
            [
                _obx(1, "NM", HR, "80", "/min", "P", t + 30),
                _obx(2, "NM", HR, "82", "", "C", t + 30),
            ],
        ),
        _message(who, "s7", [_obx(1, "NM", RR, "12", "/min", "R", t + 40)]),
    ]
    async with MllpClient("127.0.0.1", mllp_port(hl7_server)) as c:
        acks = await c.send_many(messages)
    assert [ack_code(a)[0] for a in acks] == ["AA"] * len(messages), [ack_code(a) for a in acks]
    assert await rows(hl7_server, device["id"]) == [
        (t * 1000, 75.0, None, None),
        ((t + 30) * 1000, 82.0, None, None),
        ((t + 40) * 1000, None, None, 12.0),
    ]
    listed = {(u["code"], u["reason"]) for u in await unmapped(hl7_api)}
    assert ("150456", "status X: results cannot be obtained") in listed
    assert ("151562", "status X: results cannot be obtained") in listed
    assert ("150456", "status D: deleted") in listed
    assert ("151562", "status W: wrong") in listed


async def test_rows_not_stored_are_listed_with_why(hl7_api: Api, hl7_server: ServerProcess) -> None:
    who = identity()
    device = await bound(hl7_api, [who.eui64])
    t = int(time.time()) - 200
    spot_check = _message(  # vitals as ST rows with local codes, and a ">300"
        who,
        "st1",
        [
            _obx(1, "ST", "PULSE^Pulse^LOCAL", "72", "bpm", "F", t),
            _obx(2, "ST", "SAT^Saturation^LOCAL", "98", "%", "F", t),
            _obx(3, "NM", "BPS^Systolic^LOCAL", "118", "mmHg", "F", t),
            _obx(4, "NM", HR, ">300", "/min", "F", t),
        ],
    )
    reply = await exchange(hl7_server, spot_check)
    code, text = ack_code(reply)
    assert code == "AA" and "4 OBX rows not stored" in text and "/api/v1/hl7/unmapped" in text
    implausible = _message(who, "st2", [_obx(1, "NM", SPO2, "130", "%", "F", t + 1)])
    assert ack_code(await exchange(hl7_server, implausible))[0] == "AE"
    assert await rows(hl7_server, device["id"]) == []
    listed = {u["code"]: u for u in await unmapped(hl7_api)}
    assert listed["PULSE"]["reason"] == "not numeric (value type ST)"
    assert listed["PULSE"]["system"] == "LOCAL" and listed["PULSE"]["example"] == "72"
    assert listed["SAT"]["reason"] == "not numeric (value type ST)"
    assert listed["BPS"]["reason"] == "unmapped"
    by_reason = {(u["code"], u["reason"]): u for u in await unmapped(hl7_api)}
    assert by_reason[("147842", "not a number")]["example"] == ">300"
    assert by_reason[("150456", "implausible")]["example"] == "130"
