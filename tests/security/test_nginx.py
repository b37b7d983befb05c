"""The shipped nginx config in front of a real service: WebSockets pass, the
browser's Origin matches, and its access log has no query string or token."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.backends import REQUIRE_ALL
from tests.support import NURSE, ServerProcess, free_port

#: starts processes of its own (not through ServerProcess): not in `make check`
pytestmark = pytest.mark.servers

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


@pytest.fixture
def nginx(server: ServerProcess, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(exe).exists():
        message = "nginx not installed (apt-get install nginx)"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    access = tmp_path / "access.log"
    site = (
        CONF.read_text()
        .replace("server vitalwatch:8000", f"server 127.0.0.1:{server.port}")
        .replace("listen 80;", f"listen 127.0.0.1:{port};")
        .replace("access_log /dev/stdout", f"access_log {access}")
        .replace("error_log /dev/stderr", f"error_log {tmp_path / 'error.log'}")
    )
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nmaster_process off;\nerror_log {tmp_path / 'main.log'};\n"
        f"events {{}}\nhttp {{\n  client_body_temp_path {tmp_path};\n"
        f"  proxy_temp_path {tmp_path};\n  include {tmp_path / 'site.conf'};\n}}\n"
    )
    proc = subprocess.Popen(
        [exe, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-g", "daemon off;"]
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("nginx did not start") from None
            time.sleep(0.1)
    yield f"127.0.0.1:{port}", access
    proc.send_signal(signal.SIGQUIT)
    proc.wait(10)


async def test_through_nginx_no_token_reaches_its_access_log(
    nginx: tuple[str, Path], server: ServerProcess
) -> None:
    host, access = nginx
    r = httpx.post(
        f"http://{host}/api/v1/auth/token", data={"username": NURSE[0], "password": NURSE[1]}
    )
    token = r.json()["access_token"]
    r = httpx.get(
        f"http://{host}/api/v1/sessions",
        params={"status": "active", "marker": "secret-query-value"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200
    # the deprecated URL form, and the browser's way with its own Origin
    old = await websockets.connect(f"ws://{host}/api/v1/ws?token={token}")
    assert "snapshot" in await old.recv()
    await old.close()
    new = await websockets.connect(f"ws://{host}/api/v1/ws", origin=f"http://{host}")  # type: ignore[arg-type]
    await new.send(f'{{"type": "auth", "token": "{token}"}}')
    assert "snapshot" in await new.recv()
    await new.close()
    assert httpx.get(f"http://{host}/metrics").status_code == 404  # not public
    await asyncio.sleep(0.2)
    log = access.read_text()
    assert 'GET /api/v1/ws HTTP/1.1" 101' in log and "GET /api/v1/sessions" in log
    assert token not in log and "secret-query-value" not in log and "?" not in log
