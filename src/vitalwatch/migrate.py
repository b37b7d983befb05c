"""Apply Alembic migrations from code (`vitalwatch serve` runs this on start)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.config import Config

IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


def include_object_for(dialect: str) -> IncludeObject:
    """Autogenerate filter: leave out objects meant for other backends.

    An index whose `info["dialects"]` does not name the backend (PostgreSQL's
    BRIN index) is neither expected there nor reported missing.
    """

    def include(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        dialects = getattr(obj, "info", {}).get("dialects")
        return dialects is None or dialect in dialects

    return include


def _script_location() -> Path:
    """The migration scripts: shipped in the wheel, or the repo's alembic/ folder."""
    packaged = Path(__file__).parent / "_alembic"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "alembic"


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_script_location()))
    cfg.attributes["database_url"] = database_url
    return cfg


_REVISION = re.compile(r'^revision(?:: str)? = "([^"]+)"', re.MULTILINE)
_DOWN = re.compile(r'^down_revision(?:: str \| None)? = (?:"([^"]+)"|None)', re.MULTILINE)


def head_revision() -> str:
    """The newest migration, read off the scripts' `revision` lines (a few ms;
    Alembic's own script loading costs most of a second on every start)."""
    revisions: dict[str, str | None] = {}
    for script in (_script_location() / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN.search(source)
        if rev is None or down is None:
            raise RuntimeError(f"{script.name}: no revision or down_revision line")
        revisions[rev.group(1)] = down.group(1)
    heads = set(revisions) - {d for d in revisions.values() if d is not None}
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def current_revision(database_url: str) -> str | None:
    """The revision the database says it is at; None when it has none yet."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    async def read() -> str | None:
        engine = create_async_engine(database_url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                result = await conn.execute(text("SELECT version_num FROM alembic_version"))
                return result.scalar_one_or_none()
        except DBAPIError:  # no such table: a database never migrated
            return None
        finally:
            await engine.dispose()

    return asyncio.run(read())


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to `revision`. A database already at the head is left
    as it is without loading Alembic: servers start often (tests, restarts,
    several processes at once) and only the first needs to migrate."""
    if revision == "head" and current_revision(database_url) == head_revision():
        return
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)
