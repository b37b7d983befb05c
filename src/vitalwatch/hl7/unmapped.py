"""OBX rows not stored, counted per reason, code and unit until the next flush
(`GET /api/v1/hl7/unmapped` lists them; no patient data: codes, units and
one example value)."""

from __future__ import annotations

import hashlib
from typing import Any

from vitalwatch.db import utcnow
from vitalwatch.hl7.extract import Skipped
from vitalwatch.metrics import HL7_ROWS_SKIPPED

#: vitalwatch_hl7_rows_skipped_total{reason}: a few labels (the listed reason says more)
_SKIP_LABELS = {
    "unmapped": "unmapped",
    "unit": "unit",
    "waveform": "waveform",
    "other source preferred": "other_source",
    "not a number": "not_numeric",
    "no value": "no_value",
    "implausible": "implausible",
}
_SKIP_PREFIXES = (
    ("status ", "status"),
    ("not numeric", "not_numeric"),
    ("observation time", "time"),
)


def _reason_label(reason: str) -> str:
    label = _SKIP_LABELS.get(reason)
    if label is None:
        label = next((v for p, v in _SKIP_PREFIXES if reason.startswith(p)), "ignored")
    return label


class UnmappedRows:
    def __init__(self) -> None:
        self._rows: dict[str, dict[str, Any]] = {}

    def take(self) -> dict[str, dict[str, Any]]:
        """The rows counted since the last take (keyed by their sha1 key)."""
        rows, self._rows = self._rows, {}
        return rows

    def note(self, skipped: list[Skipped]) -> None:
        """Count the rows of a message that were not stored."""
        now = utcnow()
        for s in skipped:
            HL7_ROWS_SKIPPED.labels(_reason_label(s.reason)).inc()
            if s.reason == "other source preferred":
                continue
            fields = (s.reason, s.system, s.ident, s.text, s.unit)
            key = hashlib.sha1("\x1f".join(fields).encode()).hexdigest()  # noqa: S324 - a key
            row = self._rows.get(key)
            if row is None:
                self._rows[key] = {
                    "reason": s.reason[:120],
                    "system": s.system[:64],
                    "code": s.ident[:120],
                    "text": s.text[:200],
                    "unit": s.unit[:64],
                    "example": s.value[:64],
                    "count": 1,
                    "first_seen": now,
                    "last_seen": now,
                }
            else:
                row["count"] += 1
                row["last_seen"] = now
                row["example"] = s.value[:64]
