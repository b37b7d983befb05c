"""The image, running: checked from outside as a clinic's devices and nurses use it.

Called by .ci/image with nginx's address, the two replicas' addresses, an
admin login and the PIDs of the `buildah run` processes that hold the
replicas. Exits non-zero, saying what failed, when any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime

import httpx
import psutil
import websockets


def ok(what: str) -> None:
    print(f"image check: {what}", flush=True)


def fail(what: str) -> None:
    raise SystemExit(f"image check FAILED: {what}")


def wait_ready(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url + "/readyz", timeout=2)
            if r.status_code == 200:
                return
            last = f"{r.status_code} {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.5)
    fail(f"{url}/readyz not 200 within {timeout:.0f} s ({last})")


def serve_processes(runner_pids: list[int]) -> list[psutil.Process]:
    """The `vitalwatch serve` processes under the `buildah run` processes."""
    found = []
    for pid in runner_pids:
        for child in psutil.Process(pid).children(recursive=True):
            cmd = child.cmdline()
            # the image's own process (buildah's helpers carry the command too)
            if cmd and cmd[0].startswith("/opt/vitalwatch/") and "serve" in cmd:
                found.append(child)
    return found


async def end_to_end(nginx: str, replicas: list[str], admin: str, password: str) -> None:
    async with httpx.AsyncClient(base_url=nginx, timeout=15) as http:
        r = await http.post("/api/v1/auth/token", data={"username": admin, "password": password})
        if r.status_code != 200:
            fail(f"admin login through nginx: {r.status_code} {r.text[:200]}")
        staff = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await http.post("/api/v1/devices", json={"name": "Image check monitor"}, headers=staff)
        if r.status_code != 201:
            fail(f"registering a device: {r.status_code} {r.text[:200]}")
        device = r.json()
        r = await http.post(
            "/api/v1/sessions",
            json={
                "patient": {"ref": "IMAGE-CHECK-1"},
                "protocol": "ketamine-im",
                "room": "Image check",
                "device_ids": [device["id"]],
            },
            headers=staff,
        )
        if r.status_code != 201:
            fail(f"starting a session: {r.status_code} {r.text[:200]}")
        session = r.json()
        token = staff["Authorization"].removeprefix("Bearer ")
        ws_url = nginx.replace("http://", "ws://") + f"/api/v1/ws?token={token}"
        async with websockets.connect(ws_url, open_timeout=10) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if first.get("type") != "snapshot":
                fail(f"the live stream through nginx opened with {first.get('type')}")
            ok("live stream through nginx: snapshot received")
            ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            r = await http.post(
                "/api/v1/readings",
                json={"samples": [{"ts": ts, "seq": 1, "hr": 77, "spo2": 97}]},
                headers={"Authorization": f"Bearer {device['token']}"},
            )
            if r.status_code != 202 or r.json().get("accepted") != 1:
                fail(f"posting one reading through nginx: {r.status_code} {r.text[:200]}")
            ok("one reading posted through nginx: 202, accepted 1")
            deadline = time.monotonic() + 15
            while True:  # the same reading on the dashboard's stream
                message = json.loads(await asyncio.wait_for(ws.recv(), 15))
                items = message.get("items", []) if message.get("type") == "vitals" else []
                if any(i.get("session_id") == session["id"] and i.get("hr") == 77 for i in items):
                    ok("the reading reached the dashboard's stream")
                    break
                if time.monotonic() > deadline:
                    fail("the reading did not reach the live stream within 15 s")
        for url in replicas:  # stored once, visible from every replica
            async with httpx.AsyncClient(base_url=url, timeout=15) as direct:
                r = await direct.get(
                    f"/api/v1/sessions/{session['id']}/readings",
                    params={"metric": "hr"},
                    headers=staff,
                )
                if r.status_code != 200 or r.json().get("values") != [77.0]:
                    fail(f"reading back from {url}: {r.status_code} {r.text[:200]}")
        ok("the reading read back from both replicas (PostgreSQL)")
        r = await http.post(f"/api/v1/sessions/{session['id']}/end", headers=staff)
        if r.status_code != 200:
            fail(f"ending the session: {r.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nginx", required=True)
    parser.add_argument("--replica", action="append", required=True)
    parser.add_argument("--admin", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--runner-pid", action="append", type=int, required=True)
    args = parser.parse_args()

    for url in [*args.replica, args.nginx]:
        wait_ready(url)
    ok(f"/readyz 200 on both replicas and through nginx ({args.nginx})")
    processes = serve_processes(args.runner_pid)
    if len(processes) != len(args.replica):
        fail(f"expected {len(args.replica)} `vitalwatch serve` processes, found {len(processes)}")
    for p in processes:
        uid = p.uids().real
        if uid == 0:
            fail(f"process {p.pid} runs as root")
    ok(f"replicas run as uid {sorted({p.uids().real for p in processes})} (not root)")
    asyncio.run(end_to_end(args.nginx, args.replica, args.admin, args.password))
    ok("end to end passed")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as exc:  # a failed check, said in one line
        print(f"image check FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
