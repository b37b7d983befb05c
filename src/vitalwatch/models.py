"""Every table, imported in one place for Alembic and the schema check."""

from vitalwatch.alarms.models import Alarm, AlarmLogEntry
from vitalwatch.audit.models import AuditEntry
from vitalwatch.auth.models import User
from vitalwatch.cluster.models import PartitionOwner
from vitalwatch.db import Base
from vitalwatch.devices.models import Device, DeviceHl7Id, SessionDevice
from vitalwatch.hl7.models import Hl7Sender, Hl7Unmapped, MonitorAlarm
from vitalwatch.live.models import LiveEvent
from vitalwatch.notify.models import NotifyChainStep, NotifyOutbox, NotifyTarget
from vitalwatch.patients.models import Patient
from vitalwatch.readings.models import ManualReading, readings
from vitalwatch.records.models import (
    ChecklistEntry,
    ClinicProfile,
    Observation,
    RecordProfile,
    RemsForm,
    SessionReadiness,
)
from vitalwatch.reports.models import ALARMS_RAISED_AT
from vitalwatch.sdc.models import SdcBinding, SdcSkipped
from vitalwatch.sessions.models import Session, SessionEvent

__all__ = [
    "ALARMS_RAISED_AT",
    "Alarm",
    "AlarmLogEntry",
    "AuditEntry",
    "Base",
    "ChecklistEntry",
    "ClinicProfile",
    "Device",
    "DeviceHl7Id",
    "Hl7Sender",
    "Hl7Unmapped",
    "LiveEvent",
    "ManualReading",
    "MonitorAlarm",
    "NotifyChainStep",
    "NotifyOutbox",
    "NotifyTarget",
    "Observation",
    "PartitionOwner",
    "Patient",
    "RecordProfile",
    "RemsForm",
    "SdcBinding",
    "SdcSkipped",
    "Session",
    "SessionDevice",
    "SessionEvent",
    "SessionReadiness",
    "User",
    "readings",
]
