"""Every table, imported in one place for Alembic and the schema check."""

from vitalwatch.alarms.models import Alarm, AlarmLogEntry
from vitalwatch.audit.models import AuditEntry
from vitalwatch.auth.models import User
from vitalwatch.cluster.models import PartitionOwner
from vitalwatch.db import Base
from vitalwatch.devices.models import Device
from vitalwatch.hl7.models import DeviceHl7Id, Hl7Sender, Hl7Unmapped, MonitorAlarm
from vitalwatch.live.models import LiveEvent
from vitalwatch.manual.models import ManualReading
from vitalwatch.readings.models import readings
from vitalwatch.sessions.models import Patient, Session, SessionDevice, SessionEvent

__all__ = [
    "Alarm",
    "AlarmLogEntry",
    "AuditEntry",
    "Base",
    "Device",
    "DeviceHl7Id",
    "Hl7Sender",
    "Hl7Unmapped",
    "LiveEvent",
    "ManualReading",
    "MonitorAlarm",
    "PartitionOwner",
    "Patient",
    "Session",
    "SessionDevice",
    "SessionEvent",
    "User",
    "readings",
]
