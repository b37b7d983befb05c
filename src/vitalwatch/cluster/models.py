"""Fencing: which process evaluates a partition, and since which epoch.

The Redis lease says who should own a partition; this row makes it safe. A
new owner increments `epoch` (waiting for the old owner's open transaction),
and every transaction that stores samples or alarms checks its epoch is still
current, so a process that lost its lease while paused cannot write next to
the new owner.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, UTCDateTime


class PartitionOwner(Base):
    __tablename__ = "partition_owners"

    partition: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    epoch: Mapped[int] = mapped_column(BigInteger)
    owner: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
