"""Real sdc11073 providers (simulators/sdc.py, one process each) on the loopback
adapter, and a real server whose SDC consumer listens there.

WS-Discovery needs multicast on `lo`: turned on here when it is off and the
tests run as root (as CI does, see .ci/services); otherwise the tests skip
(fail under VITALWATCH_TEST_REQUIRE_ALL=1). Each module uses a discovery port
of its own, so parallel runs do not see each other's providers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.backends import REQUIRE_ALL, new_database_url
from tests.support import ADMIN, Api, ServerProcess, end_process, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _multicast_on_lo() -> bool:
    flags = Path("/sys/class/net/lo/flags")
    if not flags.exists():
        return False
    if int(flags.read_text(), 16) & 0x1000:  # IFF_MULTICAST
        return True
    if os.geteuid() == 0:
        subprocess.run(["ip", "link", "set", "lo", "multicast", "on"], check=False)
        return bool(int(flags.read_text(), 16) & 0x1000)
    return False


def require_multicast() -> None:
    """Skip (fail under VITALWATCH_TEST_REQUIRE_ALL) without multicast on `lo`."""
    if not _multicast_on_lo():
        message = (
            "SDC tests need multicast on the loopback interface: "
            "run `ip link set lo multicast on` as root (.ci/services does)"
        )
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def discovery_port() -> int:
    require_multicast()
    return free_port()


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


@pytest.fixture(scope="module")
def sdc_env() -> dict[str, str]:
    """More of the server's environment (a module's own, e.g. its certificates)."""
    return {}


@pytest.fixture(scope="module")
def sdc_server(
    backend: str,
    discovery_port: int,
    sdc_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp(f"sdc-{backend}")
    env = {
        "VITALWATCH_SDC_ADAPTER": "lo",
        "VITALWATCH_SDC_DISCOVERY_PORT": str(discovery_port),
        **sdc_env,
    }
    proc = ServerProcess(workdir, database_url=new_database_url(backend, workdir), extra_env=env)
    proc.create_users()
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
async def sdc_api(sdc_server: ServerProcess) -> AsyncIterator[Api]:
    client = Api(sdc_server.url)
    yield client
    await client.aclose()


@dataclass
class Provider:
    """A simulated SDC monitor in a process of its own."""

    serial: str
    proc: subprocess.Popen[str]
    epr: str = ""
    args: list[str] = field(default_factory=list)

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            end_process(self.proc, signal.SIGTERM)  # type: ignore[arg-type]


def _start(serial: str, port: int, log: Path, *extra: str) -> Provider:
    args = [sys.executable, "-m", "simulators.sdc", "--adapter", "lo", "--serial", serial]
    args += ["--discovery-port", str(port), *extra]
    out = log.open("a")
    proc = subprocess.Popen(
        args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=out, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "ready <epr>" once discoverable
    if not line.startswith("ready "):
        proc.kill()
        raise RuntimeError(f"SDC provider did not start: see {log}")
    return Provider(serial, proc, line.split()[1], args)


StartProvider = Callable[..., Provider]


@pytest.fixture
def start_provider(discovery_port: int, tmp_path: Path) -> Iterator[Callable[..., Provider]]:
    started: list[Provider] = []

    def start(serial: str, *extra: str) -> Provider:
        p = _start(serial, discovery_port, tmp_path / f"provider-{serial}.log", *extra)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def restart(p: Provider, log: Path) -> Provider:
    """The same monitor (same serial, so the same EPR) started again."""
    port = int(p.args[p.args.index("--discovery-port") + 1])
    extra = p.args[p.args.index("--discovery-port") + 2 :]
    return _start(p.serial, port, log, *extra)


async def found(api: Api, epr: str, timeout: float = 30.0) -> dict[str, Any]:
    """The provider as GET /api/v1/sdc/providers lists it, once discovered (and described)."""

    async def listed() -> dict[str, Any] | None:
        r = await api.http.get("/api/v1/sdc/providers", headers=await api.auth(ADMIN))
        assert r.status_code == 200, r.text
        hit = [p for p in r.json() if p["epr"] == epr and p["manufacturer"]]
        return hit[0] if hit else None

    return dict(await wait_for(listed, timeout=timeout, interval=0.25))


async def bind(api: Api, epr: str, device_id: int) -> dict[str, Any]:
    r = await api.http.post(
        "/api/v1/sdc/providers/bind",
        json={"epr": epr, "device_id": device_id},
        headers=await api.auth(ADMIN),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())
