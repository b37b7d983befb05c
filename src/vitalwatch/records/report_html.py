"""The session report as an HTML fragment for printing (Jinja2, autoescaped)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from vitalwatch.db import from_ms
from vitalwatch.records import clinic, report_tables
from vitalwatch.records.report import Report
from vitalwatch.records.text import baseline, day, num

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).parent / "templates"


def yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


@cache
def environment() -> Environment:
    # imported on the first report: every server start would pay for Jinja2
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(num=num, baseline=baseline, yn=yes_no, tables=report_tables, from_ms=from_ms)
    return env


def render(report: Report) -> str:
    return (
        environment()
        .get_template("report.html")
        .render(
            r=report,
            s=report.session,
            p=report.patient,
            tzname=report.zone,
            clinic_lines=clinic.address_lines(report.clinic),
            day=lambda t: day(t, report.tz),
        )
    )
