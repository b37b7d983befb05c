"""The `vitalwatch` command: serve, users, database, demo, simulate."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from vitalwatch.config import get_settings

app = typer.Typer(
    help="VitalWatch: vital-signs monitoring for supervised dosing sessions.", no_args_is_help=True
)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")


class Loop(StrEnum):
    uvloop = "uvloop"
    asyncio = "asyncio"


class Http(StrEnum):
    httptools = "httptools"
    h11 = "h11"


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Overrides VITALWATCH_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides VITALWATCH_PORT")] = None,
    loop: Annotated[
        Loop, typer.Option(envvar="VITALWATCH_LOOP", help="Event loop (asyncio: for comparison)")
    ] = Loop.uvloop,
    http: Annotated[
        Http, typer.Option(envvar="VITALWATCH_HTTP", help="HTTP parser (h11: for comparison)")
    ] = Http.httptools,
) -> None:
    """Apply migrations, then serve the API, the live stream and the dashboard."""
    import uvicorn

    from vitalwatch import migrate
    from vitalwatch.app import create_app

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    # uvloop and httptools are named, not left to uvicorn's "auto" (which falls
    # back to asyncio and h11 without a word when they are missing): single-sample
    # ingest is mostly per-request overhead (docs/performance.md, "Ingest").
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        loop=loop.value,
        http=http.value,
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=10,
    )


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[str, typer.Option(help="nurse or admin")] = "nurse",
    password: Annotated[str | None, typer.Option(help="Prompted (hidden) when left out")] = None,
) -> None:
    """Create a staff account (the password is stored as an argon2 hash)."""
    if role not in ("nurse", "admin"):
        raise typer.BadParameter("role must be nurse or admin", param_hint="--role")
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise typer.BadParameter("use at least 8 characters", param_hint="--password")
    from vitalwatch import migrate

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    try:
        asyncio.run(_create_user(name, role, password))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {role} {name}")


async def _create_user(name: str, role: str, password: str) -> None:
    from vitalwatch.auth.service import UserExistsError, create_user
    from vitalwatch.db import create_engine, create_sessionmaker

    engine = create_engine(get_settings())
    try:
        async with create_sessionmaker(engine)() as db:
            try:
                await create_user(db, name, role, password)  # type: ignore[arg-type]
            except UserExistsError:
                raise ValueError(f"user {name} already exists") from None
            await db.commit()
    finally:
        await engine.dispose()


@users_app.command("password")
def users_password(
    name: Annotated[str, typer.Argument(help="Login name")],
    password: Annotated[str | None, typer.Option(help="Prompted (hidden) when left out")] = None,
) -> None:
    """Set a staff account's password."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise typer.BadParameter("use at least 8 characters", param_hint="--password")
    from vitalwatch import migrate

    migrate.upgrade(get_settings().database_url)
    if not asyncio.run(_set_password(name, password)):
        typer.echo(f"error: no user {name}", err=True)
        raise typer.Exit(1)
    typer.echo(f"password set for {name}")


async def _set_password(name: str, password: str) -> bool:
    from vitalwatch.auth.service import set_password
    from vitalwatch.db import create_engine, create_sessionmaker

    engine = create_engine(get_settings())
    try:
        async with create_sessionmaker(engine)() as db:
            ok = await set_password(db, name, password)
            await db.commit()
            return ok
    finally:
        await engine.dispose()


@app.command()
def demo(
    port: Annotated[
        int | None, typer.Option(help="Where the dashboard listens; overrides VITALWATCH_PORT")
    ] = None,
    patients: Annotated[int, typer.Option(min=1, max=16, help="Rooms (6 show every stage)")] = 6,
    folder: Annotated[Path, typer.Option(help="Demo database and log")] = Path("demo-data"),
) -> None:
    """Run the service with a simulated clinic at the wall clock; prints the dashboard
    URL and a login. Ctrl-C ends the sessions and stops the service."""
    from vitalwatch.demo import run_demo

    raise typer.Exit(run_demo(port or get_settings().port, patients, folder))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from vitalwatch import migrate

    migrate.upgrade(get_settings().database_url, revision)


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ("base" removes every table)."""
    from vitalwatch import migrate

    migrate.downgrade(get_settings().database_url, revision)


@db_app.command("prune-readings")
def db_prune_readings(
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Overrides VITALWATCH_READINGS_RETENTION_DAYS"),
    ] = None,
) -> None:
    """Delete readings of sessions that ended more than DAYS ago (sessions, alarms
    and the audit log are kept). A running service does this hourly when
    VITALWATCH_READINGS_RETENTION_DAYS is set."""
    days = days or get_settings().readings_retention_days
    if days is None:
        raise typer.BadParameter("give --days or set VITALWATCH_READINGS_RETENTION_DAYS")
    typer.echo(f"deleted {asyncio.run(_prune(days))} readings")


async def _prune(days: int) -> int:
    from vitalwatch.db import create_engine, create_sessionmaker
    from vitalwatch.readings.service import prune_old_readings

    engine = create_engine(get_settings())
    try:
        return await prune_old_readings(create_sessionmaker(engine), days)
    finally:
        await engine.dispose()


def _register_plugins() -> None:
    """Commands that live beside the service: the simulators and the demo."""
    try:
        from simulators.cli import register
    except ImportError:  # the simulators package is shipped in the same wheel
        return
    register(app)


def main() -> None:
    _register_plugins()
    app()
