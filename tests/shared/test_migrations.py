"""The Alembic history and the models agree; upgrade and downgrade both work."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from tests.backends import new_database_url
from vitalwatch import migrate
from vitalwatch.config import Settings
from vitalwatch.db import create_engine
from vitalwatch.models import Base


def _inspect(url: str) -> tuple[set[str], list[object], str | None]:
    """Tables present, differences from the models, and SQLite's journal mode."""

    async def run() -> tuple[set[str], list[object], str | None]:
        engine = create_engine(Settings(database_url=url))
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(
                        c,
                        opts={
                            "compare_type": True,
                            "include_object": migrate.include_object_for(c.dialect.name),
                        },
                    ),
                    Base.metadata,
                )
            )
            mode = None
            if engine.dialect.name == "sqlite":
                mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
        await engine.dispose()
        return tables, list(diff), mode

    return asyncio.run(run())


def test_upgrade_matches_models_and_downgrade_removes_everything(
    backend: str, tmp_path: Path
) -> None:
    url = new_database_url(backend, tmp_path)
    migrate.upgrade(url)
    tables, diff, mode = _inspect(url)
    assert set(Base.metadata.tables) <= tables
    assert diff == []
    if backend == "sqlite":
        assert mode == "wal"
    migrate.downgrade(url, "base")
    tables, _, _ = _inspect(url)
    assert tables <= {"alembic_version"}
    migrate.upgrade(url)
    assert _inspect(url)[1] == []


def test_the_head_read_off_the_scripts_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert migrate.head_revision() == script.get_current_head()


def test_a_database_at_the_head_starts_without_alembic_and_one_behind_is_migrated(
    backend: str, tmp_path: Path
) -> None:
    """Every server start checks the migrations; only a database behind pays
    for loading Alembic."""
    import subprocess
    import sys

    url = new_database_url(backend, tmp_path)
    migrate.upgrade(url)
    probe = (
        "import sys; from vitalwatch import migrate; "
        f"migrate.upgrade({url!r}); print('alembic' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
    previous = str(int(migrate.head_revision()) - 1).zfill(4)
    migrate.downgrade(url, previous)
    assert migrate.current_revision(url) == previous
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()
    assert _inspect(url)[1] == []
