"""HL7 v2 timestamps (DTM/TS) as real senders write them.

YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ], and the sloppy forms seen in the
field: 17 digits (seconds followed by milliseconds without a dot, Mindray),
stray spaces, a trailing offset after extra digits. A time without an offset
is read in the sender's time zone (a setting, per device if needed).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

_DTM = re.compile(
    r"(?P<y>\d{4})(?P<mo>\d{2})?(?P<d>\d{2})?(?P<h>\d{2})?(?P<mi>\d{2})?(?P<s>\d{2})?"
    r"(?:\.(?P<frac>\d{1,9})|(?P<extra>\d{1,9}))?"
    r"(?P<tz>[+-]\d{2}:?\d{2})?"
)


def to_ms(text: str, default_tz: tzinfo) -> int | None:
    """Epoch milliseconds, or None when the text is not a readable time."""
    m = _DTM.fullmatch(text.replace(" ", ""))
    if m is None:
        return None
    g = m.groupdict()
    frac = g["frac"] if g["frac"] is not None else g["extra"]
    micro = int((frac or "0").ljust(6, "0")[:6])
    try:
        when = datetime(
            int(g["y"]),
            int(g["mo"] or 1),
            int(g["d"] or 1),
            int(g["h"] or 0),
            int(g["mi"] or 0),
            int(g["s"] or 0),
            micro,
        )
    except ValueError:  # 30 February, hour 25
        return None
    if g["tz"]:
        raw = g["tz"].replace(":", "")
        sign = -1 if raw[0] == "-" else 1
        hours, minutes = int(raw[1:3]), int(raw[3:5])
        if hours > 14 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes) * sign
        aware = when.replace(tzinfo=UTC) - offset
    else:
        aware = when.replace(tzinfo=default_tz)
    try:
        return round(aware.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):
        return None
