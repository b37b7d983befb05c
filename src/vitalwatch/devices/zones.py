"""A device's time zone by name: HL7 senders often write local times with no
offset, read in the zone set for the device (or the listener's default)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class BadZone(ValueError):
    pass


@lru_cache(maxsize=64)
def zone(name: str | None) -> tzinfo:
    """A time zone by IANA name ("Europe/Berlin", "UTC"); None or "local": this machine's."""
    if name is None or name == "local":
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadZone(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)"
        ) from None
