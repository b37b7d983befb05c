"""A room whose monitor speaks IEEE 11073 SDC: a simulators.sdc provider process,
driven by the runner's patient, bound to the room's device as an admin binds one.

The provider runs in a process of its own (`--driven --exit-on-eof`): the
runner's samples become its metric reports (with their own alerts), so the
scripted events and faults of the JSON rooms play the same over SDC. It is in a
session of its own (a terminal's Ctrl-C is the demo's, which stops it after
ending the sessions) and stops when its stdin closes, so it never outlives the
process that started it, however that one ends.

A pre-aged room's history (the readings measured before the live part) is
posted over the JSON route with the device's token, as a monitor's stored
trend would be: an SDC report carries the present state only. From the live
part on, every reading goes over SDC.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from simulators.device import NotAcknowledged, Refused, SimDevice
from simulators.staff import Staff

#: How long a provider may take to start, and the service to discover it.
START_S = 60.0
_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class SdcProvider:
    """A running simulated SDC monitor (simulators.sdc --driven)."""

    serial: str
    proc: asyncio.subprocess.Process
    epr: str

    def send(self, command: dict[str, Any]) -> None:
        """One command line; the pipe is never full (the provider reads it at once)."""
        if self.proc.stdin is None or self.proc.stdin.is_closing():
            raise NotAcknowledged(f"the SDC monitor {self.serial} has stopped")
        self.proc.stdin.write((json.dumps(command) + "\n").encode())

    async def stop(self) -> None:
        """Bye (its stdin closes), then wait; killed if it hangs."""
        if self.proc.returncode is None and self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()


async def start_provider(
    serial: str, room: str, discovery_port: int, log: Path | None
) -> SdcProvider:
    """Start a provider on `lo` and wait until it says it is discoverable."""
    args = [sys.executable, "-m", "simulators.sdc", "--adapter", "lo", "--serial", serial]
    args += ["--room", room, "--discovery-port", str(discovery_port), "--driven", "--exit-on-eof"]
    out = log.open("ab") if log is not None else None
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=_ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=out if out is not None else asyncio.subprocess.DEVNULL,
            start_new_session=True,  # not in the terminal's group: Ctrl-C is the demo's
        )
    finally:
        if out is not None:
            out.close()
    provider = SdcProvider(serial, proc, "")
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), START_S)).decode()
    except BaseException:
        await provider.stop()
        raise
    if not line.startswith("ready "):
        await provider.stop()
        where = f": see {log}" if log is not None else ""
        raise RuntimeError(f"the SDC monitor {serial} did not start{where}")
    provider.epr = line.split()[1]
    return provider


async def bind(staff: Staff, provider: SdcProvider, device_id: int) -> None:
    """As an admin does on the device page: wait until the service lists the
    provider among the SDC monitors found, then bind it to the room's device."""
    deadline = time.monotonic() + START_S
    while True:
        r = await staff.request(
            "POST",
            "/api/v1/sdc/providers/bind",
            json={"epr": provider.epr, "device_id": device_id},
        )
        if r.status_code == 201:
            return
        # 404: not announced to the service yet (its hello is on its way)
        if r.status_code != 404 or "announced" not in r.text or time.monotonic() > deadline:
            raise Refused(f"binding the SDC monitor {provider.serial}", r)
        await asyncio.sleep(0.25)


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


@dataclass
class SdcSimDevice(SimDevice):
    """The room's monitor: history over JSON, live readings as SDC metric reports."""

    provider: SdcProvider | None = field(default=None, kw_only=True)
    live_from: float = field(default=0.0, kw_only=True)  # epoch s: before it, history

    async def post(self, samples: list[dict[str, Any]], attempts: int = 8) -> dict[str, int]:
        history = [s for s in samples if _epoch(s["ts"]) < self.live_from]
        ack = await super().post(history, attempts) if history else {"accepted": 0}
        live = samples[len(history) :]
        assert self.provider is not None
        for s in live:
            values: dict[str, float | None] = {k: v for k, v in s.items() if k not in ("ts", "seq")}
            for metric in ("hr", "spo2"):  # every second unless the probe is off
                values.setdefault(metric, None)
            self.provider.send({"report": values, "ts": _epoch(s["ts"])})
        with contextlib.suppress(ConnectionError):
            await self.provider.proc.stdin.drain()  # type: ignore[union-attr]
        return {"accepted": ack["accepted"] + len(live), "duplicates": ack.get("duplicates", 0)}
