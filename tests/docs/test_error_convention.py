"""One error convention (issue 28): routers raise domain errors or let them
propagate, and never translate one into an HTTP answer by hand; the one
handler in app.py answers every `vitalwatch.errors.DomainError`."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "vitalwatch"
EDGE_FILES = sorted([*SRC.glob("*/router.py"), *SRC.glob("*/deps.py")])


def _translations(path: Path) -> list[str]:
    """`except ...:` blocks that raise another exception (a hand translation),
    and every use of HTTPException."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.Attribute) and "HTTPException" in ast.unparse(node):
            found.append(f"{path.name}:{node.lineno}: HTTPException")
        if isinstance(node, ast.ExceptHandler):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Raise) and isinstance(inner.exc, ast.Call):
                    found.append(f"{path.name}:{inner.lineno}: {ast.unparse(inner.exc)}")
    return found


def test_routers_and_their_dependencies_translate_no_error_by_hand() -> None:
    assert len(EDGE_FILES) > 10
    found = {str(p.relative_to(SRC)): _translations(p) for p in EDGE_FILES}
    assert {p: t for p, t in found.items() if t} == {}


def test_no_such_session_is_defined_once() -> None:
    defined = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.ClassDef) and node.name == "SessionNotFound"
    ]
    assert defined == ["sessions/errors.py"]
