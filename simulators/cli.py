"""`vitalwatch simulate`: monitors for demos, tests and load."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from simulators.load import run_load
from simulators.runner import Simulation, SimulationConfig, run_simulation
from simulators.scenarios import SCENARIOS

_PRIORITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}


def ward_table(sim: Simulation) -> Table:
    """Rooms, current vitals, expected alarms and the alarms the service raised."""
    minutes = sim.sim_t / 60
    table = Table(title=f"VitalWatch simulator: {minutes:.0f} simulated min", expand=True)
    for col in ("Room", "Scenario", "HR", "BP", "SpO2", "RR", "Expected", "Raised"):
        table.add_column(col)
    for room in sim.rooms:
        v = room.device.latest
        bp = f"{v['sbp']:.0f}/{v['dbp']:.0f}" if "sbp" in v and "dbp" in v else "-"
        expected = ", ".join(f"{e.rule} ({e.priority})" for e in room.scenario.expected) or "none"
        raised = [
            f"[{_PRIORITY_STYLE.get(a['priority'], '')}]{a['rule']} {a['state']}[/]"
            for a in room.alarms
        ]
        table.add_row(
            room.name,
            room.scenario.name,
            f"{v.get('hr', 0):.0f}",
            bp,
            f"{v.get('spo2', 0):.0f}",
            f"{v.get('rr', 0):.0f}",
            expected,
            ", ".join(raised) or "none",
        )
    return table


async def play(cfg: SimulationConfig, console: Console) -> None:
    with Live(console=console, refresh_per_second=2) as live:
        await run_simulation(cfg, on_tick=lambda sim: live.update(ward_table(sim)))


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
    ) -> None:
        """Drive a running service as bedside monitors (or as a load generator)."""
        console = Console()
        if load:
            result = asyncio.run(run_load(url, user, password, devices, rate, batch, seconds))
            console.print(result.summary())
            return
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
        )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(play(cfg, console))
