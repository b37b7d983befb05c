"""Every table, imported in one place for Alembic and the schema check."""

from vitalwatch.alarms.models import Alarm, AlarmLogEntry
from vitalwatch.audit.models import AuditEntry
from vitalwatch.auth.models import User
from vitalwatch.cluster.models import PartitionOwner
from vitalwatch.db import Base
from vitalwatch.devices.models import Device
from vitalwatch.live.models import LiveEvent
from vitalwatch.notify.models import NotifyChainStep, NotifyOutbox, NotifyTarget
from vitalwatch.readings.models import readings
from vitalwatch.reports.models import ALARMS_RAISED_AT
from vitalwatch.sessions.models import Patient, Session, SessionDevice, SessionEvent

__all__ = [
    "ALARMS_RAISED_AT",
    "Alarm",
    "AlarmLogEntry",
    "AuditEntry",
    "Base",
    "Device",
    "LiveEvent",
    "NotifyChainStep",
    "NotifyOutbox",
    "NotifyTarget",
    "PartitionOwner",
    "Patient",
    "Session",
    "SessionDevice",
    "SessionEvent",
    "User",
    "readings",
]
