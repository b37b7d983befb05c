"""Times and numbers as a nurse reads them in the clinic's time zone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from vitalwatch.vitals import whole, whole_with_unit


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


def baseline(base: Mapping[str, float | None], spo2: bool = False) -> str:
    """ "BP 115/65 mmHg, HR 72/min" (and "SpO2 97%"): a baseline is a median
    (114.5), printed in whole units rounded half up, with units; "none" without one."""
    sbp, dbp, hr, o2 = (base.get(m) for m in ("sbp", "dbp", "hr", "spo2"))
    parts = [f"BP {whole(sbp)}/{whole(dbp)} mmHg"] if sbp is not None and dbp is not None else []
    parts += [f"HR {whole_with_unit('hr', hr)}"] if hr is not None else []
    parts += [f"SpO2 {whole_with_unit('spo2', o2)}"] if spo2 and o2 is not None else []
    return ", ".join(parts) or "none"


def minutes(a: datetime | None, b: datetime | None) -> int | None:
    """Whole minutes from a to b (None when either is missing)."""
    if a is None or b is None:
        return None
    return int((b - a).total_seconds() // 60)
