"""Fuzz the MLLP listener (hypothesis): whatever bytes arrive, the service never
crashes or hangs, and a message is stored whole or not at all."""

from __future__ import annotations

import itertools
import math
import re
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simulators.hl7 import ack_code

from tests.support import ADMIN, ServerProcess, mllp_port

EUI = "0012A5FFFEF0F0F0"
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


@pytest.fixture(scope="module")
def bound(hl7_server: ServerProcess) -> Iterator[int]:
    """A registered HL7 device in an active session: its id."""
    with httpx.Client(base_url=hl7_server.url, timeout=30) as http:
        token = http.post(
            "/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        device = http.post(
            "/api/v1/devices", json={"name": "Fuzz", "hl7_ids": [EUI]}, headers=auth
        ).json()
        r = http.post(
            "/api/v1/sessions",
            json={"patient": {"ref": "FUZZ-1"}, "protocol": "custom", "device_ids": [device["id"]]},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        yield int(device["id"])


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


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(st.one_of(st.binary(max_size=300), FRAMING, st.just(b"MSH|^~\\&|")), max_size=12)
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


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    obx=st.lists(st.tuples(TYPE, CODE, VALUE, UNIT, st.integers(0, 3)), min_size=1, max_size=6),
    segment_end=st.sampled_from(["\r", "\n", "\r\n"]),
)
def test_a_message_is_stored_whole_or_not_at_all(
    hl7_server: ServerProcess,
    bound: int,
    obx: list[tuple[str, str, str, str, int]],
    segment_end: str,
) -> None:
    """OBX rows at up to four different times (four sample rows): after the ACK,
    either AA and every row, or AE/AR and none."""
    port = mllp_port(hl7_server)
    k = next(_ids)
    base = 1_500_000_000 + k * 10  # a window of its own
    times = [time.strftime("%Y%m%d%H%M%S", time.gmtime(base + dt)) + "+0000" for dt in range(4)]
    segs = [f"MSH|^~\\&|F^{EUI}^EUI-64||||{times[0]}||ORU^R01^ORU_R01|fz{k}|P|2.6"]
    segs += [
        f"OBX|{i}|{vt}|{code}|1.{i}|{value}|{unit}|||||R|||{times[at]}"
        for i, (vt, code, value, unit, at) in enumerate(obx, 1)
    ]
    payload = (segment_end.join(segs) + segment_end).encode()
    acks = _exchange(port, b"\x0b" + payload + b"\x1c\x0d")
    assert len(acks) == 2, acks
    code, text = ack_code(acks[0])
    rows = {
        int(r[0]) // 1000 - base
        for r in asyncio_run(
            hl7_server.sql(
                "SELECT ts_ms FROM readings WHERE device_id=:d AND ts_ms >= :a AND ts_ms < :b",
                d=bound,
                a=base * 1000,
                b=(base + 10) * 1000,
            )
        )
    }
    expect_code, expect_rows = _oracle(obx)
    assert (code, rows) == (expect_code, expect_rows), text


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


def _oracle(obx: list[tuple[str, str, str, str, int]]) -> tuple[str, set[int]]:
    """What the contract says: numeric rows of a known metric in a unit of its kind
    are stored; one implausible value refuses the whole message."""
    rows: set[int] = set()
    for vt, code, value, unit, at in obx:
        if vt not in ("NM", "") or code not in _METRIC or not _NUMBER.fullmatch(value.strip()):
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
