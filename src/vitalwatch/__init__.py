"""VitalWatch: vital-signs monitoring and alarms for supervised dosing sessions."""

__version__ = "0.1.0"
