"""Notification targets, the escalation chain and the durable outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, BigIntPK, UTCDateTime, utcnow


class NotifyTarget(Base):
    """Where a secondary notification goes: a webhook, an ntfy topic, an e-mail
    address, or any service apprise knows (its URL)."""

    __tablename__ = "notify_targets"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # webhook | ntfy | email | apprise
    #: The webhook or ntfy topic URL, the e-mail address, or the apprise URL.
    address: Mapped[str] = mapped_column(Text)
    #: The webhook's HMAC key, or the ntfy access token; never returned after creation.
    secret: Mapped[str | None] = mapped_column(String(200))
    #: The staff member who carries this phone: acknowledge links act as them.
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotifyChainStep(Base):
    """One step of the escalation chain: this target, `delay_s` after hand-over."""

    __tablename__ = "notify_chain"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    target_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("notify_targets.id"))
    delay_s: Mapped[int] = mapped_column(Integer)


class NotifyOutbox(Base):
    """One notification of one alarm to one target, written in the transaction of
    the alarm transition that caused it and delivered at least once."""

    __tablename__ = "notify_outbox"
    __table_args__ = (
        Index("ix_notify_outbox_state_due", "state", "due_at"),
        Index("ix_notify_outbox_alarm", "alarm_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alarms.id"))
    #: The alarm's session: its partition's owner is the one process that sends.
    session_id: Mapped[int] = mapped_column(BigInteger)
    target_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("notify_targets.id"))
    step: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    #: Sent with every attempt (Idempotency-Key header, e-mail Message-ID).
    key: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16))  # pending | sent | cancelled | failed
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Set while an attempt is under way; a crash leaves it set, and the next
    #: owner of the partition sends the row again (at least once).
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the acknowledge link of this notification was used (single use).
    link_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
