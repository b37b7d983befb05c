"""`vitalwatch demo`: the service on a demo SQLite database with a simulated clinic.

Starts `vitalwatch serve` as a child process in ./demo-data, creates a demo
nurse (for the dashboard) and a demo admin (for the simulator, which
registers its monitors), then plays the clinic of simulators.clinic at the
wall clock: rooms at every stage, one alarm of each priority in the first
minute, and every kind of alarm (each vital sign's, a technical one) within
12 minutes (simulators.clinic.TIMELINE). Its summary names the scripted
events still to come and any session it ended without a discharge sign-off.

`--sdc N`: the first N rooms' monitors are IEEE 11073 SDC providers on the
loopback adapter (simulators.sdc_room, a process each), the service's SDC
consumer listens on `lo` (VITALWATCH_SDC_ADAPTER=lo, on the WS-Discovery port
VITALWATCH_SDC_DISCOVERY_PORT, 3702 by default), and the demo binds each
provider to its room's device through the binding API, as an admin does.

Stopping: a terminal's Ctrl-C reaches the whole foreground process group, so
the service child runs in a process group of its own (and dies with the demo
if the demo is killed). On Ctrl-C or SIGTERM the demo ends its sessions while
the service is still up, then stops the SDC monitors and the service and waits for them: no
traceback, nothing left running (an SDC monitor also stops when the demo
dies: its stdin closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from rich.console import Console

if TYPE_CHECKING:
    from vitalwatch.config import Settings

NURSE = ("nurse", "demo-nurse-pw")
ADMIN = "demo-admin"
HOST = "127.0.0.1"  # the demo runs with the development key: never on the network
DAY_MIN = 10 * 60  # the clinic's day, then the simulation stops (the dashboard stays)
_PR_SET_PDEATHSIG = 1
_IFF_MULTICAST = 0x1000


class DemoError(Exception):
    """Something the person starting the demo must fix; printed without a traceback."""


def port_taken_message(port: int) -> str:
    return (
        f"Port {port} is already in use on {HOST} (another VitalWatch demo or service?).\n"
        f"Stop that program, or run the demo on another port:\n"
        f"    VITALWATCH_PORT={port + 1} make demo\n"
        f"    .venv/bin/vitalwatch demo --port {port + 1}"
    )


def check_port_free(port: int) -> None:
    """Refuse early, and clearly, when something already listens on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise DemoError(port_taken_message(port)) from None
            raise DemoError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from None


def check_sdc(sdc: int, patients: int) -> None:
    """SDC rooms need multicast on `lo` (WS-Discovery); say how to turn it on."""
    if sdc > patients:
        raise DemoError(f"--sdc {sdc}: the demo has only {patients} rooms (--patients)")
    flags = Path("/sys/class/net/lo/flags")
    if sdc and not (flags.exists() and int(flags.read_text(), 16) & _IFF_MULTICAST):
        raise DemoError(
            "SDC rooms need multicast on the loopback interface (WS-Discovery); as root:\n"
            "    ip link set lo multicast on"
        )


def run_demo(port: int, patients: int, folder: Path, sdc: int = 0) -> int:
    """Run the demo until the simulation ends or a signal stops it; the exit code."""
    console = Console()
    # SIGTERM (`kill`) stops the demo the way Ctrl-C does
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    server: subprocess.Popen[bytes] | None = None
    try:
        check_port_free(port)
        check_sdc(sdc, patients)
        folder.mkdir(parents=True, exist_ok=True)
        env = _service_env(folder, port, sdc)
        admin_pw = secrets.token_urlsafe(16)
        _create_accounts(env, admin_pw)
        server = _start_service(env, folder)
        url = f"http://{HOST}:{port}"
        _wait_ready(url, server, folder, port)
        console.print(f"\n[bold]VitalWatch demo[/] dashboard: [link={url}/]{url}/[/]")
        console.print(f"login: [bold]{NURSE[0]}[/] / [bold]{NURSE[1]}[/]   (Ctrl-C stops)\n")
        if sdc:
            rooms = "Room 1" if sdc == 1 else f"Rooms 1-{sdc}"
            console.print(f"{rooms}: IEEE 11073 SDC monitors on lo (logs in {folder})\n")
        if _until_stopped(_clinic(url, admin_pw, patients, console, sdc, folder)):
            return 0
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # asyncio reset it
        console.print("The simulation has ended; the dashboard stays up until Ctrl-C.")
        while server.poll() is None:
            time.sleep(1)
        raise DemoError(f"the service stopped: see {folder / 'service.log'}")
    except KeyboardInterrupt:
        return 0
    except DemoError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 1
    finally:
        # a second Ctrl-C must not leave the service behind half-stopped
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if server is not None:
            _stop(server)
            console.print("VitalWatch demo stopped.")


async def _clinic(
    url: str, admin_pw: str, patients: int, console: Console, sdc: int, folder: Path
) -> None:
    # imported here: the simulators are a plugin of the command, not of the package
    from simulators.cli import play
    from simulators.clinic import clinic, next_patient
    from simulators.runner import SimulationConfig

    seed = int(time.time())
    cfg = SimulationConfig(
        url=url,
        user=ADMIN,
        password=admin_pw,
        speed=1.0,
        seed=seed,
        duration_min=DAY_MIN,
        rooms=clinic(patients, seed),
        next_patient=next_patient(seed),
        sdc_rooms=sdc,
        sdc_discovery_port=_discovery_port(),
        sdc_logs=folder,
    )
    try:
        await _end_leftovers(url, admin_pw, console)
    except asyncio.CancelledError:
        # Ctrl-C this early: finish ending them (a signal cancels once), then stop
        await _end_leftovers(url, admin_pw, console)
        raise
    await play(cfg, console)


async def _end_leftovers(url: str, admin_pw: str, console: Console) -> None:
    """Sessions an earlier demo left active (it was killed) would show monitors
    offline beside the new clinic: end them first."""
    # imported when run: the demo loads the simulators and the service only once it starts
    from simulators.staff import Staff

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        staff = Staff(client, ADMIN, admin_pw)
        r = await staff.request("GET", "/api/v1/sessions", params={"status": "active"})
        left = [s["id"] for s in r.json()] if r.status_code == 200 else []
        if left:
            await staff.end_sessions(left)
            console.print(f"ended {len(left)} sessions an earlier demo left active")


def _until_stopped(main: Coroutine[Any, Any, None]) -> bool:
    """Run `main`; the first SIGINT or SIGTERM cancels it (its cleanup, such as
    ending the sessions, still runs), later ones wait for that cleanup. True
    when a signal stopped it."""

    async def runner() -> bool:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(main)
        stopped = False

        def stop() -> None:
            nonlocal stopped
            if not stopped:
                stopped = True
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return stopped

    return asyncio.run(runner())


def _discovery_port() -> int:
    return int(os.environ.get("VITALWATCH_SDC_DISCOVERY_PORT") or 3702)


def _service_env(folder: Path, port: int, sdc: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VITALWATCH_DATABASE_URL=f"sqlite+aiosqlite:///{(folder / 'vitalwatch.db').resolve()}",
        VITALWATCH_PORT=str(port),
        VITALWATCH_HOST=HOST,
        VITALWATCH_ENVIRONMENT="development",
        VITALWATCH_LOG_LEVEL="WARNING",
    )
    env.pop("VITALWATCH_REDIS_URL", None)  # one process on SQLite
    if sdc:
        env.update(
            VITALWATCH_SDC_ADAPTER="lo", VITALWATCH_SDC_DISCOVERY_PORT=str(_discovery_port())
        )
    else:
        env.pop("VITALWATCH_SDC_ADAPTER", None)
    return env


def _cli() -> list[str]:
    return [sys.executable, "-m", "vitalwatch"]


def _create_accounts(env: dict[str, str], admin_pw: str) -> None:
    """The demo's admin and nurse, created or given their passwords again, in this
    process (a command per account would cost a start-up and a migration check each)."""
    # imported when run: the demo loads the simulators and the service only once it starts
    from vitalwatch import migrate
    from vitalwatch.config import Settings

    settings = Settings(database_url=env["VITALWATCH_DATABASE_URL"], environment="development")
    try:
        migrate.upgrade(settings.database_url)
        asyncio.run(_accounts(settings, admin_pw))
    except Exception as exc:  # a broken demo database: say where it is
        where = settings.database_url
        raise DemoError(f"could not set up the demo accounts in {where}: {exc}") from None


async def _accounts(settings: Settings, admin_pw: str) -> None:
    # imported when run: the demo loads the simulators and the service only once it starts
    from vitalwatch.auth.security import hash_password
    from vitalwatch.auth.service import create_user, set_password_by_name
    from vitalwatch.db import create_engine, create_sessionmaker, unit_of_work

    engine = create_engine(settings)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as db:
            for name, role, pw in ((ADMIN, "admin", admin_pw), (NURSE[0], "nurse", NURSE[1])):
                # the account may exist from an earlier demo: set its password
                if not await set_password_by_name(db, name, hash_password(pw)):
                    await create_user(db, name, role, hash_password(pw))  # type: ignore[arg-type]
    finally:
        await engine.dispose()


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the demo dies, however it dies."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _start_service(env: dict[str, str], folder: Path) -> subprocess.Popen[bytes]:
    log = (folder / "service.log").open("ab")
    try:
        return subprocess.Popen(
            [*_cli(), "serve"],
            env=env,
            cwd=folder,
            stdout=log,
            stderr=log,
            start_new_session=True,  # not in the terminal's group: Ctrl-C is the demo's
            preexec_fn=_die_with_parent,  # safe here: the demo has no threads yet
        )
    finally:
        log.close()


def _wait_ready(url: str, server: subprocess.Popen[bytes], folder: Path, port: int) -> None:
    deadline = time.monotonic() + 60
    log = folder / "service.log"
    size = log.stat().st_size
    while time.monotonic() < deadline:
        if server.poll() is not None:
            with log.open("rb") as f:
                f.seek(max(0, size - 200_000))
                text = f.read().decode(errors="replace")
            if "address already in use" in text.lower():
                raise DemoError(port_taken_message(port))
            raise DemoError(f"the service did not start: see {log}")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise DemoError(f"the service did not become ready within 60 s: see {log}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
