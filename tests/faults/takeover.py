"""A takeover at size: rooms with 20 minutes of stored readings on PostgreSQL,
several service processes sharing them through Redis, some killed with
kill -9, and the time until the survivors serve every partition again.

Shared by tests/faults/test_cluster_faults.py and bench/takeover.py. The
rooms and their readings are written straight into the database (a million
readings through the API would take longer than the takeover measured);
everything after that goes through the real processes.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from tests.support import ServerProcess, iso, now_utc

#: Group commits a second in the seeded history (as the writer makes them
#: when devices post independently: each holds a tenth of the rooms).
_COMMITS_PER_S = 10


@dataclass
class Room:
    session_id: int
    device_id: int
    token: str


@dataclass
class Takeover:
    #: seconds from the kill until the survivors own every partition
    served_after_s: float
    #: seconds from the kill until a probe sample of every room is answered 202
    rooms_answered_after_s: float
    #: leases the survivors lost meanwhile (their own, renewed too late)
    survivor_leases_lost: int


async def seed_rooms(url: str, rooms: int, minutes: float) -> list[Room]:
    """Migrate `url`, add `rooms` active ketamine IM sessions begun `minutes` + 5
    ago, each with a monitor, and a reading a second for `minutes` (HR, SpO2,
    RR; a cuff BP every 5 min), in ten group commits a second."""
    from vitalwatch import migrate
    from vitalwatch.auth.security import device_token_hash
    from vitalwatch.config import Settings
    from vitalwatch.db import create_engine, create_sessionmaker
    from vitalwatch.devices.models import Device, SessionDevice
    from vitalwatch.patients.models import Patient
    from vitalwatch.sessions.models import Session
    from vitalwatch.sessions.thresholds import defaults_for

    await asyncio.to_thread(migrate.upgrade, url)
    started = datetime.now(UTC) - timedelta(minutes=minutes + 5)
    thresholds = defaults_for("ketamine-im").model_dump(mode="json")
    engine = create_engine(Settings(database_url=url))
    out: list[Room] = []
    try:
        async with create_sessionmaker(engine)() as db:
            patients = [Patient(ref=f"T-{i}") for i in range(rooms)]
            db.add_all(patients)
            await db.flush()
            sessions = [
                Session(
                    patient_id=p.id,
                    protocol="ketamine-im",
                    thresholds=thresholds,
                    started_at=started,
                )
                for p in patients
            ]
            db.add_all(sessions)
            await db.flush()
            tokens = [secrets.token_urlsafe(24) for _ in range(rooms)]
            devices = [
                Device(name=f"Bay {i} monitor", token_hash=device_token_hash(t), session_id=s.id)
                for i, (s, t) in enumerate(zip(sessions, tokens, strict=True))
            ]
            db.add_all(devices)
            await db.flush()
            db.add_all(
                SessionDevice(session_id=s.id, device_id=d.id, bound_at=started)
                for s, d in zip(sessions, devices, strict=True)
            )
            await db.commit()
            out = [Room(s.id, d.id, t) for s, d, t in zip(sessions, devices, tokens, strict=True)]
    finally:
        await engine.dispose()
    dsn = re.sub(r"^postgresql\+\w+://", "postgresql://", url)
    conn = await asyncpg.connect(dsn)
    try:
        end_ms = int(time.time() * 1000) - 2_000
        seconds = int(minutes * 60)
        records = []
        for s in range(seconds):
            ts = end_ms - (seconds - s) * 1000
            bp = s % 300 == 0
            for commit in range(_COMMITS_PER_S):  # the writer's group commits of that second
                received = ts + 150 + commit * 1000 // _COMMITS_PER_S
                for room in out[commit::_COMMITS_PER_S]:
                    records.append(
                        (
                            room.session_id,
                            room.device_id,
                            s,
                            ts,
                            received,
                            72.0 + room.session_id % 5,
                            118.0 if bp else None,
                            76.0 if bp else None,
                            90.0 if bp else None,
                            97.0,
                            14.0,
                        )
                    )
        columns = ["session_id", "device_id", "seq", "ts_ms", "received_ms"]
        columns += ["hr", "sbp", "dbp", "map", "spo2", "rr"]
        await conn.copy_records_to_table("readings", records=records, columns=columns)
        await conn.execute("ANALYZE readings")
        return out
    finally:
        await conn.close()


def partitions_owned(server: ServerProcess) -> int:
    text = httpx.get(server.url + "/metrics", timeout=10).text
    line = next(m for m in text.splitlines() if m.startswith("vitalwatch_partitions_owned "))
    return int(float(line.split()[-1]))


def leases_lost(server: ServerProcess) -> int:
    return server.log_text().count("partition_lease_lost")


async def until_owned(servers: list[ServerProcess], counts: list[int], timeout: float) -> float:
    """Seconds until `servers` own `counts` partitions."""
    t0 = time.monotonic()
    while [partitions_owned(s) for s in servers] != counts:
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"partitions owned {[partitions_owned(s) for s in servers]}")
        await asyncio.sleep(0.1)
    return time.monotonic() - t0


async def probe_rooms(url: str, rooms: list[Room], t0: float, timeout: float) -> float:
    """Post one sample of each room to `url` until every one is answered 202;
    seconds from `t0` until the last was."""
    waiting = {r.device_id: r for r in rooms}
    seq = 1_000_000
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while waiting:
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"{len(waiting)} rooms still unanswered")
            seq += 1

            async def one(room: Room, seq: int = seq) -> int:
                r = await http.post(
                    "/api/v1/readings",
                    json={"samples": [{"ts": iso(now_utc()), "seq": seq, "hr": 75}]},
                    headers={"Authorization": f"Bearer {room.token}"},
                )
                return r.status_code

            statuses = await asyncio.gather(*(one(r) for r in waiting.values()))
            for device_id, status in zip(list(waiting), statuses, strict=True):
                if status == 202:
                    del waiting[device_id]
            if waiting:
                await asyncio.sleep(0.2)
    return time.monotonic() - t0


async def kill_and_measure(
    servers: list[ServerProcess], kill: int, partitions: int, rooms: list[Room], timeout: float
) -> Takeover:
    """kill -9 the last `kill` of `servers`; how long the others take to serve again."""
    survivors, victims = servers[:-kill], servers[-kill:]
    lost_before = sum(leases_lost(s) for s in survivors)
    t0 = time.monotonic()
    for v in victims:
        assert v.proc is not None
        v.proc.send_signal(signal.SIGKILL)
    for v in victims:
        assert v.proc is not None
        v.proc.wait()
    share = [partitions // len(survivors)] * len(survivors)
    for i in range(partitions % len(survivors)):
        share[i] += 1
    served = await until_owned(survivors, sorted(share, reverse=True), timeout)
    answered = await probe_rooms(survivors[0].url, rooms, t0, timeout)
    return Takeover(
        served_after_s=served,
        rooms_answered_after_s=answered,
        survivor_leases_lost=sum(leases_lost(s) for s in survivors) - lost_before,
    )


def cluster_processes(
    folder: Path, count: int, database_url: str, redis_url: str, partitions: int, lease_s: float
) -> list[ServerProcess]:
    prefix = f"vw-{secrets.token_hex(3)}"
    secret = secrets.token_urlsafe(48)
    out = []
    for i in range(count):
        workdir = folder / f"p{i}"
        workdir.mkdir(parents=True, exist_ok=True)
        out.append(
            ServerProcess(
                workdir,
                database_url=database_url,
                secret=secret,
                extra_env={
                    "VITALWATCH_REDIS_URL": redis_url,
                    "VITALWATCH_REDIS_PREFIX": prefix,
                    "VITALWATCH_PARTITIONS": str(partitions),
                    "VITALWATCH_LEASE_TTL_S": str(lease_s),
                },
            )
        )
    return out
