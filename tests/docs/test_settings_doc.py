"""Every setting is in the README's table, with the default the code has.

An IT admin configures the service from that table; a row that names a
default the code does not have (it once said two hash workers where the code
had one) sends them wrong.
"""

from __future__ import annotations

import re
from pathlib import Path

from vitalwatch.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
_NAME = re.compile(r"`(VITALWATCH)?(_[A-Z0-9_]+)`")
_TICKED = re.compile(r"^`([^`]*)`$")


def _rows() -> list[tuple[list[str], list[str]]]:
    """(setting names, default cells) of each table row that names settings;
    a `_SUFFIX` shorthand continues the row's first name's prefix."""
    rows = []
    for line in README.read_text().splitlines():
        if not line.startswith("| `VITALWATCH_"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        names: list[str] = []
        for full, tail in _NAME.findall(cells[0]):
            if full:
                names.append(full + tail)
            else:  # `_PORT` after `VITALWATCH_NOTIFY_SMTP_HOST`
                names.append(names[0].rsplit("_", 1)[0] + tail)
        rows.append((names, [d.strip() for d in cells[1].split(",")]))
    return rows


def _same(documented: str, default: object) -> bool:
    if isinstance(default, bool):
        return documented.lower() == str(default).lower()
    if isinstance(default, int | float):
        try:
            return float(documented) == float(default)
        except ValueError:
            return False
    return documented == str(getattr(default, "value", default))


def test_every_setting_has_a_row() -> None:
    documented = {name for names, _ in _rows() for name in names}
    fields = {f"VITALWATCH_{name.upper()}" for name in Settings.model_fields}
    assert sorted(fields - documented) == []
    assert sorted(documented - fields) == []


def test_each_documented_default_is_the_codes() -> None:
    wrong = []
    checked = 0
    for names, defaults in _rows():
        if len(names) != len(defaults):
            continue  # one cell for several settings ("unset")
        for name, cell in zip(names, defaults, strict=True):
            ticked = _TICKED.match(cell)
            if ticked is None:
                continue  # prose: "unset", "a development key", "on in development"
            field = Settings.model_fields[name.removeprefix("VITALWATCH_").lower()]
            checked += 1
            if not _same(ticked.group(1), field.default):
                wrong.append(f"{name}: README says {cell}, the code {field.default!r}")
    assert wrong == []
    assert checked > 40  # the table was read
