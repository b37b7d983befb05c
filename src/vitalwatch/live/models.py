"""The live event log: every `alarm` and `session` event a dashboard must not miss.

Its autoincrement id is the WebSocket `event_id`, so a dashboard that
reconnects with `since` is replayed from the database, whichever process it
reaches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, BigIntPK, UTCDateTime, utcnow


class LiveEvent(Base):
    __tablename__ = "live_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))  # "alarm" | "session"
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
