"""SDC connection health: a provider killed with SIGKILL is "Monitor offline"
through the same technical-alarm rule as any silent monitor; started again, it
is found, connected and read anew without duplicate samples; one that says bye
is dropped at once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.hl7.test_pages import alarms
from tests.sdc.conftest import StartProvider, bind, found, restart
from tests.sdc.test_consumer import series
from tests.support import ADMIN, Api, wait_for

pytestmark = pytest.mark.slow


async def stored_hr(api: Api, session_id: int) -> list[str]:
    r = await api.http.get(
        f"/api/v1/sessions/{session_id}/readings",
        params={"metric": "hr"},
        headers=await api.auth(),
    )
    return list(r.json()["ts"])


async def provider(api: Api, epr: str) -> dict[str, Any]:
    r = await api.http.get("/api/v1/sdc/providers", headers=await api.auth(ADMIN))
    return dict(next(p for p in r.json() if p["epr"] == epr))


async def test_killed_provider_is_monitor_offline_and_resumes_without_duplicates(
    sdc_api: Api, start_provider: StartProvider, tmp_path: Path
) -> None:
    p = start_provider("SDC-KILL")
    await found(sdc_api, p.epr)
    device, session = await sdc_api.monitored()
    await bind(sdc_api, p.epr, device["id"])
    await wait_for(lambda: series(sdc_api, session["id"], "hr"), timeout=30)
    p.kill9()

    async def offline() -> dict[str, Any] | None:
        tech = [a for a in await alarms(sdc_api, session["id"]) if a["kind"] == "technical"]
        # first "No HR signal" (15 s), then the same monitor alarm is offline (60 s)
        hit = [a for a in tech if "offline" in a["message"].lower()]
        return hit[0] if hit else None

    alarm = await wait_for(offline, timeout=120, interval=1.0)
    assert alarm["priority"] == "high" and "offline" in alarm["message"].lower()
    assert (await provider(sdc_api, p.epr))["connected"] is False
    before = await stored_hr(sdc_api, session["id"])
    again = restart(p, tmp_path / "provider-again.log")
    try:

        async def resumed() -> list[str] | None:
            ts = await stored_hr(sdc_api, session["id"])
            return ts if len(ts) >= len(before) + 3 else None

        ts = await wait_for(resumed, timeout=60, interval=0.5)
        assert ts[: len(before)] == before
        assert len(ts) == len(set(ts)) and ts == sorted(ts), "one sample per determination time"
        assert (await provider(sdc_api, p.epr))["connected"] is True

        async def resolved() -> bool:
            now = next(a for a in await alarms(sdc_api, session["id"]) if a["id"] == alarm["id"])
            return bool(now["state"] == "resolved")

        await wait_for(resolved, timeout=15, interval=0.5)
    finally:
        again.stop()


async def test_bye_drops_the_provider_at_once(sdc_api: Api, start_provider: StartProvider) -> None:
    p = start_provider("SDC-BYE")
    await found(sdc_api, p.epr)
    device, session = await sdc_api.monitored()
    await bind(sdc_api, p.epr, device["id"])
    await wait_for(lambda: series(sdc_api, session["id"], "hr"), timeout=30)
    assert (await provider(sdc_api, p.epr))["connected"] is True
    p.send(bye=True)

    async def gone() -> bool:
        now = await provider(sdc_api, p.epr)
        return not now["online"] and not now["connected"]

    await wait_for(gone, timeout=8, interval=0.25)
    count = len(await stored_hr(sdc_api, session["id"]))
    await asyncio.sleep(2)
    assert len(await stored_hr(sdc_api, session["id"])) == count  # nothing after the bye
    listed = await provider(sdc_api, p.epr)
    assert listed["device_id"] == device["id"]  # still bound: it is read again when back


async def test_a_hung_provider_fails_its_renewal_and_is_read_again_when_it_answers(
    sdc_api: Api, start_provider: StartProvider
) -> None:
    """SIGSTOP: the provider answers nothing, the subscription renewal fails and
    the link is dropped; SIGCONT: the consumer subscribes again by itself."""
    p = start_provider("SDC-HUNG")
    await found(sdc_api, p.epr)
    device, session = await sdc_api.monitored()
    await bind(sdc_api, p.epr, device["id"])
    await wait_for(lambda: series(sdc_api, session["id"], "hr"), timeout=30)
    p.proc.send_signal(signal.SIGSTOP)
    try:

        async def dropped() -> bool:
            return not (await provider(sdc_api, p.epr))["connected"]

        await wait_for(dropped, timeout=40, interval=0.5)  # renewed at half of 15 s
        count = len(await stored_hr(sdc_api, session["id"]))
    finally:
        p.proc.send_signal(signal.SIGCONT)

    async def read_again() -> bool:
        now = await provider(sdc_api, p.epr)
        return bool(now["connected"]) and len(await stored_hr(sdc_api, session["id"])) > count

    await wait_for(read_again, timeout=40, interval=0.5)
    ts = await stored_hr(sdc_api, session["id"])
    assert len(ts) == len(set(ts))
