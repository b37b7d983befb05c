"""tools/import_graph.py finds what grimp's graph leaves out: a circle through
a package's __init__ (the alarm engine had one), and an import across a
boundary kept in APART (live.service imported readings.latest)."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest
from tools import import_graph


def _package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_submodule_naming_its_reexporting_package_is_a_circle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _package(
        tmp_path,
        {
            "pkgcircle/__init__.py": "from pkgcircle.core import Engine\n",
            "pkgcircle/core.py": "from pkgcircle import board\n\nclass Engine: ...\n",
            "pkgcircle/board.py": "from . import words\n",
            "pkgcircle/words.py": "",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("pkgcircle", cache_dir=None)
    modules = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert import_graph.circles(modules) == []  # grimp alone sees none

    edges = import_graph.package_edges(graph.modules, roots=("pkgcircle",))
    assert edges == {"pkgcircle.core": {"pkgcircle"}, "pkgcircle.board": {"pkgcircle"}}
    for module, packages in edges.items():
        modules[module] |= packages
    assert import_graph.circles(modules) == [["pkgcircle", "pkgcircle.board", "pkgcircle.core"]]

    contract = import_graph.PackageCircles("circles", {"root_packages": ["pkgcircle"]}, {})
    check = contract.check(graph, verbose=False)
    assert not check.kept
    assert check.metadata["circles"] == [
        ("pkgcircle", "pkgcircle.core", "pkgcircle.board"),
        ("pkgcircle", "pkgcircle.core"),
    ]


def test_vitalwatch_has_no_circle_and_keeps_live_apart_from_readings() -> None:
    modules = import_graph.module_graph()
    assert import_graph.circles(modules) == []
    assert import_graph.apart(modules) == []
    assert import_graph.apart({"vitalwatch.live.service": {"vitalwatch.readings.latest"}})
