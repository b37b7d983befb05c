"""Indexes the reports read by, on tables that other domains own.

The alarm-load report selects a date range of alarms by `raised_at`; without
this index a month's report reads the whole alarm history (hundreds of
thousands of rows a year in a busy clinic). The index is declared here, on
the alarms table, so the alarm core's model stays as it is.
"""

from __future__ import annotations

from sqlalchemy import Index

from vitalwatch.alarms.models import Alarm

ALARMS_RAISED_AT = Index("ix_alarms_raised_at", Alarm.raised_at)
