"""The session object as staff see it, in process on a real database: built
with the same number of queries for one session as for many, and shown to
dashboards (SessionViews, the sessions domain's port) only once the change
commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import Ward
from vitalwatch.config import Settings
from vitalwatch.db import create_engine, create_sessionmaker, unit_of_work
from vitalwatch.live.hub import Hub
from vitalwatch.overview.service import SessionViews, views
from vitalwatch.patients.models import Patient
from vitalwatch.readings.latest import LatestStore
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.models import Session
from vitalwatch.sessions.thresholds import defaults_for


@pytest.fixture
async def engine(ward: Ward) -> AsyncIterator[AsyncEngine]:
    made = create_engine(Settings(database_url=ward.url))
    yield made
    await made.dispose()


async def add_sessions(engine: AsyncEngine, n: int) -> None:
    async with unit_of_work(create_sessionmaker(engine)) as db:
        for k in range(n):
            patient = Patient(ref=f"V-{k}")
            db.add(patient)
            await db.flush()
            db.add(
                Session(
                    patient_id=patient.id,
                    protocol="esketamine-in",
                    thresholds=defaults_for("esketamine-in").model_dump(mode="json"),
                    started_at=datetime.now(UTC) - timedelta(minutes=5),
                )
            )


class Statements:
    """Counts the SQL statements the engine sends."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


async def test_many_sessions_take_as_many_queries_as_one(ward: Ward, engine: AsyncEngine) -> None:
    await add_sessions(engine, 20)
    settings = Settings(database_url=ward.url)
    counted = Statements(engine)
    maker = create_sessionmaker(engine)
    per_call = []
    for limit in (1, 21):
        async with unit_of_work(maker) as db:
            shown = list(await sessions_repo.list_(db, "active"))[:limit]
            before = counted.count
            out = await views(db, LatestStore(), settings, shown)
            per_call.append(counted.count - before)
        assert [s.id for s in out] == [s.id for s in shown]
        assert all(s.readiness is not None and s.alarms == [] for s in out)
    assert per_call[0] == per_call[1], per_call
    assert per_call[0] > 0


async def test_a_changed_session_reaches_dashboards_only_once_committed(
    ward: Ward, engine: AsyncEngine
) -> None:
    maker = create_sessionmaker(engine)
    settings = Settings(database_url=ward.url)
    latest = LatestStore()
    hub = Hub(latest, maker)
    published: list[tuple[int, str, dict[str, Any]]] = []
    hub.attach(lambda i, t, p: published.append((i, t, p)), lambda session_id: None)
    shows = SessionViews(latest, settings, hub)

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with unit_of_work(maker) as db:
            session = await sessions_repo.get(db, ward.session_id)
            assert session is not None
            session.room = "Room 9"
            await shows.show(db, [session])
            raise Refused
    assert published == []  # rolled back: nobody is shown a change that did not happen

    async with unit_of_work(maker) as db:
        session = await sessions_repo.get(db, ward.session_id)
        assert session is not None and session.room is None
        session.room = "Room 7"
        await shows.show(db, [session])
        assert published == []  # not before the commit
    assert [(t, p["session"]["id"], p["session"]["room"]) for _, t, p in published] == [
        ("session", ward.session_id, "Room 7")
    ]
