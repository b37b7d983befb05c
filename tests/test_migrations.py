"""The Alembic history and the models agree; upgrade and downgrade both work."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vitalwatch import migrate
from vitalwatch.config import Settings
from vitalwatch.db import create_engine
from vitalwatch.models import Base


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _diff(url: str) -> list[object]:
    async def run() -> list[object]:
        engine = create_engine(Settings(database_url=url))
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
        await engine.dispose()
        return list(diff)

    return asyncio.run(run())


def test_upgrade_matches_models_and_downgrade_removes_everything(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url)
    assert set(Base.metadata.tables) <= _tables(path)
    assert _diff(url) == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    migrate.downgrade(url, "base")
    assert _tables(path) <= {"alembic_version"}
    migrate.upgrade(url)
    assert _diff(url) == []
