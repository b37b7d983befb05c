"""The page routes (web/router.py's `PAGES`): every URL serves its file to
anyone (the data behind it is what needs a sign-in), revalidated on each
load and under the CSP; a bad id in the URL is the 422 naming it."""

from __future__ import annotations

import pytest

from tests.support import Api
from vitalwatch.web.router import PAGES, STATIC


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


def _url(path: str, value: str = "7") -> str:
    for name in ("{session_id}", "{patient_id}"):
        path = path.replace(name, value)
    assert "{" not in path, f"{path}: an id the test does not fill in"
    return path


async def test_every_page_serves_its_file_to_anyone(api: Api) -> None:
    for page in PAGES:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            r = await api.http.get(_url(page.path), headers=headers)
            assert r.status_code == 200, (page.path, r.text)
            assert r.content == (STATIC / page.file).read_bytes(), page.path
            assert r.headers["content-type"] == "text/html; charset=utf-8"
            assert r.headers["cache-control"] == "no-cache"
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
            assert r.headers["x-frame-options"] == "DENY"


async def test_a_bad_id_in_a_page_url_is_a_422_naming_it(api: Api) -> None:
    with_ids = [page for page in PAGES if page.ids]
    assert {name for page in with_ids for name in page.ids} == {"session_id", "patient_id"}
    for page in with_ids:
        for value, kind in [
            ("0", "greater_than_equal"),
            ("x", "int_parsing"),
            (str(2**63), "less_than_equal"),
        ]:
            r = await api.http.get(_url(page.path, value))
            assert r.status_code == 422, (page.path, value)
            (error,) = r.json()["detail"]
            assert error["loc"] == ["path", page.ids[0]] and error["type"] == kind
        assert (await api.http.get(_url(page.path, str(2**63 - 1)))).status_code == 200


async def test_only_the_listed_urls_are_pages(api: Api) -> None:
    assert {page.file for page in PAGES} == {p.name for p in STATIC.glob("*.html")}
    for path in ("/index.html", "/rems", "/reports", "/sessions/7/nope", "/admin/x"):
        assert (await api.http.get(path)).status_code == 404, path
    assert (await api.http.post("/sessions")).status_code == 405
    r = await api.http.get("/sessions/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"].endswith("/sessions")


async def test_every_page_answers_head_as_get(api: Api) -> None:
    """A link checker (or a page asking whether another is there) gets 200, not 405."""
    for page in PAGES:
        r = await api.http.head(_url(page.path))
        assert r.status_code == 200, page.path
        assert r.content == b""
        assert r.headers["content-type"] == "text/html; charset=utf-8"


async def test_the_clinic_settings_the_pages_write_dates_with(api: Api) -> None:
    r = await api.http.get("/clinic.json")
    assert r.status_code == 200
    assert r.json() == {"locale": "en-GB", "timezone": "UTC"}
    assert r.headers["cache-control"] == "no-cache"
