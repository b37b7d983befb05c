"""The alarm engine: pure numpy, no I/O (see core.py for the layers)."""

from vitalwatch.alarms.engine.channels import CHANNELS, MIN_GAP_S
from vitalwatch.alarms.engine.core import AlarmEngine
from vitalwatch.alarms.engine.lifecycle import ESCALATE_AFTER_S, REMINDER_EVERY_S, SILENCE_MAX_S
from vitalwatch.alarms.engine.model import (
    LOGGED,
    SIGNIFICANCE,
    Action,
    AlarmView,
    ConditionView,
    SessionConfig,
    State,
    Transition,
)

__all__ = [
    "CHANNELS",
    "ESCALATE_AFTER_S",
    "LOGGED",
    "MIN_GAP_S",
    "REMINDER_EVERY_S",
    "SIGNIFICANCE",
    "SILENCE_MAX_S",
    "Action",
    "AlarmEngine",
    "AlarmView",
    "ConditionView",
    "SessionConfig",
    "State",
    "Transition",
]
