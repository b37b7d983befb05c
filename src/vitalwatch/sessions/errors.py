"""Why a session request is refused (answered 404 / 409 at the edge; a wrong
field is `vitalwatch.errors.Invalid`, a 422 naming it). `SessionNotFound` is
the one "no such session" of every domain (records, manual readings, HL7)."""

from __future__ import annotations

from vitalwatch.errors import Conflict, NotFound


class SessionNotFound(NotFound):
    def __init__(self, session_id: int) -> None:
        super().__init__(f"Session {session_id} not found")


class SessionEnded(Conflict):
    """The session has ended; `consequence` says what was not done, if anything."""

    def __init__(self, session_id: int, consequence: str | None = None) -> None:
        tail = f"; {consequence}" if consequence else ""
        super().__init__(f"Session {session_id} has ended{tail}")


class DeviceBusy(Conflict):
    """A monitor chosen for a new session is bound to another active one."""

    def __init__(self, device_id: int, name: str) -> None:
        super().__init__(f"Device {device_id} ({name}) is already bound to an active session")
