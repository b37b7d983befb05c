"""Why a staff action on an alarm is refused (answered 404 / 409 at the edge).

Raised where the alarm is evaluated and where a request is routed to it
(cluster/), and carried by name between processes (cluster/distributed.py).
"""

from __future__ import annotations

from vitalwatch.errors import Conflict, NotFound


class AlarmNotFound(NotFound):
    def __init__(self, alarm_id: int) -> None:
        super().__init__(f"Alarm {alarm_id} not found")


class AlarmResolved(Conflict):
    def __init__(self, alarm_id: int) -> None:
        super().__init__(f"Alarm {alarm_id} is already resolved")
