"""Database engine, declarative base and the request-scoped session.

One code path for SQLite (embedded default, WAL) and PostgreSQL (production):
only portable SQL here and in the repositories.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from vitalwatch.config import Settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Integer primary keys that are BIGINT on PostgreSQL yet autoincrement on SQLite.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_ms(t: datetime) -> int:
    """Epoch milliseconds: how readings keep their times (`ts_ms`)."""
    return int(t.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """A reading's time (epoch milliseconds) as a UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def create_engine(settings: Settings) -> AsyncEngine:
    """The engine, with SQLite put in WAL mode and durable per settings."""
    # hide_parameters: an error's message never carries the statement's values
    # (patient references and names would reach the log with a traceback).
    kwargs: dict[str, Any] = {"pool_pre_ping": not settings.is_sqlite, "hide_parameters": True}
    if settings.is_sqlite:
        kwargs["connect_args"] = {"timeout": settings.sqlite_busy_timeout_s}
    else:
        kwargs.update(pool_size=10, max_overflow=20)
    engine = create_async_engine(settings.database_url, **kwargs)
    if settings.is_sqlite:
        synchronous = settings.sqlite_synchronous
        busy_ms = int(settings.sqlite_busy_timeout_s * 1000)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.close()

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction, the same way for a request, a clock tick or a background
    job: committed when the block ends, rolled back when it raises; what was
    registered with `on_commit` (live events, telling an evaluator) runs only
    once the commit has succeeded."""
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            session.info.pop("on_commit", None)
            await session.rollback()
            raise
        await run_on_commit(session)


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """Request-scoped unit of work: committed when the handler succeeds."""
    async with unit_of_work(request.app.state.ctx.sessionmaker) as session:
        yield session


#: scope="function": the commit happens before the response is sent, so a 2xx
#: always means the change is durable.
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]


def on_commit(db: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Run `callback` once the request's transaction has committed.

    Live events must reach dashboards only for changes that are durable, so
    publishers register here instead of sending before the commit.
    """
    db.info.setdefault("on_commit", []).append(callback)


async def run_on_commit(db: AsyncSession) -> None:
    callbacks: list[Callable[[], Awaitable[None]]] = db.info.pop("on_commit", [])
    for callback in callbacks:
        await callback()
