"""A staff command that a partition's stream delivers again runs, and is audited, once.

An owner that committed an acknowledge and died before XACK leaves the
entry pending; the next owner claims it and reads it again. The entry is
known by its request (the requester's reply stream and request id), which
its audit row carries: the row commits with the alarm change, in the alarm
service's transaction, so the next owner finds the command done and only
answers it. This is the alarm service's `CommandSource` port
(alarms/ports.py); the request is set around the call by `delivered_as`, per
stream entry (each entry is handled in its own task, so in its own context).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit import service as audit

#: The stream request of the command being run in this task (None: called directly).
_request: ContextVar[str | None] = ContextVar("vitalwatch_cluster_request", default=None)


@contextmanager
def delivered_as(request: str) -> Iterator[None]:
    """Run the alarm command inside as the stream entry `request`."""
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


class StreamCommands:
    """Commands read from a partition's stream: a repeat is found in the audit log."""

    async def repeated(self, db: AsyncSession, action: str, alarm_id: int) -> bool:
        request = _request.get()
        return request is not None and await audit.done_before(
            db, action=action, entity="alarm", entity_id=alarm_id, request=request
        )

    def audit_detail(self) -> Mapping[str, Any]:
        request = _request.get()
        return {} if request is None else {"request": request}
