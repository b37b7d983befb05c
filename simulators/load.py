"""Load mode: many monitors posting at a held rate; prints throughput and
acknowledgement latency percentiles. The sessions it starts are ended when
the run ends, also on Ctrl-C or SIGTERM, so a load run leaves no active
sessions (and no busy devices) behind."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx

from simulators.device import iso
from simulators.staff import Staff


@dataclass(frozen=True)
class LoadResult:
    requests: int
    samples: int
    seconds: float
    errors: int
    latencies_ms: list[float]

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q / 100 * len(data)))]

    def summary(self) -> str:
        return (
            f"{self.requests} requests, {self.samples} samples in {self.seconds:.1f} s: "
            f"{self.samples_per_s:,.0f} samples/s acknowledged, {self.errors} errors; "
            f"ack latency ms p50 {statistics.median(self.latencies_ms or [float('nan')]):.1f} "
            f"p95 {self.percentile(95):.1f} p99 {self.percentile(99):.1f} "
            f"max {max(self.latencies_ms or [float('nan')]):.1f}"
        )


async def prepare_devices(staff: Staff, n: int, sessions: list[int]) -> list[str]:
    """Register n monitors, each bound to a session of its own; their tokens.
    Each session's id goes into `sessions` as soon as it exists, so an
    interrupted start still ends what it began."""
    await staff.login()
    run = int(time.time())
    sem = asyncio.Semaphore(20)

    async def one(i: int) -> str:
        async with sem:
            d = await staff.request("POST", "/api/v1/devices", json={"name": f"Load {run}-{i}"})
            d.raise_for_status()
            s = await staff.request(
                "POST",
                "/api/v1/sessions",
                json={
                    "patient": {"ref": f"LOAD-{run}-{i}"},
                    "protocol": "custom",
                    "device_ids": [d.json()["id"]],
                },
            )
            s.raise_for_status()
            sessions.append(int(s.json()["id"]))
            return str(d.json()["token"])

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def run_load(
    url: str, user: str, password: str, devices: int, rate: float, batch: int, seconds: float
) -> LoadResult:
    """Each device posts `batch` samples `rate` times a second for `seconds`,
    then the sessions end (however the run stops)."""
    limits = httpx.Limits(max_connections=min(devices, 500), max_keepalive_connections=500)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        staff = Staff(client, user, password)
        sessions: list[int] = []
        try:
            tokens = await prepare_devices(staff, devices, sessions)
            return await _hold_rate(client, tokens, rate, batch, seconds)
        finally:
            await staff.end_sessions(sessions)


async def _hold_rate(
    client: httpx.AsyncClient, tokens: list[str], rate: float, batch: int, seconds: float
) -> LoadResult:
    """Every device posts at `rate` for `seconds`; what was acknowledged, and how fast."""
    latencies: list[float] = []
    counts = {"requests": 0, "samples": 0, "errors": 0}
    t_origin = time.time() - 3600  # sample times: the last hour, 1 ms apart
    started = time.monotonic()
    interval = 1.0 / rate

    async def device(k: int, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        seq = 0
        next_at = started + (k % 1000) / 1000 * interval  # spread the devices out
        while True:
            now = time.monotonic()
            if now - started >= seconds:
                return
            if next_at > now:
                await asyncio.sleep(next_at - now)
            next_at += interval
            samples = [
                {
                    "ts": iso(t_origin + (seq + j) * 0.001 + k * 1e-6),
                    "seq": seq + j,
                    "hr": 72.0,
                    "spo2": 98.0,
                }
                for j in range(batch)
            ]
            sent = time.perf_counter()
            try:
                r = await client.post(
                    "/api/v1/readings", json={"samples": samples}, headers=headers
                )
                ok = r.status_code == 202
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - sent) * 1000)
            counts["requests"] += 1
            if ok:
                counts["samples"] += batch
                seq += batch
            else:
                counts["errors"] += 1

    await asyncio.gather(*(device(k, t) for k, t in enumerate(tokens)))
    elapsed = time.monotonic() - started
    return LoadResult(counts["requests"], counts["samples"], elapsed, counts["errors"], latencies)
