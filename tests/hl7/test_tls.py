"""MLLP over TLS, and the sender allow-list."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from simulators.hl7 import Identity, ack_code, oru_r01

from tests.support import ADMIN, Api, ServerProcess, free_port, mllp_port


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"  # transport only


def _certificate(folder: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed (apt-get install openssl)")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def _send(port: int, payload: bytes, tls: ssl.SSLContext | None) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
    try:
        try:
            writer.write(b"\x0b" + payload + b"\x1c\x0d")
            await writer.drain()
        except ConnectionResetError:
            return b""  # refused before the message was even taken
        data = b""
        while b"\x1c\x0d" not in data:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 10)
            except ConnectionResetError:
                # closed with our message unread: the kernel answers RST, not FIN
                break
            if not chunk:
                break
            data += chunk
        return data
    finally:
        writer.close()


async def test_mllp_over_tls(new_server: Callable[..., ServerProcess], tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    server = new_server(
        VITALWATCH_MLLP_PORT=str(free_port()),
        VITALWATCH_MLLP_TLS_CERT=str(cert),
        VITALWATCH_MLLP_TLS_KEY=str(key),
    )
    server.start()
    api = Api(server.url)
    who = Identity("0012A5FFFE7711AA", "TLS^^1")
    r = await api.http.post(
        "/api/v1/devices",
        json={"name": "TLS", "hl7_ids": [who.eui64]},
        headers=await api.auth(ADMIN),
    )
    await api.session([r.json()["id"]])
    await api.aclose()
    tls = ssl.create_default_context(cafile=str(cert))
    message = oru_r01("ihe", who, "t1", int(time.time()) - 5, {"hr": 70})
    ack = await _send(mllp_port(server), message, tls)
    assert ack_code(ack.strip(b"\x0b\x1c\x0d"))[0] == "AA"
    assert await server.sql("SELECT hr FROM readings") == [(70.0,)]
    # Plain TCP to the TLS listener gets no ACK, and nothing is stored.
    assert await _send(mllp_port(server), message, None) == b""


async def test_senders_outside_the_allow_list_are_not_served(
    new_server: Callable[..., ServerProcess],
) -> None:
    server = new_server(VITALWATCH_MLLP_PORT=str(free_port()), VITALWATCH_MLLP_ALLOW="10.0.0.0/8")
    server.start()
    message = oru_r01("ihe", Identity("0012A5FFFE7711AB", "X^^1"), "a", int(time.time()), {})
    assert await _send(mllp_port(server), message, None) == b""  # closed, no ACK
    assert "mllp_sender_refused" in server.log_text()
