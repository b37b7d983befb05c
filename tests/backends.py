"""Database and Redis servers for the suite: the configured ones, or throwaways.

SQLite always. PostgreSQL and Redis: the servers at VITALWATCH_TEST_POSTGRES_URL
and VITALWATCH_TEST_REDIS_URL when they answer (CI starts them with
`.ci/services`); otherwise, when the server binaries are installed, the suite
starts throwaway instances of its own, once per test run: own data directory
and free port on 127.0.0.1, as the current user (as `nobody` when that is
root, which PostgreSQL refuses), stopped at the end of the run and if the
test process dies. Only a missing binary skips, naming the package to
install. In CI (`VITALWATCH_TEST_REQUIRE_ALL=1`) that is a failure instead.

A test that must restart a server (tests/faults) starts a throwaway of its
own the same way (`own(start_postgres)`) and calls `restart`, or `halt` and
`start`, on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.support import end_process, free_port, needs_servers

PG_ADMIN_URL = os.environ.get(
    "VITALWATCH_TEST_POSTGRES_URL", "postgresql://postgres:vitalwatch@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("VITALWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_ALL = os.environ.get("VITALWATCH_TEST_REQUIRE_ALL") == "1"
BACKENDS = ("sqlite", "postgresql")
#: The user a throwaway server runs as when the tests run as root.
UNPRIVILEGED = "nobody"
_PG_BINARIES = ("initdb", "postgres")


class Unavailable(Exception):
    """No server to test against; the message says what to install or start."""


def _unavailable(message: str) -> NoReturn:
    if REQUIRE_ALL:
        pytest.fail(message)
    pytest.skip(message)


# --- throwaway servers ------------------------------------------------------------


def _die_with_parent() -> None:
    """In the server process: end when the test process ends, however it ends."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class Throwaway:
    """One server process of this test run, in a temporary directory. It may be
    halted and started again (a restart): same port, same data directory (Redis
    keeps no data, so it comes back empty)."""

    name: str
    args: list[str]
    folder: Path
    url: str
    problem: Callable[[str], str | None]
    within_s: float
    proc: subprocess.Popen[bytes] = field(init=False)
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.folder / "server.log"

    def start(self) -> None:
        """Run `args` in the folder (as `_run_as()`, dying with this process,
        output in server.log) and wait until `problem(url)` finds none; halted
        and `Unavailable` when it exits or `within_s` passes first."""
        as_user = _run_as()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                user=as_user.user,
                group=as_user.group,
                extra_groups=as_user.extra_groups,
            )
        deadline = time.monotonic() + self.within_s
        while self.problem(self.url) is not None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.halt()
                raise Unavailable(f"the tests' own {self.name} did not start: see {self.log}")
            time.sleep(0.1)

    def halt(self) -> None:
        """End the process, keeping its folder. SIGINT: PostgreSQL's fast
        shutdown (SIGTERM waits for clients); Redis shuts down without saving."""
        end_process(self.proc, signal.SIGINT)

    def restart(self) -> None:
        self.halt()
        self.start()

    def stop(self) -> None:
        """End the process and remove its folder."""
        self.halt()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class _Identity:
    """Who a throwaway server runs as: this user, or `nobody` instead of root
    (PostgreSQL will not run as root)."""

    user: int | None = None
    group: int | None = None
    extra_groups: list[int] | None = None


def _run_as() -> _Identity:
    if os.geteuid() != 0:
        return _Identity()
    entry = pwd.getpwnam(UNPRIVILEGED)
    return _Identity(entry.pw_uid, entry.pw_gid, [])


def _folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(UNPRIVILEGED)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    return folder


#: What a laptop without them is told to install.
POSTGRES_MISSING = (
    "no PostgreSQL server binaries (initdb, postgres) to start one for the tests: "
    "install them with `sudo apt-get install postgresql`"
)
REDIS_MISSING = (
    "no redis-server binary to start one for the tests: "
    "install it with `sudo apt-get install redis-server`"
)


def _executable(name: str, *also: str) -> str | None:
    """`name` on PATH or in the directories `also` (Debian's sbin and versioned
    bin folders are not always on PATH), as an executable file."""
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *also]))


def postgres_bindir() -> Path | None:
    """Where initdb and postgres are: on PATH, or Debian's /usr/lib/postgresql/<ver>/bin."""
    found = [_executable(b) for b in _PG_BINARIES]
    if all(found):
        return Path(str(found[0])).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.name.split(".")],
    )
    for bindir in reversed(versions):
        if all(shutil.which(b, path=str(bindir)) for b in _PG_BINARIES):
            return bindir
    return None


def redis_binary() -> str | None:
    return _executable("redis-server", "/usr/bin", "/usr/sbin")


def installed(found: object, missing: str) -> None:
    """Skip the calling test (fail it in CI) when a server binary is not `found`."""
    if found is None:
        _unavailable(missing)


def start_postgres() -> Throwaway:
    bindir = postgres_bindir()
    if bindir is None:
        raise Unavailable(POSTGRES_MISSING)
    folder = _folder("vw-test-pg-")
    data = folder / "data"
    as_user = _run_as()
    with (folder / "server.log").open("ab") as log:
        init = subprocess.run(
            [
                *(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"),
                *("-E", "UTF8", "--no-sync", "--no-instructions"),
            ],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=120,
            check=False,
            user=as_user.user,
            group=as_user.group,
            extra_groups=as_user.extra_groups,
        )
    if init.returncode != 0:
        raise Unavailable(f"initdb failed: see {folder / 'server.log'}")
    port = free_port()
    settings = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(folder),
        "fsync": "off",  # a throwaway: nothing here must survive a crash
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "300",
    }
    args = [str(bindir / "postgres"), "-D", str(data), "-p", str(port)]
    for key, value in settings.items():
        args += ["-c", f"{key}={value}"]
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    return _serve("PostgreSQL", args, folder, url, _pg_problem, within_s=60)


def start_redis() -> Throwaway:
    binary = redis_binary()
    if binary is None:
        raise Unavailable(REDIS_MISSING)
    folder = _folder("vw-test-redis-")
    port = free_port()
    args = [
        *(binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)),
        *("--save", "", "--appendonly", "no", "--daemonize", "no"),
    ]
    return _serve("Redis", args, folder, f"redis://127.0.0.1:{port}/0", _redis_problem, within_s=30)


def _serve(
    what: str,
    args: list[str],
    folder: Path,
    url: str,
    problem: Callable[[str], str | None],
    within_s: float,
) -> Throwaway:
    """A started `Throwaway`; its folder removed when it does not start."""
    server = Throwaway(what, args, folder, url, problem, within_s)
    try:
        server.start()
    except Unavailable:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return server


def own(start: Callable[[], Throwaway]) -> Throwaway:
    """A throwaway server for one test alone (to restart or stop), from
    `start_postgres` or `start_redis`: skipped (failed in CI) when it cannot start."""
    try:
        return start()
    except Unavailable as exc:
        _unavailable(str(exc))


# --- which server a test run uses ----------------------------------------------------


async def _pg_admin(url: str, sql: str) -> Any:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=3)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def _pg_run(url: str, sql: str) -> Any:
    """Run one statement and return its first value."""
    # in a thread: callers may be inside a running event loop (async tests)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _pg_admin(url, sql)).result()


def _pg_problem(url: str) -> str | None:
    try:
        _pg_run(url, "SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _redis_problem(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


class _Chosen:
    """The server of one kind this test run uses, decided once."""

    def __init__(
        self,
        what: str,
        configured: str,
        problem: Callable[[str], str | None],
        start: Callable[[], Throwaway],
    ) -> None:
        self.what = what
        self.configured = configured
        self._problem = problem
        self._start = start
        self._lock = threading.Lock()
        self._url: str | None = None
        self._failure: str | None = None
        self.throwaway: Throwaway | None = None

    def url(self) -> str:
        with self._lock:
            if self._url is None and self._failure is None:
                why = self._problem(self.configured)
                if why is None:
                    self._url = self.configured
                else:
                    try:
                        self.throwaway = self._start()
                        self._url = self.throwaway.url
                    except Unavailable as exc:
                        self._failure = (
                            f"{self.what} not reachable at {self.configured} ({why}), "
                            f"and {exc}; or start one with `bash .ci/services` (as root)"
                        )
        if self._failure is not None:
            _unavailable(self._failure)
        assert self._url is not None
        return self._url

    def stop(self) -> None:
        with self._lock:
            if self.throwaway is not None:
                self.throwaway.stop()
                self.throwaway = None
                self._url = None


POSTGRES = _Chosen("PostgreSQL", PG_ADMIN_URL, _pg_problem, start_postgres)
REDIS = _Chosen("Redis", REDIS_URL, _redis_problem, start_redis)


def stop_throwaways() -> None:
    """End the servers this run started (conftest calls this when the run ends)."""
    for chosen in (POSTGRES, REDIS):
        with contextlib.suppress(Exception):
            chosen.stop()


def postgres_admin_url() -> str:
    return POSTGRES.url()


def new_database_url(backend: str, workdir: Path) -> str:
    """A fresh, empty database for one server."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / 'vitalwatch.db'}"
    needs_servers("PostgreSQL")
    return fresh_database(postgres_admin_url())


def fresh_database(admin: str) -> str:
    """A new, empty database on the PostgreSQL server at `admin` (a libpq URL of
    its `postgres` database): the SQLAlchemy URL a server is given."""
    name = f"vw_test_{secrets.token_hex(6)}"
    try:
        _pg_run(admin, f'CREATE DATABASE "{name}"')
    except Exception as exc:
        _unavailable(f"PostgreSQL at {admin} refused CREATE DATABASE: {exc}")
    base = admin.replace("postgresql://", "postgresql+asyncpg://", 1)
    return base.rsplit("/", 1)[0] + "/" + name


def copy_if_empty(database_url: str, template: str) -> bool:
    """Replace the database of `database_url` by a copy of the database named
    `template` (PostgreSQL's CREATE DATABASE ... TEMPLATE) if it has no tables
    yet; False, and nothing changed, if it has."""
    libpq = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = libpq.rsplit("/", 1)[1]
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    if _pg_run(libpq, tables) != 0:
        return False
    admin = libpq.rsplit("/", 1)[0] + "/postgres"
    _pg_run(admin, f'DROP DATABASE "{name}"')
    _pg_run(admin, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return True


def require_redis() -> str:
    needs_servers("Redis")
    return REDIS.url()
