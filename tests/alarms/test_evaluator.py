"""The alarm evaluator in process (the engine wrapped in transactions), on
SQLite and PostgreSQL: a sample stored by the group commit raises its alarm in
the same transaction, publishes it only after the commit, and a staff action
on it is refused with a domain error when it cannot be done."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import Ward
from vitalwatch.alarms.errors import AlarmNotFound
from vitalwatch.alarms.models import Alarm
from vitalwatch.alarms.service import AlarmService
from vitalwatch.audit.service import Actor
from vitalwatch.config import Settings
from vitalwatch.db import create_engine, create_sessionmaker
from vitalwatch.live.hub import Hub
from vitalwatch.live.models import LiveEvent
from vitalwatch.readings.latest import LatestStore
from vitalwatch.readings.validation import parse_readings
from vitalwatch.readings.writer import GroupCommitWriter
from vitalwatch.samples import SampleColumns
from vitalwatch.sessions import repository as sessions_repo

NURSE = Actor("user", None, "nurse")


class Published:
    """Stands in for the bus the hub publishes committed events to."""

    def __init__(self) -> None:
        self.events: list[tuple[int, str, dict[str, Any]]] = []

    def __call__(self, event_id: int, type_: str, payload: dict[str, Any]) -> None:
        self.events.append((event_id, type_, payload))


@pytest.fixture
async def engine(ward: Ward) -> AsyncIterator[AsyncEngine]:
    made = create_engine(Settings(database_url=ward.url))
    yield made
    await made.dispose()


def bp(sbp: float, dbp: float, seq0: int, n: int = 3) -> SampleColumns:
    start = datetime.now(UTC) - timedelta(seconds=30)
    body = {
        "samples": [
            {
                "seq": seq0 + k,
                "ts": (start + timedelta(seconds=k)).isoformat(),
                "sbp": sbp,
                "dbp": dbp,
                "hr": 80,
            }
            for k in range(n)
        ]
    }
    return parse_readings(orjson.dumps(body), int(datetime.now(UTC).timestamp() * 1000), 5_000)


async def test_a_stored_sample_raises_its_alarm_in_its_transaction_and_publishes_after(
    ward: Ward, engine: AsyncEngine
) -> None:
    maker = create_sessionmaker(engine)
    hub = Hub(LatestStore(), maker)
    published = Published()
    hub.attach(published, lambda session_id: None)
    alarms = AlarmService(Settings(database_url=ward.url), maker, hub)
    writer = GroupCommitWriter(
        engine, sessions_repo.note_on_timeline, listeners=[alarms], lock=alarms.lock
    )
    await alarms.start()
    writer.start()
    try:
        quiet = await writer.submit(ward.bound, bp(120, 75, seq0=0))
        assert quiet.accepted == 3 and published.events == []
        await writer.submit(ward.bound, bp(190, 95, seq0=100))
        async with maker() as db:
            rows = (await db.scalars(select(Alarm))).all()
            events = (await db.scalars(select(LiveEvent).order_by(LiveEvent.id))).all()
        assert [(a.session_id, a.priority, a.state) for a in rows] == [
            (ward.session_id, "high", "active")
        ]
        assert "SBP" in (rows[0].message or "")
        # the live event was written in the same commit and published after it
        assert [e.type for e in events] == ["alarm"]
        assert [(i, t) for i, t, _ in published.events] == [(events[0].id, "alarm")]
        assert published.events[0][2]["alarm"]["id"] == rows[0].id

        acknowledged = await alarms.acknowledge(rows[0].id, NURSE)
        assert acknowledged.state == "acknowledged"
        with pytest.raises(AlarmNotFound, match=f"Alarm {rows[0].id + 1000} not found"):
            await alarms.acknowledge(rows[0].id + 1000, NURSE)
    finally:
        await writer.stop()
        await alarms.stop()
