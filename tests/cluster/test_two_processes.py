"""Production mode: two real service processes on one PostgreSQL database, with
Redis between them. Devices and dashboards reach either process, as behind a
load balancer; one of them is killed with kill -9 under load."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio
from websockets.asyncio.client import ClientConnection

from tests.backends import require_redis
from tests.support import (
    CLUSTER_PARTITIONS,
    Api,
    ServerProcess,
    connect,
    now_utc,
    recv,
    samples,
    until,
)

PARTITIONS = CLUSTER_PARTITIONS


@pytest.fixture
async def two(
    cluster: Callable[[int], list[ServerProcess]],
) -> AsyncIterator[tuple[ServerProcess, ServerProcess, Api, Api]]:
    """Two running processes sharing the partitions evenly, with an API client each."""
    a, b = cluster(2)
    a.start()
    b.start()
    await wait_owned([a, b], [PARTITIONS // 2] * 2, timeout=15)
    api_a, api_b = Api(a.url), Api(b.url)
    yield a, b, api_a, api_b
    await api_a.aclose()
    await api_b.aclose()


def partitions_owned(server: ServerProcess) -> int:
    text = httpx.get(server.url + "/metrics", timeout=5).text
    line = next(m for m in text.splitlines() if m.startswith("vitalwatch_partitions_owned "))
    return int(float(line.split()[-1]))


async def wait_owned(servers: list[ServerProcess], expected: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        owned = [partitions_owned(s) for s in servers]
        if owned == expected:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"partitions owned {owned}, expected {expected}")
        await asyncio.sleep(0.2)


async def alarm_rows(server: ServerProcess) -> list[Any]:
    return await server.sql("SELECT session_id, rule, id, state FROM alarms ORDER BY id")


async def test_alarm_posted_to_one_process_reaches_a_dashboard_on_the_other(
    two: tuple[ServerProcess, ServerProcess, Api, Api],
) -> None:
    a, b, api_a, api_b = two
    ws_b = ws_a = None
    try:
        pairs = [await api_a.monitored() for _ in range(PARTITIONS)]  # one per partition
        ws_b = await connect(b, api_b)
        snapshot = await recv(ws_b)
        assert {s["id"] for _, s in pairs} <= {s["id"] for s in snapshot["sessions"]}
        t0 = now_utc() - timedelta(seconds=5)
        for device, session in pairs:
            sent = time.monotonic()
            r = await api_a.post(device["token"], samples(t0, 1, sbp=185, dbp=95, hr=80))
            assert r.status_code == 202, r.text
            event = await until(
                ws_b,
                lambda m, sid=session["id"]: (
                    m["type"] == "alarm" and m["alarm"]["session_id"] == sid
                ),
            )
            assert time.monotonic() - sent < 2.0
            assert event["action"] == "raised" and event["alarm"]["metric"] == "sbp"
            vitals = await until(
                ws_b,
                lambda m, sid=session["id"]: (
                    m["type"] == "vitals" and any(i["session_id"] == sid for i in m["items"])
                ),
            )
            item = next(i for i in vitals["items"] if i["session_id"] == session["id"])
            assert item["sbp"] == 185
        # a nurse on process A acknowledges; the dashboard on B sees it
        alarm_id = event["alarm"]["id"]
        r = await api_a.http.post(f"/api/v1/alarms/{alarm_id}/ack", headers=await api_a.auth())
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "acknowledged" and r.json()["acked_by"] == "nurse"
        acked = await until(ws_b, lambda m: m["type"] == "alarm" and m["action"] == "acknowledged")
        assert acked["alarm"]["id"] == alarm_id
        r = await api_b.http.post(f"/api/v1/alarms/{alarm_id}/ack", headers=await api_b.auth())
        assert r.status_code == 200  # acknowledging again is harmless
        r = await api_b.http.post("/api/v1/alarms/999999/ack", headers=await api_b.auth())
        assert r.status_code == 404
        # replay with `since` gives the same events whichever process answers
        ws_a = await connect(a, api_a, since=snapshot["event_id"])
        ws_b2 = await connect(b, api_b, since=snapshot["event_id"])
        try:
            seen_a = await _events_until_quiet(ws_a)
            seen_b = await _events_until_quiet(ws_b2)
        finally:
            await ws_b2.close()
        assert seen_a == seen_b and len(seen_a) >= PARTITIONS + 1
        # one evaluation per sample: each session raised exactly one alarm
        rows = await alarm_rows(a)
        assert sorted(r[0] for r in rows) == sorted(s["id"] for _, s in pairs)
    finally:
        for ws in (ws_a, ws_b):
            if ws is not None:
                await ws.close()


async def test_a_limit_change_reaches_the_evaluating_process_when_redis_loses_the_message(
    two: tuple[ServerProcess, ServerProcess, Api, Api],
) -> None:
    """The nurse's PATCH commits, but the message to the evaluating process is lost
    (XADD refused by Redis for a moment, a fault injected on purpose): the new
    limit must still be applied, from the session event in the database."""
    a, _, api_a, _ = two
    device, session = await api_a.monitored("custom")
    t0 = now_utc() - timedelta(seconds=30)
    r = await api_a.post(device["token"], samples(t0, 1, sbp=160, dbp=90, hr=80))
    assert r.status_code == 202, r.text
    admin = redis.Redis.from_url(require_redis())
    admin.execute_command("ACL", "SETUSER", "default", "-xadd")
    try:
        r = await api_a.http.patch(
            f"/api/v1/sessions/{session['id']}/thresholds",
            json={"sbp": {"high": 150}},
            headers=await api_a.auth(),
        )
        assert r.status_code == 200, r.text
    finally:
        admin.execute_command("ACL", "SETUSER", "default", "+xadd")
        admin.close()
    assert "session_change_unanswered" in a.log_text()

    raised = []
    for k in range(1, 20):  # SBP 160 again, now above the new limit of 150
        r = await api_a.post(device["token"], samples(t0, 1, seq0=k, sbp=160, dbp=90, hr=80))
        assert r.status_code == 202, r.text
        raised = [row for row in await alarm_rows(a) if row[0] == session["id"]]
        if raised:
            break
        await asyncio.sleep(0.3)
    assert [row[1] for row in raised] == ["bp"], raised


async def test_an_acknowledge_read_again_after_a_takeover_runs_and_is_audited_once(
    two: tuple[ServerProcess, ServerProcess, Api, Api],
) -> None:
    """An owner that committed an acknowledge and died before XACK leaves the entry
    pending; the next owner reads it again. The same entry, delivered twice here
    (a fault injected on purpose), must be acknowledged and audited once."""
    a, _, api_a, _ = two
    device, session = await api_a.monitored()
    r = await api_a.post(device["token"], samples(now_utc(), 1, sbp=185, dbp=95, hr=80))
    assert r.status_code == 202, r.text
    ((alarm_id, state),) = [(row[2], row[3]) for row in await alarm_rows(a)]
    assert state == "active"
    me = (await api_a.http.get("/api/v1/auth/me", headers=await api_a.auth())).json()
    prefix = a.extra_env["VITALWATCH_REDIS_PREFIX"]
    reply_to = f"{prefix}:reply:test-{secrets.token_hex(3)}"
    entry = {
        "k": "alarm",
        "a": alarm_id,
        "x": "acknowledge",
        "n": 0,
        "u": json.dumps({"type": "user", "id": me["id"], "name": me["username"]}),
        "r": reply_to,
        "i": "1",
    }
    client = redis.asyncio.Redis.from_url(require_redis())
    try:
        replies: list[Any] = []
        for _ in range(2):
            await client.xadd(f"{prefix}:part:{session['id'] % PARTITIONS}", entry)
            got = await client.xread({reply_to: replies[-1][0] if replies else "0-0"}, block=10_000)
            replies += got[0][1]
    finally:
        await client.aclose()
    assert [fields[b"o"] for _, fields in replies] == [b"ok", b"ok"]
    assert [row[3] for row in await alarm_rows(a)] == ["acknowledged"]
    audited = await a.sql(
        "SELECT count(*) FROM audit_log WHERE action='alarm.acknowledge' AND entity_id=:a",
        a=alarm_id,
    )
    assert audited[0][0] == 1


async def test_a_device_moved_to_a_new_session_is_filed_under_it_on_either_process(
    two: tuple[ServerProcess, ServerProcess, Api, Api],
) -> None:
    """Each process caches where a device's samples go; after the device's session
    ends and a new one (in another partition) starts, no sample may be filed under
    the old session or refused, whichever process it reaches."""
    a, _, api_a, api_b = two
    device, first = await api_a.monitored("custom")
    t0 = now_utc() - timedelta(seconds=60)
    for seq, api in enumerate((api_a, api_b)):  # both processes learn the first route
        r = await api.post(device["token"], samples(t0, 1, seq0=seq, hr=70))
        assert r.status_code == 202, r.text
    r = await api_b.http.post(f"/api/v1/sessions/{first['id']}/end", headers=await api_b.auth())
    assert r.status_code == 200, r.text
    second = await api_b.session([device["id"]], "custom")
    assert second["id"] % PARTITIONS != first["id"] % PARTITIONS
    for seq, api in enumerate((api_a, api_b, api_a, api_b), start=2):
        r = await api.post(device["token"], samples(t0, 1, seq0=seq, step_s=1, hr=70))
        assert r.status_code == 202, r.text
    rows = await a.sql(
        "SELECT session_id, count(*) FROM readings WHERE device_id=:d GROUP BY session_id",
        d=device["id"],
    )
    assert sorted(map(tuple, rows)) == [(first["id"], 2), (second["id"], 4)]


async def _events_until_quiet(ws: ClientConnection) -> list[int]:
    """Durable event ids received until the stream has nothing new for a moment."""
    ids: list[int] = []
    while True:
        try:
            msg = await recv(ws, timeout=1.0)
        except TimeoutError:
            return ids
        if msg["type"] in ("alarm", "session"):
            ids.append(msg["event_id"])


async def test_samples_through_both_processes_are_evaluated_once(
    two: tuple[ServerProcess, ServerProcess, Api, Api],
) -> None:
    a, _, api_a, api_b = two
    pairs = [await api_b.monitored() for _ in range(6)]
    t0 = now_utc() - timedelta(minutes=2)

    async def alternate(device: dict[str, Any]) -> None:
        # HR 150 for 30 s, then 15 s normal, each sample through the other process:
        # one alarm, raised once, its condition cleared once.
        for k in range(45):
            hr = 150 if k < 30 else 75
            api = api_a if k % 2 else api_b
            r = await api.post(
                device["token"], samples(t0 + timedelta(seconds=k), 1, seq0=k, hr=hr, spo2=97)
            )
            assert r.status_code == 202, r.text
            assert r.json() == {"accepted": 1, "duplicates": 0}
        # a repeated sample (same values) through either process is a duplicate
        r = await api_a.post(device["token"], samples(t0, 1, seq0=0, hr=150, spo2=97))
        assert r.json() == {"accepted": 0, "duplicates": 1}

    await asyncio.gather(*(alternate(d) for d, _ in pairs))
    rows = await alarm_rows(a)
    per_session = {s["id"]: [r for r in rows if r[0] == s["id"]] for _, s in pairs}
    for sid, alarms in per_session.items():
        assert len(alarms) == 1, (sid, alarms)
        log = await a.sql(
            "SELECT action FROM alarm_log WHERE alarm_id=:a ORDER BY id", a=alarms[0][2]
        )
        actions = [row[0] for row in log]
        assert actions.count("raised") == 1, actions
        assert actions.count("condition_cleared") == 1, actions
    stored = await a.sql("SELECT count(*) FROM readings")
    assert stored[0][0] == 6 * 45


async def test_partitions_are_shared_handed_over_on_stop_and_taken_over_after_kill_9(
    cluster: Callable[[int], list[ServerProcess]],
) -> None:
    a, b, c = cluster(3)
    a.start()
    await wait_owned([a], [PARTITIONS], timeout=10)
    b.start()
    await wait_owned([a, b], [PARTITIONS // 2] * 2, timeout=15)
    # graceful stop: its partitions are handed over at once, not after the lease expires
    started = time.monotonic()
    a.stop()
    await wait_owned([b], [PARTITIONS], timeout=10)
    handed_over_s = time.monotonic() - started
    c.start()
    await wait_owned([b, c], [PARTITIONS // 2] * 2, timeout=15)
    # kill -9: nobody gives the leases back; the survivor takes them when they expire
    started = time.monotonic()
    b.kill9()
    await wait_owned([c], [PARTITIONS], timeout=15)
    taken_over_s = time.monotonic() - started
    assert handed_over_s < 10 and taken_over_s < 15
    epochs = await c.sql("SELECT partition, epoch FROM partition_owners ORDER BY partition")
    assert len(epochs) == PARTITIONS and all(e >= 2 for _, e in epochs)


async def _load(
    servers: list[ServerProcess],
    device: dict[str, Any],
    acked: set[int],
    stop: asyncio.Event,
    values: dict[str, float],
) -> None:
    """A device behind a load balancer: each batch to the next process that answers."""
    clients = [httpx.AsyncClient(base_url=s.url, timeout=20) for s in servers]
    seq, turn = 0, 0
    t0 = now_utc() - timedelta(minutes=10)
    try:
        while not stop.is_set():
            batch = samples(t0 + timedelta(seconds=seq), 5, seq0=seq, **values)
            client = clients[turn % len(clients)]
            turn += 1
            try:
                r = await client.post(
                    "/api/v1/readings",
                    json={"samples": batch},
                    headers={"Authorization": f"Bearer {device['token']}"},
                )
            except httpx.HTTPError:
                await asyncio.sleep(0.05)
                continue  # that process is gone: the balancer tries the other one
            if r.status_code == 202:
                acked.update(range(seq, seq + 5))
                seq += 5
            else:
                await asyncio.sleep(0.1)
    finally:
        for c in clients:
            await c.aclose()


async def test_kill_9_under_load_loses_no_sample_and_no_alarm_and_raises_none_twice(
    two: tuple[ServerProcess, ServerProcess, Api, Api],
) -> None:
    a, b, api_a, api_b = two
    ws_a = ws_b = None
    try:
        # 4 rooms in alarm (SBP 185 throughout) and 4 normal, spread over the partitions
        pairs = [await api_b.monitored() for _ in range(8)]
        alarming = {s["id"] for _, s in pairs[:4]}
        ws_a = await connect(a, api_a)
        ws_b = await connect(b, api_b)
        await recv(ws_a)
        start_b = (await recv(ws_b))["event_id"]
        acked: dict[int, set[int]] = {d["id"]: set() for d, _ in pairs}
        stop = asyncio.Event()
        loads = [
            asyncio.create_task(
                _load(
                    [a, b],
                    d,
                    acked[d["id"]],
                    stop,
                    {"sbp": 185, "dbp": 95, "hr": 80}
                    if s["id"] in alarming
                    else {"sbp": 120, "dbp": 75, "hr": 70},
                )
            )
            for d, s in pairs
        ]
        # every alarming room raised its alarm before the kill
        raised_before: set[int] = set()
        seen_on_a: list[int] = []
        while raised_before != alarming:
            msg = await recv(ws_a, timeout=10)
            if msg["type"] == "alarm":
                seen_on_a.append(msg["event_id"])
                if msg["action"] == "raised":
                    raised_before.add(msg["alarm"]["session_id"])
        await asyncio.sleep(1.0)
        a.kill9()
        await wait_owned([b], [PARTITIONS], timeout=15)
        await asyncio.sleep(2.0)  # the load goes on through the survivor
        # a new alarm after the takeover reaches the dashboard that was on A, once it
        # reconnects to B with `since`
        device, session = pairs[4]
        stop_one = [t for t, (d, _) in zip(loads, pairs, strict=True) if d is device]
        loads.remove(stop_one[0])
        stop_one[0].cancel()
        await asyncio.gather(stop_one[0], return_exceptions=True)
        # (a seq far beyond the load's: its last batch may be stored but unrecorded)
        r = await api_b.post(
            device["token"],
            samples(now_utc() - timedelta(seconds=1), 1, seq0=10**9, sbp=190, dbp=95),
        )
        assert r.status_code == 202 and r.json()["accepted"] == 1, r.text
        stop.set()
        await asyncio.gather(*loads)
        ws_a2 = await connect(b, api_b, since=max(seen_on_a))
        try:
            replayed = await _events_until_quiet(ws_a2)
        finally:
            await ws_a2.close()
        on_b = [i for i in await _events_until_quiet(ws_b) if i > start_b]
        assert set(seen_on_a) | set(replayed) >= {i for i in on_b if i > min(seen_on_a)}
        new_alarm = await b.sql(
            "SELECT id FROM live_events WHERE type='alarm' AND id > :i", i=max(seen_on_a)
        )
        assert {row[0] for row in new_alarm} <= set(replayed)
    finally:
        for ws in (ws_a, ws_b):
            if ws is not None:
                await ws.close()
    # no acknowledged sample lost
    for device_id, seqs in acked.items():
        assert len(seqs) > 20, "the load should have been acknowledged many times"
        rows = await b.sql("SELECT seq FROM readings WHERE device_id=:d", d=device_id)
        missing = seqs - {row[0] for row in rows}
        assert not missing, f"device {device_id}: {len(missing)} acknowledged samples lost"
    # no alarm raised twice: one SBP alarm per alarming room, none for the others,
    # and the post-takeover alarm raised once
    rows = await alarm_rows(b)
    by_session: dict[int, list[Any]] = {}
    for sid, rule, _id, _state in rows:
        by_session.setdefault(sid, []).append(rule)
    for sid in alarming:
        assert by_session.get(sid, []).count("bp") == 1, (sid, by_session.get(sid))
    assert by_session.get(session["id"], []).count("bp") == 1
    assert set(by_session) == alarming | {session["id"]}


async def test_a_process_with_another_partition_count_refuses_to_start(
    cluster: Callable[[int], list[ServerProcess]],
) -> None:
    a, b = cluster(2)
    a.start()
    b.extra_env["VITALWATCH_PARTITIONS"] = str(PARTITIONS * 2)
    with pytest.raises(RuntimeError, match="server exited"):
        b.start()
    assert f"VITALWATCH_PARTITIONS={PARTITIONS * 2}" in b.log_text()
    assert partitions_owned(a) == PARTITIONS
