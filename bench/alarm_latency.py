"""Benchmark 2: how fast an alarm reaches every dashboard while a ward is busy.

The real service runs as a subprocess (one uvicorn worker, SQLite file,
production settings). This driver registers `--sessions` rooms posting one
sample per second each, connects `--dashboards` WebSocket dashboards (in
worker processes, so parsing frames does not slow the load), and a probe
monitor posts SBP 185 (a high-priority alarm on its first reading) every few
seconds, acknowledging and clearing it in between. Latency: from the moment
the probe's POST is sent to the moment each dashboard receives the `alarm`
event. Each dashboard does what the page does (unless `--no-confirm`): it says
it is visible with sound on, again every 10 s, and confirms every alarm event
it receives, so the service also writes and reads delivery receipts. Prints
p50, p95, p99 and max.

    .venv/bin/python bench/alarm_latency.py [--sessions 1000] [--dashboards 200] [--probes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import queue
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import NURSE, Api, ServerProcess

from bench.rawhttp import ONE_SIGN_IN_MANY_SCREENS, RawConnection


def _iso(t: float) -> str:
    return (
        datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def dashboards_worker(
    ws_url: str,
    token: str,
    count: int,
    probe_session: int,
    ready: Any,
    results: Any,
    seconds: float,
    confirm: bool = True,
) -> None:
    """Runs `count` dashboards; reports (receive time, alarm id) of probe raises.
    With `confirm`, each dashboard does what the page does: says it is visible
    with sound on (and again every 10 s) and confirms every alarm event."""
    status = orjson.dumps({"type": "status", "visible": True, "sound": True})

    async def one(out: list[tuple[float, int]]) -> None:
        try:
            ws = await websockets.connect(f"{ws_url}?token={token}", max_size=None, open_timeout=60)
            await ws.recv()  # snapshot
            if confirm:
                await ws.send(status.decode())
        except Exception:
            ready.put(0)
            raise
        ready.put(1)
        async with ws:
            deadline = time.monotonic() + seconds
            next_status = time.monotonic() + 10
            while time.monotonic() < deadline:
                if confirm and time.monotonic() >= next_status:
                    next_status += 10
                    await ws.send(status.decode())
                try:
                    raw = await asyncio.wait_for(ws.recv(decode=False), 1.0)
                except TimeoutError:
                    continue
                if b'"type":"alarm"' not in raw[:40]:
                    continue  # vitals and pings: not parsed
                msg = orjson.loads(raw)
                alarm = msg["alarm"]
                if alarm["session_id"] == probe_session and msg.get("action") == "raised":
                    out.append((time.time(), alarm["id"]))
                if confirm:
                    await ws.send(
                        orjson.dumps({"type": "received", "event_ids": [msg["event_id"]]}).decode()
                    )

    async def main() -> None:
        out: list[tuple[float, int]] = []
        outcomes = await asyncio.gather(*(one(out) for _ in range(count)), return_exceptions=True)
        failed = [repr(e) for e in outcomes if isinstance(e, BaseException)]
        if failed:  # say why instead of exiting quietly with fewer dashboards
            print(f"{len(failed)} of {count} dashboards failed: {failed[0]}", file=sys.stderr)
        results.put(out)

    asyncio.run(main())


def wait_ready(ready: Any, procs: list[Any], count: int, timeout: float = 300) -> int:
    """Wait until each of `count` dashboards has reported (1: it has its snapshot,
    0: it failed); fail fast if a worker process died. Returns how many connected."""
    deadline = time.monotonic() + timeout
    reports = connected = 0
    while reports < count:
        try:
            connected += ready.get(timeout=1)
            reports += 1
        except queue.Empty:
            if any(not p.is_alive() for p in procs) or time.monotonic() > deadline:
                raise SystemExit(f"only {connected} of {count} dashboards connected") from None
    return connected


async def ward(port: int, tokens: list[str], stop_at: float) -> int:
    """Every room posts one sample a second, stamped with the time it is sent
    (the rooms spread evenly over the second); returns how many were posted."""
    posted = 0

    async def room(k: int, token: str) -> None:
        nonlocal posted
        conn = await RawConnection.open("127.0.0.1", port)
        headers = {"Authorization": f"Bearer {token}"}
        seq = 0
        next_at = time.monotonic() + k / len(tokens)
        while time.monotonic() < stop_at:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += 1.0
            body = orjson.dumps(
                {"samples": [{"ts": _iso(time.time()), "seq": seq, "hr": 74.0, "spo2": 97.0}]}
            )
            await conn.post("/api/v1/readings", body, headers)
            seq += 1
            posted += 1
        await conn.close()

    await asyncio.gather(*(room(k, t) for k, t in enumerate(tokens)))
    return posted


async def probe(
    api: Api, port: int, token: str, count: int, first_seq: int = 0
) -> dict[int, tuple[float, float]]:
    """Raise, acknowledge and clear the probe's alarm `count` times:
    alarm id -> (time the POST was sent, time its 202 arrived). Uses at most
    2 * count sequence numbers from `first_seq`."""
    conn = await RawConnection.open("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}"}
    sent: dict[int, tuple[float, float]] = {}
    seq = first_seq
    for _ in range(count):
        await asyncio.sleep(2.0)
        body = orjson.dumps(
            {"samples": [{"ts": _iso(time.time()), "seq": seq, "sbp": 185, "dbp": 90}]}
        )
        started = time.time()
        status, _ = await conn.post("/api/v1/readings", body, headers)
        acked = time.time()
        seq += 1
        assert status == 202
        alarms = (
            await api.http.get(
                "/api/v1/alarms", params={"state": "active"}, headers=await api.auth()
            )
        ).json()
        mine = [a for a in alarms if a["rule"] == "bp" and a["id"] not in sent]
        if not mine:
            continue
        sent[mine[0]["id"]] = (started, acked)
        await api.http.post(f"/api/v1/alarms/{mine[0]['id']}/ack", headers=await api.auth())
        body = orjson.dumps(
            {"samples": [{"ts": _iso(time.time()), "seq": seq, "sbp": 120, "dbp": 80}]}
        )
        await conn.post("/api/v1/readings", body, headers)
        seq += 1
    await conn.close()
    return sent


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--dashboards", type=int, default=200)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="dashboard processes")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--url", default=None, help="use a running service instead")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="service processes (more than 1: PostgreSQL + Redis; rooms, probe and "
        "dashboards spread over them, the probe posting to the first)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--no-confirm",
        action="store_true",
        help="dashboards do not send status and delivery confirmations (the old load)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        servers = [] if args.url is not None else start_servers(args, Path(tmp))
        urls = [args.url] if args.url is not None else [s.url for s in servers]
        url = urls[0]
        port = int(url.rsplit(":", 1)[1])
        api = Api(url)
        try:
            print(f"setting up {args.sessions} rooms ...", flush=True)
            tokens = [(await api.monitored("custom"))[0]["token"] for _ in range(args.sessions)]
            probe_device, probe_session = await api.monitored("custom")
            token = await api.token(NURSE)
            duration = 2.5 * args.probes + 30
            ctx = mp.get_context("spawn")
            ready, results = ctx.Queue(), ctx.Queue()
            per = args.dashboards // args.workers
            procs = [
                ctx.Process(
                    target=dashboards_worker,
                    args=(
                        urls[w % len(urls)].replace("http", "ws") + "/api/v1/ws",
                        token,
                        per,
                        probe_session["id"],
                        ready,
                        results,
                        duration,
                        not args.no_confirm,
                    ),
                )
                for w in range(args.workers)
            ]
            for p in procs:
                p.start()
            connected = wait_ready(ready, procs, per * args.workers)
            print(
                f"{connected} of {per * args.workers} dashboards connected; load running",
                flush=True,
            )
            stop_at = time.monotonic() + 2.5 * args.probes + 5
            loads = [
                asyncio.create_task(ward(int(u.rsplit(":", 1)[1]), tokens[k :: len(urls)], stop_at))
                for k, u in enumerate(urls)
            ]
            await asyncio.sleep(3)
            cpu0, t0 = sum(x.cpu_seconds() for x in servers), time.monotonic()
            sent = await probe(api, port, probe_device["token"], args.probes)
            busy = (sum(x.cpu_seconds() for x in servers) - cpu0) / (time.monotonic() - t0)
            posted = sum(await asyncio.gather(*loads))
            received: list[tuple[float, int]] = []
            for _ in procs:
                received += results.get(timeout=duration + 60)
            for p in procs:
                p.join()
        finally:
            await api.aclose()
            for server in servers:
                server.stop()
    report(sent, received, per * args.workers, posted / (2.5 * args.probes + 5), args.sessions)
    if servers:
        print(f"service CPU under this load: {busy:.0%} of one core", flush=True)


def start_servers(args: argparse.Namespace, tmp: Path) -> list[ServerProcess]:
    """The service as `--processes` processes on one database (and Redis when several)."""
    env = {"VITALWATCH_ENVIRONMENT": "production", **ONE_SIGN_IN_MANY_SCREENS}
    database_url = args.database_url
    if args.processes > 1:
        from tests.backends import new_database_url

        if database_url is None:
            database_url = new_database_url("postgresql", tmp)
        env |= {
            "VITALWATCH_REDIS_URL": args.redis_url,
            "VITALWATCH_REDIS_PREFIX": f"bench-{secrets.token_hex(4)}",
        }
    secret = secrets.token_urlsafe(48)
    servers = []
    for k in range(args.processes):
        workdir = tmp / f"p{k}"
        workdir.mkdir()
        server = ServerProcess(workdir, database_url=database_url, extra_env=env, secret=secret)
        if k == 0:
            server.create_users()
            database_url = server.database_url
        server.start()
        servers.append(server)
    if args.processes > 1:
        time.sleep(3)  # partitions spread evenly over the processes
    return servers


def _q(sorted_ms: list[float], p: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(p / 100 * len(sorted_ms)))]


def report(
    sent: dict[int, tuple[float, float]],
    received: list[tuple[float, int]],
    dashboards: int,
    ward_rate: float,
    rooms: int,
) -> None:
    """The latency table, and where the time went: the probe's own 202, and per
    alarm the first and the last dashboard to receive it (the fan-out spread)."""
    latencies = sorted((t - sent[a][0]) * 1000 for t, a in received if a in sent)
    by_alarm: dict[int, list[float]] = {}
    for t, a in received:
        if a in sent:
            by_alarm.setdefault(a, []).append((t - sent[a][0]) * 1000)
    acks = sorted((done - start) * 1000 for start, done in sent.values())
    firsts = sorted(min(v) for v in by_alarm.values())
    spreads = sorted(max(v) - min(v) for v in by_alarm.values())
    print(f"ward load: {ward_rate:,.0f} samples/s from {rooms} rooms")
    print(
        f"alarm deliveries: {len(latencies)} of {len(sent) * dashboards} expected "
        f"({len(sent)} alarms x {dashboards} dashboards)"
    )
    print("| p50 ms | p95 ms | p99 ms | max ms |")
    print("|---:|---:|---:|---:|")
    print(
        f"| {statistics.median(latencies):.1f} | {_q(latencies, 95):.1f} "
        f"| {_q(latencies, 99):.1f} | {latencies[-1]:.1f} |"
    )
    print(
        f"per alarm, median (max): probe POST -> 202 {statistics.median(acks):.1f} "
        f"({acks[-1]:.1f}) ms; first dashboard {statistics.median(firsts):.1f} "
        f"({firsts[-1]:.1f}) ms; first -> last dashboard {statistics.median(spreads):.1f} "
        f"({spreads[-1]:.1f}) ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
