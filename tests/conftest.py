"""Shared fixtures: real server processes on a fresh database, per backend.

Every test module that uses `server` runs once on SQLite and once on
PostgreSQL (the configured server, or one the run starts for itself: see
tests/backends.py; skipped with the install command when neither is there).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright, expect

from tests.backends import BACKENDS, REQUIRE_ALL, new_database_url, require_redis, stop_throwaways
from tests.support import (
    CLUSTER_PARTITIONS,
    NURSE,
    Api,
    ServerProcess,
    Shot,
    SignIn,
    Ward,
    needs_servers,
    seed_ward,
    stop_leftover_servers,
)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the PostgreSQL and Redis servers the run started for itself (if any),
    and any service process a test left running."""
    stop_leftover_servers()
    stop_throwaways()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp(f"server-{backend}")
    proc = ServerProcess(workdir, database_url=new_database_url(backend, workdir))
    proc.create_users()
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
async def ward(backend: str, tmp_path: Path) -> Ward:
    """A fresh database with one active session, for in-process tests (tests/support.py)."""
    return await seed_ward(new_database_url(backend, tmp_path))


@pytest.fixture
def new_server(backend: str, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """A factory for a server of its own (for tests that stop or kill it)."""
    made: list[ServerProcess] = []

    def make(**extra_env: str) -> ServerProcess:
        workdir = tmp_path / f"s{len(made)}"
        workdir.mkdir()
        proc = ServerProcess(
            workdir, database_url=new_database_url(backend, workdir), extra_env=extra_env
        )
        proc.create_users()
        made.append(proc)
        return proc

    yield make
    for proc in made:
        proc.stop()


@pytest.fixture
async def own_server(
    new_server: Callable[..., ServerProcess],
) -> AsyncIterator[tuple[ServerProcess, Api]]:
    """A running server of the test's own (to stop, kill or restart) and a client."""
    server = new_server()
    server.start()
    client = Api(server.url)
    yield server, client
    await client.aclose()


@pytest.fixture
async def api(server: ServerProcess) -> AsyncIterator[Api]:
    client = Api(server.url)
    yield client
    await client.aclose()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: A page assertion waits up to 10 s (Playwright's 5 s was once too short for a
#: sign-in while the suite's other workers loaded both CPUs).
expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
async def _chromium() -> AsyncIterator[Any]:
    """One Chromium per test worker: a launch costs a second or more of CPU and
    the suite has sixty page tests; each test gets fresh contexts (`browser`).
    Skipped, or failed in CI, when Chromium is not installed."""
    needs_servers("Chromium")
    if shutil.which(CHROMIUM) is None:  # absent, or not a program
        message = "Chromium not installed (apt-get install chromium)"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--autoplay-policy=user-gesture-required",
            ],
        )
        yield browser
        await browser.close()


@pytest.fixture
async def browser(_chromium: Any) -> AsyncIterator[Any]:
    """Debian's Chromium driven by Playwright, for every page test. Pages and
    contexts a test opened are closed after it, so no cookie, storage or
    socket reaches the next test."""
    shared = _chromium
    yield shared
    for context in list(shared.contexts):
        await context.close()


#: Screenshots for the README are refreshed only on request, so a test run
#: leaves the tree as it was: VITALWATCH_UPDATE_SCREENSHOTS=1 make unit
DOCS = Path(__file__).resolve().parents[1] / "docs"
UPDATE_SCREENSHOTS = os.environ.get("VITALWATCH_UPDATE_SCREENSHOTS") == "1"


@pytest.fixture
def shot(tmp_path: Path) -> Shot:
    """`await shot(page, "name.png")`: into docs/ when refreshing, else tmp (any
    page test, whichever server it runs against)."""

    async def take(page: Any, name: str) -> Path:
        path = (DOCS if UPDATE_SCREENSHOTS else tmp_path) / name
        await page.screenshot(path=str(path))
        return path

    return take


@pytest.fixture
def sign_in(browser: Any) -> SignIn:
    """`await sign_in(url, width=, height=, path=, timezone_id=)`: a page of the
    station signed in as the nurse, live, collecting page errors in `page.errors`
    (`timezone_id`: the browser's zone, else the machine's)."""

    async def open_page(
        url: str,
        width: int = 1600,
        height: int = 1000,
        path: str = "/",
        timezone_id: str | None = None,
    ) -> Any:
        page = await browser.new_page(
            viewport={"width": width, "height": height}, timezone_id=timezone_id
        )
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        await page.goto(url + path)
        await page.fill("#username", NURSE[0])
        await page.fill("#password", NURSE[1])
        await page.click("button[type=submit]")
        # a sign-in is an argon2 check (about 0.3 s of CPU, paced): on a loaded
        # machine it and the socket's first snapshot may take longer than 5 s
        await expect(page.get_by_test_id("link-status")).to_have_text("live", timeout=15_000)
        return page

    return open_page


@pytest.fixture
def chromium(browser: Any) -> Any:
    """The same browser, under the name the record and notification pages' tests use."""
    return browser


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Callable[[int], list[ServerProcess]]]:
    """A factory of N service processes sharing a fresh database and Redis prefix."""
    redis_url = require_redis()
    database_url = new_database_url("postgresql", tmp_path)
    prefix = f"vwtest-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(48)
    made: list[ServerProcess] = []

    def make(count: int) -> list[ServerProcess]:
        for _ in range(count):
            workdir = tmp_path / f"p{len(made)}"
            workdir.mkdir()
            proc = ServerProcess(
                workdir,
                database_url=database_url,
                secret=secret,
                extra_env={
                    "VITALWATCH_REDIS_URL": redis_url,
                    "VITALWATCH_REDIS_PREFIX": prefix,
                    "VITALWATCH_PARTITIONS": str(CLUSTER_PARTITIONS),
                    "VITALWATCH_LEASE_TTL_S": "3",
                },
            )
            if not made:
                proc.create_users()
            made.append(proc)
        return made[-count:]

    yield make
    for proc in made:
        proc.stop()
