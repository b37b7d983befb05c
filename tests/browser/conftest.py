"""Chromium (Debian's, through Playwright) and a signed-in station page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support import NURSE
from tests.support import Shot as Shot  # the screenshot fixture's type (tests/conftest.py)

SignIn = Callable[..., Awaitable[Page]]


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
