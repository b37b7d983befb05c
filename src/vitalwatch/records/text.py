"""Times and numbers as a nurse reads them in the clinic's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def hm(t: datetime | None, tz: ZoneInfo) -> str:
    return "" if t is None else t.astimezone(tz).strftime("%H:%M")


def hms(t: datetime | None, tz: ZoneInfo) -> str:
    return "" if t is None else t.astimezone(tz).strftime("%H:%M:%S")


def day(t: datetime | None, tz: ZoneInfo) -> str:
    return "" if t is None else t.astimezone(tz).strftime("%Y-%m-%d")


def stamp(t: datetime | None, tz: ZoneInfo) -> str | None:
    """ "2026-12-07 16:03 Europe/Berlin": a date and time with its zone named."""
    return None if t is None else f"{t.astimezone(tz):%Y-%m-%d %H:%M} {tz}"


def num(v: float | None) -> str:
    if v is None:
        return ""
    return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"


def minutes(a: datetime | None, b: datetime | None) -> int | None:
    """Whole minutes from a to b (None when either is missing)."""
    if a is None or b is None:
        return None
    return int((b - a).total_seconds() // 60)
