"""`vitalwatch simulate`: monitors for demos, tests and load."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from simulators.clinic import stage
from simulators.load import run_load
from simulators.runner import Simulation, SimulationConfig, drive
from simulators.scenarios import SCENARIOS

_PRIORITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}
#: How far back the service lets a session's start be dated (sessions.service).
MAX_BACKDATE_MIN = 12 * 60 - 5


def _shown(latest: dict[str, float], metric: str) -> str:
    """A latest value, or a dash when the monitor has none (e.g. the probe is off)."""
    return f"{latest[metric]:.0f}" if metric in latest else "-"


def ward_table(sim: Simulation) -> Table:
    """Rooms, current vitals, expected alarms and the alarms the service raised."""
    minutes = sim.sim_t / 60
    title = (
        f"VitalWatch simulator: {minutes:.0f} simulated min"
        if sim.cfg.speed != 1
        else f"VitalWatch simulator: {time.strftime('%H:%M:%S')}, {minutes:.0f} min in"
    )
    table = Table(title=title, expand=True)
    columns = ("Room", "Stage", "Scenario", "HR", "BP", "SpO2", "RR", "Expected", "Raised")
    for col in (*columns, "Monitor"):
        table.add_column(col)
    for room in sim.rooms:
        patient = room.device.patient
        v = room.device.latest
        bp = f"{v['sbp']:.0f}/{v['dbp']:.0f}" if "sbp" in v and "dbp" in v else "-"
        expected = ", ".join(f"{e.rule} ({e.priority})" for e in room.expected) or "none"
        raised = [
            f"[{_PRIORITY_STYLE.get(a['priority'], '')}]{escape(a['message'])} ({a['state']})[/]"
            for a in room.alarms
        ]
        if room.problem is None:
            monitor = "sending"
        else:
            state = "stopped" if not room.running else "sending"
            monitor = f"[bold red]{state}: {escape(room.problem)}[/]"
        since_dose = room.t - patient.dose_at_s if room.dose_posted else None
        table.add_row(
            room.name,
            stage(patient.protocol, since_dose),
            f"{room.scenario.name} ({room.device.patient.response})",
            _shown(v, "hr"),
            bp,
            _shown(v, "spo2"),
            _shown(v, "rr"),
            expected,
            ", ".join(raised) or "none",
            monitor,
        )
    return table


async def play(cfg: SimulationConfig, console: Console) -> None:
    """The live ward table while the simulation runs, then a line a room."""
    sim = Simulation(cfg)
    try:
        with Live(console=console, refresh_per_second=2) as live:
            await drive(sim, on_tick=lambda s: live.update(ward_table(s)))
    finally:
        console.print("\n".join(sim.summary()), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add `simulate` to the `vitalwatch` command."""

    @app.command()
    def simulate(
        url: Annotated[str, typer.Option(help="The service")] = "http://127.0.0.1:8000",
        user: Annotated[str, typer.Option(help="An admin (it registers devices)")] = "admin",
        password: Annotated[str, typer.Option(prompt=True, hide_input=True)] = "",
        patients: Annotated[int, typer.Option(min=1, max=200)] = 8,
        scenario: Annotated[str, typer.Option(help="mixed, " + ", ".join(SCENARIOS))] = "mixed",
        speed: Annotated[float, typer.Option(min=0.1, max=600, help="Simulated s per s")] = 1.0,
        seed: Annotated[int, typer.Option(help="Same seed, same stream")] = 1,
        duration_min: Annotated[float, typer.Option(min=1)] = 120.0,
        load: Annotated[bool, typer.Option(help="Load mode: hold a request rate")] = False,
        devices: Annotated[int, typer.Option(min=1, help="Load mode: monitors")] = 100,
        rate: Annotated[float, typer.Option(min=0.01, help="Load mode: requests/s each")] = 1.0,
        batch: Annotated[int, typer.Option(min=1, max=10_000, help="Load mode: samples each")] = 1,
        seconds: Annotated[float, typer.Option(min=1, help="Load mode: how long")] = 30.0,
        transport: Annotated[
            str, typer.Option(help="http, hl7 (PCD-01/PCD-04 over MLLP) or mixed")
        ] = "http",
        mllp: Annotated[str, typer.Option(help="The service's MLLP [host:]port")] = "2575",
    ) -> None:
        """Drive a running service as bedside monitors (or as a load generator).

        Ctrl-C or SIGTERM ends the sessions it started, in both modes."""
        console = Console()
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        if load:
            try:
                result = asyncio.run(run_load(url, user, password, devices, rate, batch, seconds))
            except KeyboardInterrupt:
                console.print("Load run stopped; its sessions were ended.")
                return
            console.print(result.summary())
            return
        if speed > 1 and duration_min > MAX_BACKDATE_MIN:
            raise typer.BadParameter(
                f"above --speed 1 the run is dated back by its duration, at most "
                f"{MAX_BACKDATE_MIN} min (the service's limit for a session's start)",
                param_hint="--duration-min",
            )
        if transport not in ("http", "hl7", "mixed"):
            raise typer.BadParameter("http, hl7 or mixed", param_hint="--transport")
        if scenario != "mixed" and scenario not in SCENARIOS:
            raise typer.BadParameter(f"unknown scenario {scenario}", param_hint="--scenario")
        cfg = SimulationConfig(
            url=url,
            user=user,
            password=password,
            patients=patients,
            scenario=scenario,
            speed=speed,
            seed=seed,
            duration_min=duration_min,
            transport=transport,
            mllp=mllp,
        )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(play(cfg, console))
