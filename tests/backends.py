"""Database backends the suite runs on: SQLite always, PostgreSQL when reachable.

In CI (`VITALWATCH_TEST_REQUIRE_ALL=1`) a missing server is a failure, not a
skip; elsewhere the skip says why, visibly, in pytest's summary.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get(
    "VITALWATCH_TEST_POSTGRES_URL", "postgresql://postgres:vitalwatch@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("VITALWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_ALL = os.environ.get("VITALWATCH_TEST_REQUIRE_ALL") == "1"
BACKENDS = ("sqlite", "postgresql")


def _unavailable(what: str, why: str) -> None:
    message = f"{what} not reachable ({why}); start it with `bash .ci/services`"
    if REQUIRE_ALL:
        pytest.fail(message)
    pytest.skip(message)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def new_database_url(backend: str, workdir: Path) -> str:
    """A fresh, empty database for one server."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / 'vitalwatch.db'}"
    name = f"vw_test_{secrets.token_hex(6)}"
    try:
        # in a thread: callers may be inside a running event loop (async tests)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _pg_admin(f'CREATE DATABASE "{name}"')).result()
    except Exception as exc:
        _unavailable("PostgreSQL", f"{type(exc).__name__}: {exc}")
    base = PG_ADMIN_URL.replace("postgresql://", "postgresql+asyncpg://", 1)
    return base.rsplit("/", 1)[0] + "/" + name


def require_redis() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception as exc:
        _unavailable("Redis", f"{type(exc).__name__}: {exc}")
    return REDIS_URL
