"""Trend charts as SVG (vector) from the stored readings: the HTML report shows
them as they are and the PDF draws the same SVG, so both print the same lines.

Min/max downsampling keeps a short desaturation visible in a 3-hour trend;
limits are dashed lines and doses vertical markers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from vitalwatch.readings.downsample import minmax_downsample

W, H = 720.0, 190.0
LEFT, RIGHT, TOP, BOTTOM = 44.0, 10.0, 22.0, 22.0
MAX_POINTS = 700
#: samples further apart than this are drawn as a gap (a probe off), except cuff BP
GAP_MS = 30_000


@dataclass
class Series:
    label: str
    colour: str
    ts: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    points: bool = False  # cuff readings: markers and joined lines


@dataclass
class Chart:
    title: str
    unit: str
    series: list[Series]
    limits: list[tuple[float, str, str]] = field(default_factory=list)  # value, colour, label
    markers: list[tuple[datetime, str]] = field(default_factory=list)  # time, label


def _f(v: float) -> str:
    return f"{v:.1f}"


def _nice_step(span: float) -> float:
    raw = span / 4
    mag = 10 ** np.floor(np.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return float(m * mag)
    return float(10 * mag)


def svg(chart: Chart, start: datetime, end: datetime, tz: ZoneInfo) -> str:
    t0, t1 = (
        start.timestamp() * 1000,
        max(end.timestamp() * 1000, start.timestamp() * 1000 + 60_000),
    )
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    drawn = []
    for s in chart.series:
        ts, vs = minmax_downsample(s.ts, s.values, MAX_POINTS) if s.ts.size else (s.ts, s.values)
        drawn.append((s, ts, vs))
    values = [v for _, _, vs in drawn for v in vs.tolist()] + [v for v, _, _ in chart.limits]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = max((hi - lo) * 0.08, 2.0)
    lo, hi = lo - pad, hi + pad

    def x(t: float) -> float:
        return LEFT + (t - t0) / (t1 - t0) * pw

    def y(v: float) -> float:
        return TOP + (hi - v) / (hi - lo) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W:.0f}" height="{H:.0f}" '
        f'viewBox="0 0 {W:.0f} {H:.0f}" font-family="Helvetica, Arial, sans-serif">',
        f'<text x="{LEFT:.0f}" y="14" font-size="12" font-weight="bold" fill="#111">'
        f"{escape(chart.title)} ({escape(chart.unit)})</text>",
        f'<rect x="{LEFT:.0f}" y="{TOP:.0f}" width="{pw:.0f}" height="{ph:.0f}" fill="none" '
        'stroke="#999" stroke-width="0.6"/>',
    ]
    step = _nice_step(hi - lo)
    v = np.ceil(lo / step) * step
    while v <= hi:
        out.append(
            f'<line x1="{LEFT:.0f}" y1="{_f(y(v))}" x2="{W - RIGHT:.0f}" y2="{_f(y(v))}" '
            'stroke="#ddd" stroke-width="0.5"/>'
            f'<text x="{LEFT - 4:.0f}" y="{_f(y(v) + 3)}" font-size="9" text-anchor="end" '
            f'fill="#444">{v:g}</text>'
        )
        v += step
    minutes = (t1 - t0) / 60_000
    steps = (5, 10, 15, 30, 60, 120, 240, 720, 1440)
    tick = next((m for m in steps if minutes / m <= 8), max(1440, int(minutes // 8) + 1))
    first = start.astimezone(tz).replace(second=0, microsecond=0)
    first += timedelta(minutes=(-first.minute) % tick)
    t = first
    while t.timestamp() * 1000 <= t1:
        tx = x(t.timestamp() * 1000)
        out.append(
            f'<line x1="{_f(tx)}" y1="{TOP:.0f}" x2="{_f(tx)}" y2="{H - BOTTOM:.0f}" '
            'stroke="#eee" stroke-width="0.5"/>'
            f'<text x="{_f(tx)}" y="{H - 8:.0f}" font-size="9" text-anchor="middle" fill="#444">'
            f"{t.strftime('%H:%M')}</text>"
        )
        t += timedelta(minutes=tick)
    for value, colour, label in chart.limits:
        if lo <= value <= hi:
            out.append(
                f'<line x1="{LEFT:.0f}" y1="{_f(y(value))}" x2="{W - RIGHT:.0f}" '
                f'y2="{_f(y(value))}" stroke="{colour}" stroke-width="0.8" '
                'stroke-dasharray="5 3"/>'
                f'<text x="{W - RIGHT - 2:.0f}" y="{_f(y(value) - 2)}" font-size="8" '
                f'text-anchor="end" fill="{colour}">{escape(label)}</text>'
            )
    for when, label in chart.markers:
        mx = x(when.timestamp() * 1000)
        if LEFT <= mx <= W - RIGHT:
            out.append(
                f'<line x1="{_f(mx)}" y1="{TOP:.0f}" x2="{_f(mx)}" y2="{H - BOTTOM:.0f}" '
                'stroke="#7a3fb0" stroke-width="1"/>'
                f'<text x="{_f(mx + 2)}" y="{TOP + 9:.0f}" font-size="8" fill="#7a3fb0">'
                f"{escape(label)}</text>"
            )
    legend_x = W - RIGHT
    for s, ts, vs in reversed(drawn):
        out.append(
            f'<text x="{legend_x:.0f}" y="14" font-size="10" text-anchor="end" '
            f'fill="{s.colour}">{escape(s.label)}</text>'
        )
        legend_x -= 8 + 6 * len(s.label)
        if ts.size == 0:
            continue
        xs, ys = (ts - t0) / (t1 - t0) * pw + LEFT, (hi - vs) / (hi - lo) * ph + TOP
        cuts = np.flatnonzero(np.diff(ts) > GAP_MS) + 1 if not s.points else np.empty(0, np.int64)
        for part in np.split(np.arange(ts.size), cuts):
            pts = " ".join(f"{_f(a)},{_f(b)}" for a, b in zip(xs[part], ys[part], strict=True))
            out.append(
                f'<polyline points="{pts}" fill="none" stroke="{s.colour}" stroke-width="1"/>'
            )
        if s.points:
            out.extend(
                f'<circle cx="{_f(a)}" cy="{_f(b)}" r="1.8" fill="{s.colour}"/>'
                for a, b in zip(xs, ys, strict=True)
            )
    out.append("</svg>")
    return "".join(out)
