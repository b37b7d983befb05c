"""The report's days are the clinic's calendar days: with
VITALWATCH_CLINIC_TIMEZONE far from UTC, the answer names that zone and its
default range ends on the clinic's today, not UTC's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support import Api, ServerProcess

ZONE = "Pacific/Kiritimati"  # UTC+14: its date differs from UTC's 14 hours a day


@pytest.fixture(scope="module")
def zoned_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir: Path = tmp_path_factory.mktemp("reports-zone")
    proc = ServerProcess(workdir, extra_env={"VITALWATCH_CLINIC_TIMEZONE": ZONE})
    proc.create_users()
    proc.start()
    yield proc
    proc.stop()


async def test_days_are_the_clinics(zoned_server: ServerProcess) -> None:
    api = Api(zoned_server.url)
    try:
        r = await api.http.get("/api/v1/reports/alarm-load", headers=await api.auth())
        assert r.status_code == 200, r.text
        body = r.json()
        today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
        assert body["timezone"] == ZONE
        assert (body["since"], body["until"]) == (str(today - timedelta(days=6)), str(today))
    finally:
        await api.aclose()
