"""Fuzz the MLLP listener (hypothesis): whatever bytes arrive, batches included,
the service never crashes or hangs, and a message is stored whole or not at
all; each message of a batch on its own, answered in one ACK batch."""

from __future__ import annotations

import itertools
import math
import re
import socket
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simulators.hl7 import ack_code, acks_of, hl7_batch

from tests.support import ADMIN, ServerProcess, mllp_port

EUI = "0012A5FFFEF0F0F0"
OTHER_EUI = "0012A5FFFEF0F0F1"  # a second bed of the gateway
UNKNOWN_EUI = "0012A5FFFEF0F0F2"  # a bed no device has
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


def _bind(server: ServerProcess, eui: str, ref: str) -> int:
    """A registered HL7 device in an active session: its id."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        token = http.post(
            "/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        device = http.post(
            "/api/v1/devices", json={"name": f"Fuzz {ref}", "hl7_ids": [eui]}, headers=auth
        ).json()
        r = http.post(
            "/api/v1/sessions",
            json={"patient": {"ref": ref}, "protocol": "custom", "device_ids": [device["id"]]},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        return int(device["id"])


@pytest.fixture(scope="module")
def bound(hl7_server: ServerProcess) -> int:
    return _bind(hl7_server, EUI, "FUZZ-1")


@pytest.fixture(scope="module")
def other(hl7_server: ServerProcess) -> int:
    return _bind(hl7_server, OTHER_EUI, "FUZZ-2")


def _exchange(port: int, data: bytes, timeout: float = 15.0) -> list[bytes]:
    """Send raw bytes then a probe; the ACK frames received up to the probe's (or
    until the service closes the connection)."""
    probe_id = f"probe{next(_ids)}"
    probe = f"MSH|^~\\&|P||||20200101||ORU^R01|{probe_id}|P|2.6\r".encode()
    acks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data + b"\x0b" + probe + b"\x1c\x0d")
        buffer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            buffer += chunk
            while b"\x1c\x0d" in buffer:
                frame, buffer = buffer.split(b"\x1c\x0d", 1)
                acks.append(frame[frame.find(b"\x0b") + 1 :])
                if f"|{probe_id}|".encode() in acks[-1]:
                    return acks
        else:
            raise AssertionError("the service hung: no answer within the timeout")
    return acks


def _alive(port: int) -> None:
    acks = _exchange(port, b"")
    assert acks and ack_code(acks[-1])[0] == "AE", acks  # unknown sender: answered


FRAMING = st.sampled_from([b"\x0b", b"\x1c", b"\x0d", b"\x1c\x0d", b"\x0b\x1c\x0d", b"\n", b"|"])
#: Batch segments and whole message heads, so frames hold batches, half batches
#: and several messages.
BATCH_PIECES = st.sampled_from(
    [
        b"FHS|^~\\&|GW||||20200101||||F1\r",
        b"BHS|^~\\&|GW||||20200101||||B1\r",
        b"BTS|1\r",
        b"FTS|1\r",
        b"BHS|\r",
        b"FHS\r",
        b"\rMSH|^~\\&|F^" + EUI.encode() + b"^EUI-64||||20200101||ORU^R01|m|P|2.6\r",
        b"OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||70|/min|||||X\r",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(
        st.one_of(st.binary(max_size=300), FRAMING, BATCH_PIECES, st.just(b"MSH|^~\\&|")),
        max_size=12,
    )
)
def test_raw_bytes_never_crash_or_hang_the_listener(
    hl7_server: ServerProcess, parts: list[bytes]
) -> None:
    port = mllp_port(hl7_server)
    _exchange(port, b"".join(parts))
    _alive(port)


VALUE = st.one_of(
    st.integers(min_value=-50, max_value=400).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet="0123456789.-+eE x", max_size=8),
    st.just(""),
)
CODE = st.sampled_from(
    [
        "147842^MDC_ECG_HEART_RATE^MDC",
        "150456^MDC_PULS_OXIM_SAT_O2^MDC",
        "151562^MDC_RESP_RATE^MDC",
        "150021^MDC_PRESS_BLD_NONINV_SYS^MDC",
        "999999^UNKNOWN^MDC",
        "0002-4182^HR^MDIL",
        "",
    ]
)
UNIT = st.sampled_from(["", "/min", "%", "mmHg", "kPa", "264864^MDC_DIM_BEAT_PER_MIN^MDC", "cm"])
TYPE = st.sampled_from(["NM", "NM", "ST", "NA", ""])
STATUS = st.sampled_from(["R", "R", "F", "P", "C", "", "X", "D", "W", "I", "Q"])


Row = tuple[str, str, str, str, str, int]  # type, code, value, unit, OBX-11, which time
ROW = st.tuples(TYPE, CODE, VALUE, UNIT, STATUS, st.integers(0, 3))
ROWS = st.lists(ROW, max_size=6)


def _message(eui: str, rows: list[Row], segment_end: str = "\r") -> tuple[bytes, str, int]:
    """An ORU^R01 of `eui` with OBX rows at up to four times in a window of its
    own: (payload, control id, the window's first second)."""
    k = next(_ids)
    base = 1_500_000_000 + k * 10
    times = [time.strftime("%Y%m%d%H%M%S", time.gmtime(base + dt)) + "+0000" for dt in range(4)]
    segs = [f"MSH|^~\\&|F^{eui}^EUI-64||||{times[0]}||ORU^R01^ORU_R01|fz{k}|P|2.6"]
    segs += [
        f"OBX|{i}|{vt}|{code}|1.{i}|{value}|{unit}|||||{status}|||{times[at]}"
        for i, (vt, code, value, unit, status, at) in enumerate(rows, 1)
    ]
    return (segment_end.join(segs) + segment_end).encode(), f"fz{k}", base


def _stored(server: ServerProcess, device_id: int, base: int) -> set[int]:
    """Which of a window's four times hold a sample of the device."""
    return {
        int(r[0]) // 1000 - base
        for r in asyncio_run(
            server.sql(
                "SELECT ts_ms FROM readings WHERE device_id=:d AND ts_ms >= :a AND ts_ms < :b",
                d=device_id,
                a=base * 1000,
                b=(base + 10) * 1000,
            )
        )
    }


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    obx=st.lists(ROW, min_size=1, max_size=6),
    segment_end=st.sampled_from(["\r", "\n", "\r\n"]),
)
def test_a_message_is_stored_whole_or_not_at_all(
    hl7_server: ServerProcess,
    bound: int,
    obx: list[Row],
    segment_end: str,
) -> None:
    """OBX rows at up to four different times (four sample rows): after the ACK,
    either AA and every row, or AE/AR and none."""
    payload, _, base = _message(EUI, obx, segment_end)
    acks = _exchange(mllp_port(hl7_server), b"\x0b" + payload + b"\x1c\x0d")
    assert len(acks) == 2, acks
    code, text = ack_code(acks[0])
    assert (code, _stored(hl7_server, bound, base)) == _oracle(obx), text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    messages=st.lists(st.tuples(st.sampled_from([0, 1, 2]), ROWS), min_size=1, max_size=4),
    file=st.booleans(),
)
def test_each_message_of_a_batch_is_stored_and_acknowledged_on_its_own(
    hl7_server: ServerProcess,
    bound: int,
    other: int,
    messages: list[tuple[int, list[Row]]],
    file: bool,
) -> None:
    """A gateway's batch of up to four messages for two beds and one no device
    has: one ACK batch, one ACK per message in order; each message's rows in
    its own bed's session, whole or not at all; the unknown bed's nowhere."""
    euis = [EUI, OTHER_EUI, UNKNOWN_EUI]
    built = [(who, rows, *_message(euis[who], rows)) for who, rows in messages]
    batch = hl7_batch([b[2] for b in built], "fzB", "fzF" if file else None)
    frames = _exchange(mllp_port(hl7_server), b"\x0b" + batch + b"\x1c\x0d")
    assert len(frames) == 2, frames  # the ACK batch, then the probe's ACK
    reply = frames[0]
    assert reply.startswith(b"FHS|" if file else b"BHS|"), reply
    assert f"\rBTS|{len(built)}\r".encode() in reply
    acks = acks_of(reply)
    assert [a.split(b"\r")[1].split(b"|")[2].decode() for a in acks] == [b[3] for b in built]
    devices = [bound, other]
    for (who, rows, _, _, base), got in zip(built, acks, strict=True):
        code, text = ack_code(got)
        stored = [_stored(hl7_server, d, base) for d in devices]
        if who == 2:
            assert (code, stored) == ("AE", [set(), set()]), text
        else:
            expected = [set(), set()]
            expect_code, expected[who] = _oracle(rows)
            assert (code, stored) == (expect_code, expected), text


_METRIC = {
    "147842^MDC_ECG_HEART_RATE^MDC": ("hr", "rate", 20, 300),
    "0002-4182^HR^MDIL": ("hr", "rate", 20, 300),
    "150456^MDC_PULS_OXIM_SAT_O2^MDC": ("spo2", "percent", 50, 100),
    "151562^MDC_RESP_RATE^MDC": ("rr", "rate", 0, 80),
    "150021^MDC_PRESS_BLD_NONINV_SYS^MDC": ("sbp", "pressure", 40, 300),
}
_UNIT = {
    "/min": ("rate", 1.0),
    "264864^MDC_DIM_BEAT_PER_MIN^MDC": ("rate", 1.0),
    "%": ("percent", 1.0),
    "mmHg": ("pressure", 1.0),
    "kPa": ("pressure", 7.500617),
}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


_VALUE_STATUS = {"R", "F", "P", "C", ""}  # of STATUS: X, D, W, I and Q are not values


def _oracle(obx: list[Row]) -> tuple[str, set[int]]:
    """What the contract says: numeric rows of a known metric in a unit of its kind,
    with a status that is a value, are stored; one implausible value refuses the
    whole message."""
    rows: set[int] = set()
    for vt, code, value, unit, status, at in obx:
        if status not in _VALUE_STATUS or vt not in ("NM", "") or code not in _METRIC:
            continue
        if not _NUMBER.fullmatch(value.strip()):
            continue
        _, dimension, low, high = _METRIC[code]
        factor = 1.0
        if unit:
            if unit not in _UNIT or _UNIT[unit][0] != dimension:
                continue
            factor = _UNIT[unit][1]
        number = float(value) * factor
        if not math.isfinite(number) or not low <= number <= high:
            return "AE", set()
        rows.add(at)
    return "AA", rows


def asyncio_run(coro):  # type: ignore[no-untyped-def]
    import asyncio  # here: the hypothesis test bodies are synchronous

    return asyncio.run(coro)
