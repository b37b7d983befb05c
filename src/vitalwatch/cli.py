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
db_app = typer.Typer(help="Database migrations, backup and restore.", no_args_is_help=True)
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
    # imported when the command runs: the CLI starts without loading the service
    import uvicorn

    from vitalwatch import migrate
    from vitalwatch.app import create_app
    from vitalwatch.slowloris import protocol_with_head_deadline

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    # h11 (for comparison only) keeps uvicorn's own protocol: no head deadline.
    protocol = (
        protocol_with_head_deadline(settings.header_timeout_s)
        if http is Http.httptools
        else http.value
    )
    # uvloop and httptools are named, not left to uvicorn's "auto" (which falls
    # back to asyncio and h11 without a word when they are missing): single-sample
    # ingest is mostly per-request overhead (docs/performance.md, "Ingest").
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=settings.access_log,  # paths only: logging.py strips query strings
        loop=loop.value,
        http=protocol,
        ws_per_message_deflate=False,
        ws_max_size=64 * 1024,  # dashboards send small typed messages only
        timeout_graceful_shutdown=10,
        timeout_keep_alive=settings.keep_alive_timeout_s,
        h11_max_incomplete_event_size=16 * 1024,  # request line and headers
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        server_header=False,
    )


def _password(name: str, password: str | None) -> str:
    """The password given or prompted for, if it meets the policy."""
    # imported when the command runs: the CLI starts without loading the service
    from vitalwatch.auth.policy import WeakPassword, check_password

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password(password, name, get_settings().password_min_length)
    except WeakPassword as exc:
        raise typer.BadParameter(exc.reason, param_hint="--password") from None
    return password


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[str, typer.Option(help="nurse or admin")] = "nurse",
    password: Annotated[str | None, typer.Option(help="Prompted (hidden) when left out")] = None,
) -> None:
    """Create a staff account (the password is stored as an argon2 hash)."""
    if role not in ("nurse", "admin"):
        raise typer.BadParameter("role must be nurse or admin", param_hint="--role")
    password = _password(name, password)
    # imported when the command runs: the CLI starts without loading the service
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
    # imported when the command runs: the CLI starts without loading the service
    from vitalwatch.auth.security import hash_password
    from vitalwatch.auth.service import UserExistsError, create_user
    from vitalwatch.db import create_engine, create_sessionmaker, unit_of_work

    engine = create_engine(get_settings())
    try:
        async with unit_of_work(create_sessionmaker(engine)) as db:
            try:
                await create_user(db, name, role, hash_password(password))  # type: ignore[arg-type]
            except UserExistsError:
                raise ValueError(f"user {name} already exists") from None
    finally:
        await engine.dispose()


@users_app.command("password")
def users_password(
    name: Annotated[str, typer.Argument(help="Login name")],
    password: Annotated[str | None, typer.Option(help="Prompted (hidden) when left out")] = None,
) -> None:
    """Set a staff account's password (signs the user out everywhere)."""
    password = _password(name, password)
    # imported when the command runs: the CLI starts without loading the service
    from vitalwatch import migrate

    migrate.upgrade(get_settings().database_url)
    if not asyncio.run(_set_password(name, password)):
        typer.echo(f"error: no user {name}", err=True)
        raise typer.Exit(1)
    typer.echo(f"password set for {name}")


async def _set_password(name: str, password: str) -> bool:
    # imported when the command runs: the CLI starts without loading the service
    from vitalwatch.auth.security import hash_password
    from vitalwatch.auth.service import set_password_by_name
    from vitalwatch.db import create_engine, create_sessionmaker, unit_of_work

    engine = create_engine(get_settings())
    try:
        async with unit_of_work(create_sessionmaker(engine)) as db:
            return await set_password_by_name(db, name, hash_password(password))
    finally:
        await engine.dispose()


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Disable a staff account: its tokens are refused within seconds (at once on
    the processes that hear of it), its live sockets closed."""
    _account_change(name, "disable")


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Enable a disabled staff account again."""
    _account_change(name, "enable")


@users_app.command("sign-out")
def users_sign_out(name: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """End every sign-in of a staff account ("sign out everywhere")."""
    _account_change(name, "sign-out")


def _account_change(name: str, what: str) -> None:
    # imported when the command runs: the CLI starts without loading the service
    from vitalwatch import migrate

    migrate.upgrade(get_settings().database_url)
    if not asyncio.run(_change_account(name, what)):
        typer.echo(f"error: no user {name}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{what}: {name}")


async def _change_account(name: str, what: str) -> bool:
    # imported when the command runs: the CLI starts without loading the service
    from vitalwatch.audit.service import SYSTEM
    from vitalwatch.auth import repository
    from vitalwatch.auth.directory import UserDirectory
    from vitalwatch.auth.service import sign_out_everywhere, update_user
    from vitalwatch.db import create_engine, create_sessionmaker, unit_of_work

    engine = create_engine(get_settings())
    try:
        maker = create_sessionmaker(engine)
        users = UserDirectory(maker)  # this process's; the service's caches run out in seconds
        async with unit_of_work(maker) as db:
            user = await repository.by_username(db, name)
            if user is None:
                return False
            if what == "sign-out":
                await sign_out_everywhere(db, user.id, SYSTEM, users)
            else:
                await update_user(db, user.id, SYSTEM, users, active=what == "enable")
            return True
    finally:
        await engine.dispose()


@app.command()
def demo(
    port: Annotated[
        int | None, typer.Option(help="Where the dashboard listens; overrides VITALWATCH_PORT")
    ] = None,
    patients: Annotated[int, typer.Option(min=1, max=16, help="Rooms (6 show every stage)")] = 6,
    folder: Annotated[Path, typer.Option(help="Demo database and log")] = Path("demo-data"),
    sdc: Annotated[
        int, typer.Option(min=0, max=16, help="Rooms whose monitors speak IEEE 11073 SDC on lo")
    ] = 0,
) -> None:
    """Run the service with a simulated clinic at the wall clock; prints the dashboard
    URL and a login. Ctrl-C ends the sessions and stops the service."""
    # imported when the command runs: the CLI starts without loading the service
    from vitalwatch.demo import run_demo

    raise typer.Exit(run_demo(port or get_settings().port, patients, folder, sdc))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    # imported when the command runs: the CLI starts without loading the service
    from vitalwatch import migrate

    migrate.upgrade(get_settings().database_url, revision)


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ("base" removes every table)."""
    # imported when the command runs: the CLI starts without loading the service
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
    # imported when the command runs: the CLI starts without loading the service
    from vitalwatch.db import create_engine, create_sessionmaker
    from vitalwatch.housekeeping import prune_old_readings

    engine = create_engine(get_settings())
    try:
        return await prune_old_readings(create_sessionmaker(engine), days)
    finally:
        await engine.dispose()


@db_app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="Where the copy goes (replaced if it exists)")],
) -> None:
    """A consistent copy of the database, safe while the service runs and devices
    post (SQLite: the online backup API; PostgreSQL: pg_dump --format=custom)."""
    # imported when the command runs: the CLI starts without loading the service
    from vitalwatch.backup.service import BackupError, backup

    try:
        backup(get_settings().database_url, file)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"backed up to {file}")


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A file made by `vitalwatch db backup`")],
    force: Annotated[
        bool, typer.Option(help="Replace an existing SQLite database (service stopped)")
    ] = False,
) -> None:
    """Put a backup in place of the database (stop the service first); then
    `vitalwatch serve` applies any newer migrations."""
    # imported when the command runs: the CLI starts without loading the service
    from vitalwatch.backup.service import BackupError, restore

    try:
        restore(get_settings().database_url, file, force)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"restored from {file}")


def _register_plugins() -> None:
    """Commands that live beside the service: the simulators and the demo."""
    try:
        # imported when the command runs: the CLI starts without loading the service
        from simulators.cli import register
    except ImportError:  # the simulators package is shipped in the same wheel
        return
    register(app)


def main() -> None:
    _register_plugins()
    app()
