"""Chromium (Debian's, through Playwright) and a signed-in station page."""

from __future__ import annotations

import pytest

# the types of the page fixtures (tests/conftest.py), where these tests import them from
from tests.support import Shot as Shot
from tests.support import SignIn as SignIn


@pytest.fixture(scope="module")
def backend() -> str:
    """The pages do not depend on the database: one backend is enough here."""
    return "sqlite"
