"""Chromium (Debian's, through Playwright) and a signed-in station page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support import NURSE, Shot, SignIn

#: Screenshots for the README are refreshed only on request, so a test run
#: leaves the tree as it was: VITALWATCH_UPDATE_SCREENSHOTS=1 make unit
DOCS = Path(__file__).resolve().parents[2] / "docs"
UPDATE_SCREENSHOTS = os.environ.get("VITALWATCH_UPDATE_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def backend() -> str:
    """The pages do not depend on the database: one backend is enough here."""
    return "sqlite"


@pytest.fixture
def sign_in(browser: Browser) -> SignIn:
    """`await sign_in(url, width=, height=, path=)`: a page signed in as the nurse,
    live, collecting page errors in `page.errors`."""

    async def open_page(url: str, width: int = 1600, height: int = 1000, path: str = "/") -> Page:
        page = await browser.new_page(viewport={"width": width, "height": height})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors  # type: ignore[attr-defined]
        await page.goto(url + path)
        await page.fill("#username", NURSE[0])
        await page.fill("#password", NURSE[1])
        await page.click("button[type=submit]")
        await expect(page.get_by_test_id("link-status")).to_have_text("live")
        return page

    return open_page


@pytest.fixture
def shot(tmp_path: Path) -> Shot:
    """`await shot(page, "name.png")`: into docs/ when refreshing, else tmp."""

    async def take(page: Page, name: str) -> Path:
        path = (DOCS if UPDATE_SCREENSHOTS else tmp_path) / name
        await page.screenshot(path=str(path))
        return path

    return take
