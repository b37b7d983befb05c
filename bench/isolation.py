"""Benchmark: is the alarm path isolated from outside traffic?

One service process (SQLite, production settings). 200 rooms post one sample
a second, dashboards are connected, and a probe monitor raises a high alarm
every few seconds (bench/alarm_latency.py's probe: latency from the probe's
POST to each dashboard's receipt of the alarm). First quietly, then while
attackers run on the same machine:

- 40 concurrent wrong logins, each sending its next guess as soon as the
  last was answered (throttling off by default, so every guess is hashed:
  the worst case for the hash pool; `--throttle` keeps the shipped limits);
- large unauthenticated bodies: 4 clients declaring 100 MiB to staff routes
  and the readings route, sending 1 MiB of it;
- one device posting 15 MiB batches of 10,001 samples;
- slow clients: 50 sockets sending their headers one byte a second, and 10
  staff requests whose 1,000-byte body trickles in a byte a second.

Prints the alarm latency of both phases, their ratio (goal: p99 within
1.5x), the probe's own 202, what the attackers got, and the service's RSS.

    .venv/bin/python bench/isolation.py [--rooms 200] [--dashboards 20] [--probes 30] [--throttle]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import NURSE, Api, ServerProcess

from bench.alarm_latency import dashboards_worker, probe, wait_ready, ward
from bench.rawhttp import ONE_SIGN_IN_MANY_SCREENS, RawConnection


async def _status(reader: asyncio.StreamReader) -> int:
    line = await reader.readline()
    return int(line.split()[1]) if line else 0


def attack_process(
    port: int,
    device_token: str,
    staff_token: str,
    stop: Any,
    out: Any,
    kinds: tuple[str, ...],
    nice: int,
) -> None:
    """The attackers, in a process of their own so their CPU does not slow the
    driver that times the probe. On this machine they also take CPU from the
    service itself, which a remote attacker cannot: `--attacker-nice` lowers
    their priority to show what the service does with their requests alone."""
    os.nice(nice)

    async def run() -> None:
        answers: Counter[str] = Counter()
        local = asyncio.Event()

        async def watch() -> None:
            await asyncio.to_thread(stop.wait)
            local.set()

        watcher = asyncio.create_task(watch())
        await attack(port, device_token, staff_token, local, answers, kinds)
        await watcher
        out.put(dict(answers))

    asyncio.run(run())


async def wrong_logins(port: int, stop: asyncio.Event, answers: Counter[str]) -> None:
    conn = await RawConnection.open("127.0.0.1", port)
    body = f"username=nurse&password=guess-{secrets.token_hex(6)}".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    while not stop.is_set():
        try:
            status, _ = await conn.post("/api/v1/auth/token", body, headers)
        except (ConnectionError, asyncio.IncompleteReadError):
            conn = await RawConnection.open("127.0.0.1", port)
            continue
        answers[f"login {status}"] += 1


async def big_bodies(port: int, path: str, stop: asyncio.Event, answers: Counter[str]) -> None:
    chunk = b" " * (1024 * 1024)
    while not stop.is_set():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {100 * 1024 * 1024}\r\n\r\n"
        )
        writer.write(head.encode() + b'{"samples": [' + chunk)
        try:
            await writer.drain()
            answers[f"100 MiB {path.rsplit('/', 1)[1]} {await _status(reader)}"] += 1
        except ConnectionError:
            answers["100 MiB: connection reset"] += 1
        writer.close()
        await asyncio.sleep(0.05)


async def big_batches(port: int, token: str, stop: asyncio.Event, answers: Counter[str]) -> None:
    conn = await RawConnection.open("127.0.0.1", port)
    body = orjson.dumps(
        {"samples": [{"seq": i, "hr": 70, "pad": "x" * 1500} for i in range(10_001)]}
    )
    while not stop.is_set():
        try:
            status, _ = await conn.post(
                "/api/v1/readings", body, {"Authorization": f"Bearer {token}"}
            )
            answers[f"15 MiB batch {status}"] += 1
        except (ConnectionError, asyncio.IncompleteReadError, IndexError):
            answers["15 MiB batch: connection closed"] += 1
        conn = await RawConnection.open("127.0.0.1", port)  # the service closes after a 413


async def slow_headers(port: int, stop: asyncio.Event, answers: Counter[str]) -> None:
    """A head sent a byte a second; cut off (VITALWATCH_HEADER_TIMEOUT_S), it
    connects again, as an attacker would."""
    request = b"GET /api/v1/sessions HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 10_000
    while not stop.is_set():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answered = asyncio.create_task(reader.read())  # done when the service closes
        for byte in request:
            if stop.is_set() or answered.done():
                break
            with contextlib.suppress(ConnectionError):
                writer.write(bytes([byte]))
                await writer.drain()
            await asyncio.sleep(1.0)
        if answered.done():
            data = b"" if answered.exception() is not None else answered.result()
            status = data[:12].decode(errors="replace").strip() or "closed"
            answers[f"slow headers: cut off ({status})"] += 1
        else:
            answered.cancel()
        writer.close()


async def slow_body(port: int, token: str, stop: asyncio.Event, answers: Counter[str]) -> None:
    while not stop.is_set():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            (
                "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: 1000\r\n\r\n"
            ).encode()
        )
        status = None
        for _ in range(1000):
            try:
                writer.write(b" ")
                await writer.drain()
                status = await asyncio.wait_for(_status(reader), 1.0)
                break
            except TimeoutError:
                if stop.is_set():
                    break
            except ConnectionError:
                break
        answers[f"slow body {status}"] += 1
        writer.close()


ATTACKS = ("logins", "bodies", "batches", "slow")


async def attack(
    port: int,
    device_token: str,
    staff_token: str,
    stop: asyncio.Event,
    answers: Counter[str],
    kinds: tuple[str, ...] = ATTACKS,
) -> None:
    tasks = []
    if "logins" in kinds:
        tasks += [wrong_logins(port, stop, answers) for _ in range(40)]
    if "bodies" in kinds:
        for path in ("/api/v1/sessions", "/api/v1/devices", "/api/v1/readings", "/api/v1/users"):
            tasks.append(big_bodies(port, path, stop, answers))
    if "batches" in kinds:
        tasks.append(big_batches(port, device_token, stop, answers))
    if "slow" in kinds:
        tasks += [slow_headers(port, stop, answers) for _ in range(50)]
        tasks += [slow_body(port, staff_token, stop, answers) for _ in range(10)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            answers[f"attacker error {type(r).__name__}"] += 1


def _q(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def latencies(
    sent: dict[int, tuple[float, float]], received: list[tuple[float, int]]
) -> list[float]:
    return [(t - sent[a][0]) * 1000 for t, a in received if a in sent]


async def sample_rss(pid: int, stop: asyncio.Event, out: list[float]) -> None:
    proc = psutil.Process(pid)
    while not stop.is_set():
        out.append(proc.memory_info().rss / 2**20)
        await asyncio.sleep(0.25)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--dashboards", type=int, default=20)
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--throttle", action="store_true", help="keep the shipped login limits")
    parser.add_argument("--only", default=",".join(ATTACKS), help=f"some of {','.join(ATTACKS)}")
    parser.add_argument(
        "--attacker-nice", type=int, default=0, help="CPU priority of the attackers (0-19)"
    )
    args = parser.parse_args()
    kinds = tuple(k for k in args.only.split(",") if k in ATTACKS)
    env = {"VITALWATCH_ENVIRONMENT": "production", **ONE_SIGN_IN_MANY_SCREENS}
    if not args.throttle:
        env |= {
            "VITALWATCH_LOGIN_ACCOUNT_ATTEMPTS": "100000000",
            "VITALWATCH_LOGIN_ADDRESS_ATTEMPTS": "100000000",
        }
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp), extra_env=env)
        server.create_users()
        server.start()
        assert server.proc is not None
        api = Api(server.url)
        try:
            print(f"setting up {args.rooms} rooms ...", flush=True)
            tokens = [(await api.monitored("custom"))[0]["token"] for _ in range(args.rooms)]
            # one probe monitor per phase (probe() counts seq from 0), one session
            probes = [await api.device(), await api.device()]
            probe_session = await api.session([d["id"] for d in probes], "custom")
            big_device, _ = await api.monitored("custom")
            token = await api.token(NURSE)
            phase_s = 2.5 * args.probes + 8
            duration = 3 * phase_s + 60  # the attacked phase may run longer
            ctx = mp.get_context("spawn")
            ready, results = ctx.Queue(), ctx.Queue()
            worker = ctx.Process(
                target=dashboards_worker,
                args=(
                    server.ws_url,
                    token,
                    args.dashboards,
                    probe_session["id"],
                    ready,
                    results,
                    duration,
                ),
            )
            worker.start()
            wait_ready(ready, [worker], args.dashboards)
            figures = {}
            answers: dict[str, int] = {}
            for phase, probe_device in zip(("quiet", "attacked"), probes, strict=True):
                rss_stop = asyncio.Event()
                rss: list[float] = []
                rss_task = asyncio.create_task(sample_rss(server.proc.pid, rss_stop, rss))
                load = asyncio.create_task(ward(server.port, tokens, time.monotonic() + phase_s))
                attackers, stop, got = None, ctx.Event(), ctx.Queue()
                if phase == "attacked":
                    attackers = ctx.Process(
                        target=attack_process,
                        args=(
                            server.port,
                            big_device["token"],
                            token,
                            stop,
                            got,
                            kinds,
                            args.attacker_nice,
                        ),
                    )
                    attackers.start()
                await asyncio.sleep(3)
                sent = await probe(api, server.port, probe_device["token"], args.probes)
                stop.set()
                posted = await load
                if attackers is not None:
                    answers = await asyncio.to_thread(got.get, True, 60)
                    attackers.join()
                rss_stop.set()
                await rss_task
                figures[phase] = (sent, posted / phase_s, max(rss))
                print(
                    f"{phase}: {len(sent)} probe alarms, ward {posted / phase_s:,.0f} samples/s",
                    flush=True,
                )
            received: list[tuple[float, int]] = results.get(timeout=duration + 60)
            worker.join()
        finally:
            await api.aclose()
            server.stop()
    print()
    print(
        "| phase | alarm p50 ms | alarm p99 ms | alarm max ms | probe 202 median ms | "
        "ward samples/s | service RSS max MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    p99 = {}
    for phase, (sent, rate, rss_max) in figures.items():
        lat = latencies(sent, received)
        if not lat:
            print(f"| {phase} | no alarm reached a dashboard ({len(sent)} raised) |")
            continue
        acks = [(done - start) * 1000 for start, done in sent.values()]
        p99[phase] = _q(lat, 99)
        print(
            f"| {phase} | {statistics.median(lat):.1f} | {p99[phase]:.1f} | {max(lat):.1f} | "
            f"{statistics.median(acks):.1f} | {rate:,.0f} | {rss_max:,.0f} |"
        )
    if len(p99) == 2:
        print(f"\np99 attacked / quiet: {p99['attacked'] / p99['quiet']:.2f}x (goal: within 1.5x)")
    print("attackers got: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(answers.items())))


if __name__ == "__main__":
    asyncio.run(main())
