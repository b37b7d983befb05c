"""The alarm-load page in a real Chromium, on the known history: sign in as a
nurse, every figure of every table as the API gives it, the daily chart, the
limit changes in words, the protocol filter, and a CSV download."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.reports.history import History
from tests.reports.month import seed_month
from tests.support import NURSE, ServerProcess

pytestmark = pytest.mark.browser

#: docs/alarm-load.png is refreshed only on request, as tests/browser does.
DOCS = Path(__file__).resolve().parents[2] / "docs"
UPDATE_SCREENSHOTS = os.environ.get("VITALWATCH_UPDATE_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def backend() -> str:
    """The page does not depend on the database: one backend is enough here."""
    return "sqlite"


async def open_report(
    chromium: Browser, server: ServerProcess, since: date, until: date, height: int
) -> tuple[Page, list[str]]:
    """The page for a range, signed in as the nurse, once it has shown the range."""
    page = await chromium.new_page(
        viewport={"width": 1440, "height": height}, accept_downloads=True
    )
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{server.url}/reports/alarm-load?since={since}&until={until}")
    await page.fill("#username", NURSE[0])
    await page.fill("#password", NURSE[1])
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("body")).to_have_attribute(
        "data-loaded", f"{since}/{until}/", timeout=30_000
    )
    return page, errors


async def api_report(h: History, **params: str) -> Any:
    r = await h.api.http.get(
        "/api/v1/reports/alarm-load", params=params, headers=await h.api.auth()
    )
    assert r.status_code == 200, r.text
    return r.json()


async def cells(page: Page, testid: str) -> list[dict[str, str]]:
    """Each row of a figures table: its group keys and each figure's raw value."""
    rows: list[dict[str, str]] = (
        await page.get_by_test_id(testid)
        .locator("tbody tr")
        .evaluate_all(
            """rows => rows.map(tr => Object.assign({label: tr.cells[0].textContent,
               rule: tr.dataset.rule, condition: tr.dataset.condition, day: tr.dataset.day,
               protocol: tr.dataset.protocol},
             ...[...tr.querySelectorAll("td[data-key]")]
                 .map(td => ({[td.dataset.key]: td.dataset.value}))))"""
        )
    )
    return rows


def as_cells(row: dict[str, Any]) -> dict[str, str]:
    keys = ("sessions", "monitored_hours", "alarms", "alarms_per_patient_hour", "acknowledged",
            "ack_median_s", "ack_p90_s", "unanswered", "escalated", "nuisance", "open")  # fmt: skip
    out = {k: "" if row[k] is None else str(row[k]) for k in keys}
    out["label"] = row["label"]
    return out


async def test_the_page_shows_the_report_and_the_limit_changes(
    chromium: Browser, report_server: ServerProcess, history: History, tmp_path: Path
) -> None:
    h = history
    today = datetime.now(UTC).date()
    since = min(datetime.fromisoformat(s["started_at"]) for s in h.sessions.values()).date()
    span = {"since": str(since), "until": str(today)}
    page, errors = await open_report(chromium, report_server, since, today, height=1800)
    await expect(page.get_by_test_id("load-zone")).to_contain_text("UTC")

    for group_by in ("rule", "protocol", "day"):
        body = await api_report(h, **span, group_by=group_by)
        shown = await cells(page, f"table-{group_by}")
        want = [as_cells(r) for r in [*body["rows"], body["totals"]]]
        if group_by == "rule":  # the range's monitored time is in the totals only
            want = [{k: v for k, v in w.items() if k not in ("sessions", "monitored_hours")}
                    for w in want]  # fmt: skip
        assert [{k: c.get(k) for k in want[0]} for c in shown] == want, group_by
        assert all(set(c) - {"rule", "condition", "day", "protocol"} == set(want[0]) for c in shown)
    rule_rows = page.get_by_test_id("table-rule").locator("tbody tr")
    await expect(rule_rows.filter(has_text="SBP high")).to_have_class("condition")
    await expect(page.get_by_test_id("total-alarms")).to_contain_text("7")
    await expect(page.get_by_test_id("total-nuisance")).to_contain_text("2")
    chart = page.get_by_test_id("day-chart")
    await expect(chart.locator("canvas")).to_have_count(1)
    assert await chart.get_attribute("data-days") == str((today - since).days + 1)

    changes = page.get_by_test_id("limit-changes").locator("tbody tr")
    await expect(changes).to_have_count(2)
    await expect(changes.nth(0)).to_contain_text("SpO2 low 92 -> off")
    await expect(changes.nth(0)).to_contain_text("probe keeps slipping")
    await expect(changes.nth(0)).to_contain_text("alarm off: SpO2 low")
    await expect(changes.nth(1)).to_contain_text("HR high 120 -> 130")
    await expect(changes.nth(1)).to_contain_text(NURSE[0])
    summary = page.get_by_test_id("limit-summary")
    await expect(summary.locator("tr[data-limit='spo2.low'] td").nth(4)).to_have_text("1")

    async with page.expect_download() as info:
        await page.click("button[data-csv=rule]")
    download = await info.value
    assert download.suggested_filename == f"alarm-load-{since}-{today}-rule.csv"
    saved = tmp_path / "rule.csv"
    await download.save_as(saved)
    lines = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert lines[-1]["label"] == "All" and lines[-1]["alarms"] == "7"

    await page.get_by_test_id("protocol").select_option("esketamine-in")
    await page.click("#filters button[type=submit]")
    await expect(page.locator("body")).to_have_attribute(
        "data-loaded", f"{since}/{today}/esketamine-in"
    )
    await expect(page.get_by_test_id("total-alarms")).to_contain_text("2")
    body = await api_report(h, **span, group_by="rule", protocol="esketamine-in")
    assert [c["rule"] for c in await cells(page, "table-rule")][:-1] == [
        r["rule"] for r in body["rows"]
    ]

    # a backwards range is refused in words, the tables stay as they were
    await page.fill("[data-testid=since]", str(today + timedelta(days=1)))
    await page.click("#filters button[type=submit]")
    await expect(page.get_by_test_id("load-error")).to_contain_text("is after until")
    assert errors == []


async def test_a_busy_month_on_the_page(
    chromium: Browser, new_server: Callable[..., ServerProcess]
) -> None:
    """A month of 24 rooms (tests/reports/month.py): 30 bars, the API's totals;
    the screenshot in docs/ and the README is this page."""
    server = new_server()
    server.start()
    month = await seed_month(str(server.database_url))
    page, errors = await open_report(chromium, server, month.since, month.until, height=1000)
    assert await page.get_by_test_id("day-chart").get_attribute("data-days") == "30"
    await expect(page.get_by_test_id("total-alarms")).to_contain_text(str(len(month.alarms)))
    await expect(page.get_by_test_id("table-day").locator("tbody tr")).to_have_count(31)
    listed = page.get_by_test_id("limit-changes").locator("tbody tr")
    await expect(listed).to_have_count(30)  # the newest; the rest on request
    await expect(page.get_by_test_id("changes-count")).to_contain_text(f"{month.changes} changes")
    if UPDATE_SCREENSHOTS:
        await page.screenshot(path=str(DOCS / "alarm-load.png"), full_page=True)
    await page.get_by_test_id("changes-all").click()
    await expect(listed).to_have_count(month.changes)
    assert errors == []
