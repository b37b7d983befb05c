"""Test support: a real VitalWatch server process and small API helpers.

Tests talk to a real uvicorn server on a loopback port with a fresh SQLite
file, exactly as devices and dashboards do; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import websockets
from simulators.hl7 import Identity, MllpClient, ack_code, oru_r40
from websockets.asyncio.client import ClientConnection

if TYPE_CHECKING:
    from playwright.async_api import Page

#: `await sign_in(url, width=, height=, path=)` (the `sign_in` fixture in
#: tests/conftest.py): a signed-in station page.
SignIn = Callable[..., Awaitable["Page"]]
#: `await shot(page, "name.png")` (the `shot` fixture): a page's screenshot.
Shot = Callable[["Page", str], Awaitable[Path]]

#: `make check` (VITALWATCH_TEST_NO_SERVERS=1): only the tests that start no
#: server, browser or other process; each such test is skipped the moment it
#: would start one (`needs_servers`), and `make test` runs it.
NO_SERVERS = os.environ.get("VITALWATCH_TEST_NO_SERVERS") == "1"


def needs_servers(what: str) -> None:
    """Skip the calling test under `make check`: it starts `what`."""
    if NO_SERVERS:
        pytest.skip(f"starts {what} (make test runs it)")


ADMIN = ("admin", "admin-password-1")
NURSE = ("nurse", "nurse-password-1")
#: Partitions of the production-mode test clusters (the `cluster` fixture).
CLUSTER_PARTITIONS = 4
_counter = itertools.count(1)
#: The servers started in this test process and not yet stopped.
_started: set[ServerProcess] = set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def end_process(proc: subprocess.Popen[bytes], sig: int, within_s: float = 15) -> None:
    """Ask a child server to end with `sig` (its clean shutdown) and kill it when
    it has not within `within_s`: the service (ServerProcess) and the throwaway
    PostgreSQL and Redis (tests/backends.py) stop alike."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(within_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@functools.cache
def _users_template() -> Path:
    """A migrated SQLite database with the admin and the nurse, made once per
    test process through the real command line."""
    folder = Path(tempfile.mkdtemp(prefix="vitalwatch-users-"))
    atexit.register(shutil.rmtree, folder, True)
    template = ServerProcess(folder)
    template.make_users()
    return folder / "vitalwatch.db"


@functools.cache
def _users_template_pg(admin: str) -> str:
    """The same on PostgreSQL: the name of a database, made once per test
    process, that servers' fresh databases are copied from."""
    from tests.backends import fresh_database

    folder = Path(tempfile.mkdtemp(prefix="vitalwatch-users-pg-"))
    atexit.register(shutil.rmtree, folder, True)
    template = ServerProcess(folder, database_url=fresh_database(admin))
    template.make_users()
    return str(template.database_url).rsplit("/", 1)[1]


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy (SQLite's backup API: WAL content included)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_utc() -> datetime:
    return datetime.now(UTC)


def stop_leftover_servers() -> None:
    """Kill the servers a test started and never stopped (a failed setup, an
    interrupted test), at the end of a test process."""
    for server in list(_started):
        if server.proc is not None and server.proc.poll() is None:
            end_process(server.proc, signal.SIGKILL)
    _started.clear()


@dataclass(eq=False)
class ServerProcess:
    """`vitalwatch serve` as a child process (so a test can kill -9 it)."""

    workdir: Path
    database_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        needs_servers("a VitalWatch server")
        if self.database_url is None:
            self.database_url = f"sqlite+aiosqlite:///{self.workdir / 'vitalwatch.db'}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            VITALWATCH_ENVIRONMENT="test",
            VITALWATCH_DATABASE_URL=str(self.database_url),
            VITALWATCH_SECRET_KEY=self.secret,
            VITALWATCH_HOST="127.0.0.1",
            VITALWATCH_PORT=str(self.port),
            VITALWATCH_LOG_LEVEL="WARNING",
            # Secondary notifications reach only peers the tests start here.
            VITALWATCH_NOTIFY_ALLOWED_HOSTS="127.0.0.1,localhost",
            # Closed by default outside development; the suite reads it freely.
            VITALWATCH_METRICS_PUBLIC="true",
        )
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "vitalwatch", *args],
            env=self.env(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def create_users(self) -> None:
        """The admin and the nurse, made with `vitalwatch users create`. A fresh
        SQLite file is copied from a database this process made so once: each
        command costs a Python start, the migrations and an argon2 hash, and
        the suite starts hundreds of servers. A fresh PostgreSQL database is
        made again from a template database, likewise."""
        from tests.backends import copy_if_empty, postgres_admin_url

        sqlite_file = self.workdir / "vitalwatch.db"
        url = str(self.database_url)
        if url == f"sqlite+aiosqlite:///{sqlite_file}" and not sqlite_file.exists():
            _copy_sqlite(_users_template(), sqlite_file)
            return
        if url.startswith("postgresql+asyncpg://"):
            admin = postgres_admin_url()
            on_admin = admin.replace("postgresql://", "postgresql+asyncpg://", 1)
            same_server = url.rsplit("/", 1)[0] == on_admin.rsplit("/", 1)[0]
            if same_server and copy_if_empty(url, _users_template_pg(admin)):
                return
        self.make_users()

    def make_users(self) -> None:
        """The admin and the nurse, through the real command line."""
        self.cli("users", "create", ADMIN[0], "--role", "admin", "--password", ADMIN[1])
        self.cli("users", "create", NURSE[0], "--role", "nurse", "--password", NURSE[1])

    def start(self, timeout: float = 30.0) -> None:
        log = open(self.workdir / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vitalwatch", "serve"],
            env=self.env(),
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _started.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: see {log.name}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        # a server left running here would load the machine for the rest of the
        # run (its fixture never reaches its teardown), making later starts slower
        end_process(self.proc, signal.SIGKILL)
        raise RuntimeError(f"server did not become ready within {timeout:g} s: see {log.name}")

    def stop(self) -> None:
        if self.proc is not None:
            end_process(self.proc, signal.SIGTERM)
        _started.discard(self)

    def cpu_seconds(self) -> float:
        """CPU seconds the server process has used (user + system): benchmarks
        quote it per operation, a figure other load on the machine barely moves."""
        assert self.proc is not None
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        """Run SQL on the server's database (SQLite or PostgreSQL) and return the rows."""
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(str(self.database_url))
        try:
            async with engine.begin() as conn:
                result = await conn.execute(text(statement), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.workdir.glob("server-*.log"))


class Api:
    """An httpx client with the VitalWatch calls tests need."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self._tokens: dict[str, str] = {}

    async def aclose(self) -> None:
        await self.http.aclose()

    async def token(self, who: tuple[str, str]) -> str:
        if who[0] not in self._tokens:
            r = await self.http.post(
                "/api/v1/auth/token", data={"username": who[0], "password": who[1]}
            )
            r.raise_for_status()
            self._tokens[who[0]] = r.json()["access_token"]
        return self._tokens[who[0]]

    async def auth(self, who: tuple[str, str] = NURSE) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(who)}"}

    async def device(self, name: str | None = None) -> dict[str, Any]:
        name = name or f"Bay {next(_counter)} monitor"
        r = await self.http.post(
            "/api/v1/devices", json={"name": name}, headers=await self.auth(ADMIN)
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def session(
        self, device_ids: list[int], protocol: str = "ketamine-iv", **extra: Any
    ) -> dict[str, Any]:
        body = {
            "patient": {"ref": f"MRN-{next(_counter):05d}", "display_name": "Test Patient"},
            "protocol": protocol,
            "room": f"Room {next(_counter)}",
            "device_ids": device_ids,
            **extra,
        }
        r = await self.http.post("/api/v1/sessions", json=body, headers=await self.auth())
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def post(self, device_token: str, samples: list[dict[str, Any]]) -> httpx.Response:
        return await self.http.post(
            "/api/v1/readings",
            json={"samples": samples},
            headers={"Authorization": f"Bearer {device_token}"},
        )

    async def monitored(
        self, protocol: str = "ketamine-iv", **extra: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new device bound to a new session: (device, session); `extra` goes to
        the session's start (e.g. `started_at` for one begun earlier)."""
        device = await self.device()
        return device, await self.session([device["id"]], protocol, **extra)


def samples(
    start: datetime, count: int, seq0: int = 0, step_s: float = 1.0, **values: float
) -> list[dict[str, Any]]:
    """`count` samples one `step_s` apart carrying the given metric values."""
    return [
        {"ts": iso(start + timedelta(seconds=i * step_s)), "seq": seq0 + i, **values}
        for i in range(count)
    ]


async def wait_for(predicate: Any, timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Poll an async predicate until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def dosed_session(
    api: Api,
    protocol: str = "esketamine-in",
    minutes_ago: float = 130,
    bp_at_40: bool = True,
    now_bp: tuple[float, float] | None = (124, 82),
    now_hr: float | None = 72,
    patient: dict[str, Any] | None = None,
    dose: dict[str, Any] | None = None,
    pre_bp: tuple[tuple[float, float], tuple[float, float]] = ((120, 80), (120, 80)),
    pre_hr: tuple[float, ...] = (70,),
) -> tuple[dict[str, Any], dict[str, Any], datetime]:
    """A session dosed `minutes_ago`: 10 min of pre-dose HR/SpO2 70/98 with BP 120/80
    (or the two `pre_bp` and the HR taking turns through `pre_hr`), the dose
    (checklist answered), a BP 40 min after it, and current values now.
    Returns (device, session, dose time)."""
    device = await api.device()
    body: dict[str, Any] = {
        "patient": patient or {"ref": f"MRN-R{next(_counter):05d}", "display_name": "Rec Patient"},
        "protocol": protocol,
        "room": f"Room {next(_counter)}",
        "device_ids": [device["id"]],
        # entered now, begun with the pre-dose readings (a dose must follow the start)
        "started_at": iso(now_utc() - timedelta(minutes=minutes_ago + 11)),
    }
    r = await api.http.post("/api/v1/sessions", json=body, headers=await api.auth())
    assert r.status_code == 201, r.text
    session = dict(r.json())
    sid = session["id"]
    t0 = now_utc() - timedelta(minutes=minutes_ago)
    pre = samples(t0 - timedelta(minutes=10), 120, step_s=5, hr=70, spo2=98)
    for i, sample in enumerate(pre):
        sample["hr"] = pre_hr[i % len(pre_hr)]
    pre += [
        {"ts": iso(t0 - timedelta(minutes=m)), "seq": 5000 + m, "sbp": sbp, "dbp": dbp}
        for m, (sbp, dbp) in zip((9, 2), pre_bp, strict=True)
    ]
    if bp_at_40 and minutes_ago > 42:
        pre.append({"ts": iso(t0 + timedelta(minutes=41)), "seq": 6000, "sbp": 134, "dbp": 86})
    now: dict[str, Any] = {"ts": iso(now_utc() - timedelta(seconds=2)), "seq": 7000}
    if now_hr is not None:
        now["hr"] = now_hr
    if now_bp is not None:
        now["sbp"], now["dbp"] = now_bp
    if len(now) > 2:
        pre.append(now)
    r = await api.post(device["token"], pre)
    assert r.status_code == 202, r.text
    checklist = (
        await api.http.get(f"/api/v1/sessions/{sid}/checklist", headers=await api.auth())
    ).json()
    for item in checklist["items"]:
        if item["kind"] == "check":
            r = await api.http.put(
                f"/api/v1/sessions/{sid}/checklist/{item['key']}",
                json={"done": True},
                headers=await api.auth(),
            )
            assert r.status_code == 200, r.text
    r = await api.http.post(
        f"/api/v1/sessions/{sid}/events",
        json={"kind": "dose", "ts": iso(t0), "dose": dose or {"amount": 56, "lot_number": "LOT-1"}},
        headers=await api.auth(),
    )
    assert r.status_code == 201, r.text
    return device, session, t0


async def observe(api: Api, session_id: int, **fields: Any) -> dict[str, Any]:
    r = await api.http.post(
        f"/api/v1/sessions/{session_id}/observations", json=fields, headers=await api.auth()
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def readiness(api: Api, session_id: int) -> dict[str, Any]:
    r = await api.http.get(f"/api/v1/sessions/{session_id}/readiness", headers=await api.auth())
    assert r.status_code == 200, r.text
    return dict(r.json())


# -- the live stream, as a dashboard sees it ---------------------------------------


async def connect(server: ServerProcess, api: Api, since: int | None = None) -> ClientConnection:
    """A nurse's dashboard socket, authenticated by its first message."""
    token = await api.token(NURSE)
    url = server.ws_url + (f"?since={since}" if since is not None else "")
    ws = await websockets.connect(url, open_timeout=10)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    return ws


async def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout)))


async def until(ws: ClientConnection, pred: Any, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        msg = await recv(ws, max(0.01, deadline - time.monotonic()))
        if pred(msg):
            return msg


def mllp_server(workdir: Path, database_url: str, **env: str) -> ServerProcess:
    """A server that also listens for HL7 over MLLP (its port: `server.mllp_port`)."""
    extra = {"VITALWATCH_MLLP_PORT": str(free_port()), "VITALWATCH_MLLP_TIMEZONE": "UTC", **env}
    return ServerProcess(workdir, database_url=database_url, extra_env=extra)


def mllp_port(server: ServerProcess) -> int:
    return int(server.extra_env["VITALWATCH_MLLP_PORT"])


#: MDC alarm codes of monitor alarms (ORU^R40): a patient alarm and a technical one.
RR_HIGH = "196648^MDC_EVT_HI^MDC"
LEAD_OFF = "196680^MDC_EVT_LEAD_OFF^MDC"


async def hl7_monitored(api: Api) -> tuple[Identity, dict[str, Any], dict[str, Any]]:
    """A monitor registered by its EUI-64 and bound to a new session:
    (its HL7 identity, the device, the session)."""
    k = next(_counter)
    who = Identity(f"0012A5FFFB{k:06X}", f"KET^^BED{k}")
    r = await api.http.post(
        "/api/v1/devices",
        json={"name": f"Bed {k} monitor", "hl7_ids": [who.eui64]},
        headers=await api.auth(ADMIN),
    )
    assert r.status_code == 201, r.text
    device = dict(r.json())
    return who, device, await api.session([device["id"]])


async def mllp_send(server: ServerProcess, *messages: bytes) -> list[str]:
    """Send messages on one MLLP connection, as a monitor does: their ACK codes."""
    async with MllpClient("127.0.0.1", mllp_port(server)) as c:
        return [ack_code(a)[0] for a in await c.send_many(list(messages))]


def r40(who: Identity, control: str, t: float, label: str, prio: str, kind: str, phase: str,
        code: str, metric: str | None = None, value: float | None = None) -> bytes:  # fmt: skip
    """A Mindray ORU^R40 alarm report (prio PH/PM/PL; kind SP patient, ST technical)."""
    return oru_r40("mindray", who, control, t, label, prio, kind, phase, code, metric, value)


async def live_socket(server: ServerProcess, token: str, since: int | None = None) -> Any:
    """A dashboard's live socket, authenticated by its first message (the contract's
    way; `?token=` is deprecated)."""
    import websockets

    url = server.ws_url + (f"?since={since}" if since is not None else "")
    ws = await websockets.connect(url, open_timeout=10)
    await ws.send(f'{{"type": "auth", "token": "{token}"}}')
    return ws


async def close_code(ws: Any, timeout: float = 5.0) -> int | None:
    """Read until the server closes the socket; its close code."""
    import websockets

    deadline = time.monotonic() + timeout
    try:
        while True:
            await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def staff_user(api: Api, role: str = "nurse") -> tuple[dict[str, Any], tuple[str, str]]:
    """A new staff account made through the admin API: (user, (name, password))."""
    who = (f"staff{next(_counter)}-{secrets.token_hex(3)}", "Correct-horse-" + secrets.token_hex(4))
    r = await api.http.post(
        "/api/v1/users",
        json={"username": who[0], "role": role, "password": who[1]},
        headers=await api.auth(ADMIN),
    )
    assert r.status_code == 201, r.text
    return dict(r.json()), who


async def login(api: Api, who: tuple[str, str]) -> httpx.Response:
    return await api.http.post("/api/v1/auth/token", data={"username": who[0], "password": who[1]})


async def raw_request(
    server: ServerProcess, head: bytes, body: bytes = b"", wait: float = 5.0
) -> tuple[int, dict[str, str], bytes, float]:
    """Send a request by hand (head without the final blank line, body possibly
    only the start of what Content-Length promises); the status, headers and
    body of the answer and how long it took."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    started = time.monotonic()
    writer.write(head + b"\r\n\r\n" + body)
    await writer.drain()
    line = await asyncio.wait_for(reader.readline(), wait)
    headers: dict[str, str] = {}
    while (h := await asyncio.wait_for(reader.readline(), wait)) not in (b"\r\n", b""):
        name, _, value = h.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", 0))
    content = await asyncio.wait_for(reader.readexactly(length), wait)
    took = time.monotonic() - started
    writer.close()
    return int(line.split()[1]), headers, content, took


# -- in-process tests of the layers between the engine and HTTP ----------------------


@dataclass(frozen=True)
class Ward:
    """A migrated database with one active session (the `ward` fixture)."""

    url: str
    session_id: int
    bound: int  # a monitor bound to the session
    free: int  # a monitor bound to nothing


async def seed_ward(url: str) -> Ward:
    """Migrate `url` and add a patient, an active ketamine IM session begun 30 min
    ago with the default limits, a monitor bound to it and a free one."""
    # imported here: most tests drive a server process and never need the models
    from vitalwatch import migrate
    from vitalwatch.config import Settings
    from vitalwatch.db import create_engine, create_sessionmaker
    from vitalwatch.devices.models import Device, SessionDevice
    from vitalwatch.patients.models import Patient
    from vitalwatch.sessions.models import Session
    from vitalwatch.sessions.thresholds import defaults_for

    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(Settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as db:
            patient = Patient(ref="W-1")
            db.add(patient)
            await db.flush()
            session = Session(
                patient_id=patient.id,
                protocol="ketamine-im",
                thresholds=defaults_for("ketamine-im").model_dump(mode="json"),
                started_at=datetime.now(UTC) - timedelta(minutes=30),
            )
            db.add(session)
            await db.flush()
            bound = Device(name="Bay 1 monitor", token_hash="a" * 64, session_id=session.id)
            free = Device(name="Bay 2 monitor", token_hash="b" * 64)
            db.add_all([bound, free])
            await db.flush()
            db.add(
                SessionDevice(
                    session_id=session.id, device_id=bound.id, bound_at=session.started_at
                )
            )
            await db.commit()
            return Ward(url, session.id, bound.id, free.id)
    finally:
        await engine.dispose()
