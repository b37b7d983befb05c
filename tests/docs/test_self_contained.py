"""The repository stands alone: a fresh clone has every document it points at.

A clone has no "shared" folder beside it (the team's notes live next to the
working repository, not in it), so nothing may refer to it, except tests that
read the HL7 corpus there and skip when it is absent. Every `*.md` a file names, and every
relative link in the Markdown documents, must exist in the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Spelled in two parts so that this file does not match itself.
SHARED = ".." + "/shared"
ALLOWED_SHARED = SHARED + "/hl7-corpus"
_MD_NAME = re.compile(r"[A-Za-z0-9_./-]+\.md\b")
_MD_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def tracked_files() -> list[Path]:
    """The files a clone has (git's list; the working tree when git is not there)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout.decode()
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
        names = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
        ]
    return [ROOT / n for n in names if (ROOT / n).is_file()]


def _text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:4096]:
        return None  # images, fonts
    return data.decode("utf-8", errors="replace")


def test_nothing_refers_to_shared_outside_the_hl7_corpus_in_tests() -> None:
    offenders = []
    for path in tracked_files():
        text = _text(path)
        if text is None or SHARED not in text:
            continue
        rel = path.relative_to(ROOT)
        for n, line in enumerate(text.splitlines(), 1):
            if SHARED not in line:
                continue
            in_tests = rel.parts[0] == "tests"
            if not (in_tests and line.count(SHARED) == line.count(ALLOWED_SHARED)):
                offenders.append(f"{rel}:{n}: {line.strip()[:120]}")
    assert not offenders, (
        f"references to {SHARED} (not in a clone; only tests may read {ALLOWED_SHARED}):\n"
        + "\n".join(offenders)
    )


#: Documents of the test data outside the repository that tests may name.
CORPUS_DOCS = {"SOURCES.md"}  # the HL7 corpus's index of what each message yields


def test_every_named_document_is_in_the_repository() -> None:
    files = tracked_files()
    present = {str(p.relative_to(ROOT)) for p in files}
    basenames = {p.name for p in files}
    missing = []
    for path in files:
        text = _text(path)
        if text is None:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for name in _MD_NAME.findall(line):
                name = name.lstrip("./")
                in_tests = str(path.relative_to(ROOT)).startswith("tests/")
                if in_tests and name in CORPUS_DOCS:
                    continue
                if name not in present and Path(name).name not in basenames:
                    missing.append(f"{path.relative_to(ROOT)}:{n}: {name}")
    assert not missing, "documents named but not in the repository:\n" + "\n".join(missing)


def test_relative_links_in_markdown_resolve() -> None:
    broken = []
    for path in tracked_files():
        if path.suffix != ".md":
            continue
        for target in _MD_LINK.findall(path.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (path.parent / target).exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, "Markdown links to files that are not there:\n" + "\n".join(broken)


def test_no_absolute_paths_of_this_workplace() -> None:
    """Paths into this workplace's own folders exist on one machine only."""
    pattern = re.compile(r"(?<![\w.])/" + "work/")
    found = [
        f"{p.relative_to(ROOT)}"
        for p in tracked_files()
        if (text := _text(p)) is not None and pattern.search(text)
    ]
    assert not found, f"absolute workplace paths in: {found}"
