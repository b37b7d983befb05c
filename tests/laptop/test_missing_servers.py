"""A machine without redis-server, without the PostgreSQL binaries, or without
Chromium (each alone, and all together): every test that needs one skips,
naming the package to install, and none errors.

The suite runs again in a mount namespace (`unshare -m`, so root only) where
the binaries are really gone: an empty tmpfs over /usr/lib/postgresql, a
non-executable file over each other binary, and the configured servers'
URLs pointing at a port nobody listens on. What it runs is a sample of every
way a test reaches a server: the throwaway tests, the `server` fixture's
PostgreSQL variant, the production-mode `cluster` fixture, `own(...)` and
the `browser` fixture.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backends import postgres_bindir, redis_binary
from tests.support import free_port

#: starts processes of its own (not through ServerProcess): not in `make check`
pytestmark = pytest.mark.servers

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
INSTALL = {
    "redis": "apt-get install redis-server",
    "postgresql": "apt-get install postgresql",
    "chromium": "apt-get install chromium",
}
#: The sample of the suite run without a kind of server (short when the others are there).
SAMPLE = {
    "redis": [
        "tests/laptop/test_throwaway_servers.py",
        "tests/readings/test_ingest_cluster.py",
        "tests/faults/test_service_restarts.py::test_redis_restarted_in_production_mode",
    ],
    "postgresql": [
        "tests/laptop/test_throwaway_servers.py::test_throwaway_postgres_serves_a_vitalwatch_database_unprivileged",
        "tests/readings/test_ingest.py::test_batch_is_acknowledged_and_stored",
        "tests/readings/test_ingest_cluster.py",
        "tests/faults/test_service_restarts.py",
    ],
    "chromium": ["tests/admin/test_admin_page.py::test_a_nurse_is_turned_away"],
}


def _hide(kind: str) -> list[str]:
    """Shell commands (in the namespace) that take the binaries of `kind` away."""
    files: list[str] = []
    commands: list[str] = []
    if kind == "redis":
        files = [
            p for p in (redis_binary(), "/usr/bin/redis-server", "/usr/sbin/redis-server") if p
        ]
    elif kind == "postgresql":
        if Path("/usr/lib/postgresql").is_dir():
            commands.append("mount -t tmpfs none /usr/lib/postgresql")
        bindir = postgres_bindir()
        files = [str(bindir / b) for b in ("initdb", "postgres")] if bindir else []
    else:
        files = [CHROMIUM]
    for path in dict.fromkeys(os.path.realpath(f) for f in files if Path(f).exists()):
        if not path.startswith("/usr/lib/postgresql/"):
            commands.append(f"mount --bind /dev/null {shlex.quote(path)}")
    return commands


@pytest.mark.parametrize(
    "missing", [("redis",), ("postgresql",), ("chromium",), ("redis", "postgresql", "chromium")]
)
def test_tests_needing_an_absent_server_skip_naming_the_package(
    missing: tuple[str, ...], tmp_path: Path
) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("hides the binaries in a mount namespace: needs root and unshare")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("VITALWATCH_TEST_REQUIRE_ALL", None)
    env.pop("VITALWATCH_TEST_NO_SERVERS", None)
    if "redis" in missing:
        env["VITALWATCH_TEST_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    if "postgresql" in missing:
        env["VITALWATCH_TEST_POSTGRES_URL"] = f"postgresql://postgres@127.0.0.1:{free_port()}/x"
    hide = [c for kind in missing for c in _hide(kind)]
    sample = list(dict.fromkeys(t for kind in missing for t in SAMPLE[kind]))
    pytest_args = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly"]
    pytest_args += ["-p", "no:cacheprovider", "-o", f"cache_dir={tmp_path}", *sample]
    script = " && ".join([*hide, "exec " + shlex.join(pytest_args)])
    run = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    out = run.stdout + run.stderr
    summary = out.strip().splitlines()[-1]
    assert run.returncode == 0, out[-4000:]
    assert " error" not in summary and " failed" not in summary, summary
    for kind in missing:
        assert INSTALL[kind] in out, (kind, out[-4000:])
