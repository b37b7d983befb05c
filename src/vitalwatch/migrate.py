"""Apply Alembic migrations from code (`vitalwatch serve` runs this on start)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
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
    cfg = Config()
    cfg.set_main_option("script_location", str(_script_location()))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
