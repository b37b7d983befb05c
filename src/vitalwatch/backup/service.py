"""Consistent copies of a running service's database, and putting one back.

SQLite: the online backup API copies the database in one step under a read
transaction. In WAL mode that does not block the service's writer, and the
copy is the database as of one commit: every sample acknowledged before the
backup began is in it. The copy is checked (`PRAGMA integrity_check`) before
it replaces the target, which is written beside it and renamed into place.

PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean`, with the
password passed in the environment, never on the command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit


class BackupError(Exception):
    """Why a backup or restore could not be made; nothing was replaced."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of a `sqlite+aiosqlite:///...` URL (None for another database)."""
    if not database_url.startswith("sqlite"):
        return None
    path = database_url.split(":///", 1)[1] if ":///" in database_url else ""
    if not path or path == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(path.split("?", 1)[0])


def _check(path: Path) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a usable SQLite database ({exc})") from None
    finally:
        conn.close()
    if result is None or result[0] != "ok":
        raise BackupError(f"{path} failed its integrity check: {result}")
    if "alembic_version" not in tables:
        raise BackupError(f"{path} is not a VitalWatch database (no alembic_version table)")


def _copy(source: Path, target: Path) -> None:
    """Copy with the backup API to a file beside `target`, check it, rename it in."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # pages=-1: one step, one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed: {exc}") from None
    finally:
        dst.close()
        src.close()
    try:
        _check(partial)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, target)


def backup_sqlite(database: Path, target: Path) -> None:
    if not database.is_file():
        raise BackupError(f"no database at {database}")
    _copy(database, target)


def restore_sqlite(backup: Path, database: Path, force: bool) -> None:
    """Put a backup in place of the database (the service must be stopped)."""
    if not backup.is_file():
        raise BackupError(f"no backup at {backup}")
    _check(backup)
    if database.exists() and not force:
        raise BackupError(f"{database} exists: stop the service and add --force to replace it")
    database.parent.mkdir(parents=True, exist_ok=True)
    _copy(backup, database)
    for suffix in ("-wal", "-shm"):  # the old database's, not the restored one's
        database.with_name(database.name + suffix).unlink(missing_ok=True)


def _pg(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries it."""
    parts = urlsplit(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
    host = parts.hostname or ""
    netloc = (unquote(parts.username) + "@" if parts.username else "") + host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(("postgresql", netloc, parts.path, "", "")), env


def _run(tool: str, args: list[str], env: dict[str, str]) -> None:
    exe = shutil.which(tool)
    if exe is None:
        raise BackupError(f"{tool} is not installed (it comes with the PostgreSQL client)")
    # S603: the executable is found on PATH by name; the arguments are ours.
    done = subprocess.run(  # noqa: S603
        [exe, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip()[-500:]}")


def backup_postgresql(database_url: str, target: Path) -> None:
    uri, env = _pg(database_url)
    partial = target.with_name(target.name + ".partial")
    _run("pg_dump", ["--format=custom", "--no-owner", f"--file={partial}", uri], env)
    os.replace(partial, target)


def restore_postgresql(database_url: str, backup: Path) -> None:
    if not backup.is_file():
        raise BackupError(f"no backup at {backup}")
    uri, env = _pg(database_url)
    _run(
        "pg_restore",
        [
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={uri}",
            str(backup),
        ],
        env,
    )


def backup(database_url: str, target: Path) -> None:
    path = sqlite_path(database_url)
    if path is None:
        backup_postgresql(database_url, target)
    else:
        backup_sqlite(path, target)


def restore(database_url: str, source: Path, force: bool) -> None:
    path = sqlite_path(database_url)
    if path is None:
        restore_postgresql(database_url, source)
    else:
        restore_sqlite(source, path, force)
