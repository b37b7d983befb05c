"""Dashboards confirm what they showed, so an alarm is known to have reached a person.

A dashboard tells the service whether it is visible and has sound enabled
(`status`), and which alarm events and snapshot alarms it has shown
(`received`). Receipts are written in batches to `alarm_receipts` by the
process that serves the dashboard; the process that evaluates the alarm's
session reads them on its clock (alarms/service.py), keeps each alarm's
delivery summary and sends to secondary notification an alert that no
visible, sound-enabled screen showed in time.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.alarms import repository as alarms_repo
from vitalwatch.db import unit_of_work
from vitalwatch.live.hub import Hub
from vitalwatch.logging import get_logger
from vitalwatch.tasks import cancel_and_wait, every

log = get_logger(__name__)

FLUSH_EVERY_S = 0.25
#: Ids one message may confirm (a snapshot of a big ward fits; more is refused).
MAX_IDS = 5_000


@dataclass
class Dashboard:
    """One connected page: who, and whether it can alert a nurse right now."""

    user_id: int
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    visible: bool = False  # unknown until the page says: not alerting
    sound: bool = False


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list) or len(value) > MAX_IDS:
        return []
    return [v for v in value if isinstance(v, int) and not isinstance(v, bool) and v > 0]


class Confirmations:
    """Receipts from this process's dashboards, flushed to the database in batches."""

    def __init__(self, maker: async_sessionmaker[AsyncSession], hub: Hub) -> None:
        self._maker = maker
        self._hub = hub
        self._rows: list[dict[str, Any]] = []
        self._status: dict[str, dict[str, Any]] = {}  # dashboard -> its latest status
        self._gone: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def handle(self, dashboard: Dashboard, message: dict[str, Any]) -> None:
        """One client message; anything malformed is ignored (it only weakens
        the dashboard's own delivery record, never the alarm)."""
        kind = message.get("type")
        if kind == "status":  # sent on every change and every 10 s
            dashboard.visible = message.get("visible") is True
            dashboard.sound = message.get("sound") is True
            self._status[dashboard.id] = {
                "id": dashboard.id,
                "user_id": dashboard.user_id,
                "visible": dashboard.visible,
                "sound": dashboard.sound,
                "seen_at": datetime.now(UTC),
            }
        elif kind == "received":
            known = self._hub.alarm_of_event
            alarm_ids = set(_ids(message.get("alarm_ids")))
            alarm_ids.update(known[e] for e in _ids(message.get("event_ids")) if e in known)
            now = datetime.now(UTC)
            self._rows.extend(
                {
                    "alarm_id": a,
                    "dashboard": dashboard.id,
                    "user_id": dashboard.user_id,
                    "visible": dashboard.visible,
                    "sound": dashboard.sound,
                    "received_at": now,
                }
                for a in sorted(alarm_ids)
            )

    def gone(self, dashboard: Dashboard) -> None:
        """The dashboard disconnected: it no longer counts as watching."""
        self._status.pop(dashboard.id, None)
        self._gone.append(dashboard.id)

    def start(self) -> None:
        self._task = asyncio.create_task(
            every(FLUSH_EVERY_S, self.flush, log, "alarm_receipts_flush_failed"),
            name="alarm-receipts",
        )

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await self.flush()

    async def flush(self) -> None:
        rows, self._rows = self._rows, []
        status, self._status = list(self._status.values()), {}
        gone, self._gone = self._gone, []
        if not (rows or status or gone):
            return
        try:
            async with unit_of_work(self._maker) as db:
                conn = await db.connection()
                await alarms_repo.insert_receipts(conn, rows)
                await alarms_repo.replace_dashboards(conn, status, gone)
        except Exception:
            self._rows[:0] = rows[-MAX_IDS * 10 :]  # tried again at the next flush
            self._gone[:0] = gone
            for s in status:
                self._status.setdefault(s["id"], s)
            raise
