"""NEWS2 (Royal College of Physicians, 2017) from the latest hr, sbp, rr, spo2.

A secondary deterioration indicator on the dashboard, never alarm logic:
NEWS2 was validated for acute illness, and the expected BP and HR rise of a
dosing session alone scores points. Temperature, consciousness and oxygen
therapy are not measured here, so the score covers the four parameters only
and says which of those were missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# (upper bound inclusive, points) per parameter, from clinical-defaults.md's bands
_HR: Sequence[tuple[float, int]] = (
    (40, 3),
    (50, 1),
    (90, 0),
    (110, 1),
    (130, 2),
    (float("inf"), 3),
)
_SBP: Sequence[tuple[float, int]] = ((90, 3), (100, 2), (110, 1), (219, 0), (float("inf"), 3))
_RR: Sequence[tuple[float, int]] = ((8, 3), (11, 1), (20, 0), (24, 2), (float("inf"), 3))
_SPO2: Sequence[tuple[float, int]] = ((91, 3), (93, 2), (95, 1), (float("inf"), 0))


@dataclass(frozen=True, slots=True)
class News2:
    score: int
    level: str  # "low" | "urgent review" | "emergency"
    any_three: bool
    missing: tuple[str, ...]


def _points(value: float, bands: Sequence[tuple[float, int]]) -> int:
    rounded = round(value)  # the bands are whole numbers: 90.4 counts as 90
    for upper, points in bands:
        if rounded <= upper:
            return points
    return bands[-1][1]


def news2(
    *, hr: float | None, sbp: float | None, rr: float | None, spo2: float | None
) -> News2 | None:
    """The score over the parameters present; None when none is."""
    parts = {"hr": (hr, _HR), "sbp": (sbp, _SBP), "rr": (rr, _RR), "spo2": (spo2, _SPO2)}
    points = [_points(v, bands) for v, bands in parts.values() if v is not None]
    if not points:
        return None
    score = sum(points)
    any_three = 3 in points
    level = "emergency" if score >= 7 else "urgent review" if score >= 5 or any_three else "low"
    missing = tuple(name for name, (v, _) in parts.items() if v is None)
    return News2(score=score, level=level, any_three=any_three, missing=missing)
