"""`vitalwatch demo`: the service on a demo SQLite database with simulated rooms.

Starts `vitalwatch serve` as a child process in ./demo-data, creates a demo
nurse (for the dashboard) and a demo admin (for the simulator, which
registers its monitors), then plays six rooms of mixed scenarios at 10x
speed. Ctrl-C ends the sessions and stops the service.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console

NURSE = ("nurse", "demo-nurse-pw")


def run_demo(port: int, speed: float, patients: int, folder: Path) -> None:
    from simulators.cli import play
    from simulators.runner import SimulationConfig

    console = Console()
    folder.mkdir(parents=True, exist_ok=True)
    admin_pw = secrets.token_urlsafe(16)
    with socket.socket() as s:  # a free port for the HL7 (MLLP) monitors
        s.bind(("127.0.0.1", 0))
        mllp_port = s.getsockname()[1]
    env = dict(os.environ)
    env.update(
        VITALWATCH_MLLP_PORT=str(mllp_port),
        VITALWATCH_DATABASE_URL=f"sqlite+aiosqlite:///{(folder / 'vitalwatch.db').resolve()}",
        VITALWATCH_PORT=str(port),
        VITALWATCH_HOST="127.0.0.1",
        VITALWATCH_ENVIRONMENT="development",
        VITALWATCH_LOG_LEVEL="WARNING",
    )
    cli = [sys.executable, "-m", "vitalwatch"]
    for name, role, pw in (("demo-admin", "admin", admin_pw), (*NURSE[:1], "nurse", NURSE[1])):
        subprocess.run(
            [*cli, "users", "create", name, "--role", role, "--password", pw],
            env=env,
            cwd=folder,
            capture_output=True,
            check=False,
        )
        # the account may exist from an earlier demo: reset its password
        subprocess.run(
            [*cli, "users", "password", name, "--password", pw],
            env=env,
            cwd=folder,
            capture_output=True,
            check=True,
        )
    # `kill` (SIGTERM) stops the demo as cleanly as Ctrl-C does
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    log = (folder / "service.log").open("ab")
    server = subprocess.Popen([*cli, "serve"], env=env, cwd=folder, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, server)
        console.print(f"\n[bold]VitalWatch demo[/] dashboard: [link={url}/]{url}/[/]")
        console.print(f"login: [bold]{NURSE[0]}[/] / [bold]{NURSE[1]}[/]   (Ctrl-C stops)")
        console.print(f"HL7 (MLLP) on 127.0.0.1:{mllp_port}: every other room's monitor\n")
        cfg = SimulationConfig(
            url=url,
            user="demo-admin",
            password=admin_pw,
            patients=patients,
            scenario="mixed",
            speed=speed,
            seed=int(time.time()),
            transport="mixed",
            mllp=f"127.0.0.1:{mllp_port}",
        )
        try:
            asyncio.run(play(cfg, console))
            console.print("Simulation finished; the dashboard stays up until Ctrl-C.")
            while server.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            console.print("stopping ...")
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the service did not start: see demo-data/service.log")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the service did not become ready in time")
