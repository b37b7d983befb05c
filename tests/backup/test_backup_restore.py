"""`vitalwatch db backup` while devices post, `vitalwatch db restore` into a fresh
folder: the restored service has every sample acknowledged before the backup
began, and every alarm and audit row (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from tests.backends import new_database_url
from tests.support import Api, ServerProcess, iso, now_utc


async def _post_until(
    api: Api, token: str, stop: asyncio.Event, acked: list[tuple[float, int]]
) -> None:
    """Post one sample at a time; note (time of the 202, seq) of every acknowledged one."""
    seq = 0
    while not stop.is_set():
        sbp = 200 if seq % 40 < 5 else 120  # BP alarms come and go (first reading)
        sample = {"ts": iso(now_utc()), "seq": seq, "sbp": sbp, "dbp": 80, "hr": 80}
        r = await api.post(token, [sample])
        if r.status_code == 202:
            acked.append((time.monotonic(), seq))
        seq += 1
        await asyncio.sleep(0.01)


async def test_backup_under_load_restores_everything_acknowledged(
    backend: str, new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = new_server()
    server.start()
    api = Api(server.url)
    stop = asyncio.Event()
    acked: dict[int, list[tuple[float, int]]] = {}
    try:
        rooms = [await api.monitored() for _ in range(4)]
        tasks = []
        for device, session in rooms:
            acked[session["id"]] = []
            tasks.append(
                asyncio.create_task(_post_until(api, device["token"], stop, acked[session["id"]]))
            )
        await asyncio.sleep(3)  # alarms raised, samples stored
        alarms_before = {a for (a,) in await server.sql("SELECT id FROM alarms")}
        audit_before = {a for (a,) in await server.sql("SELECT id FROM audit_log")}
        assert alarms_before, "the load raises alarms"
        began = time.monotonic()
        backup = tmp_path / "vitalwatch.backup"
        done = await asyncio.to_thread(server.cli, "db", "backup", str(backup))
        assert "backed up" in done.stdout
        await asyncio.sleep(1)  # devices go on posting after the backup
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        await api.aclose()
        server.stop()
    before = {sid: {seq for at, seq in got if at < began} for sid, got in acked.items()}
    assert all(len(s) > 20 for s in before.values()), "the devices were posting"
    after_backup = sum(1 for got in acked.values() for at, _ in got if at > began)
    assert after_backup > 0, "the backup ran while devices posted"

    fresh = tmp_path / "restored"
    fresh.mkdir()
    restored = ServerProcess(fresh, database_url=new_database_url(backend, fresh))
    done = restored.cli("db", "restore", str(backup))
    assert "restored" in done.stdout
    restored.start()
    try:
        for sid, seqs in before.items():
            rows = await restored.sql("SELECT seq FROM readings WHERE session_id = :s", s=sid)
            assert seqs <= {seq for (seq,) in rows}, f"session {sid} lost acknowledged samples"
        assert alarms_before <= {a for (a,) in await restored.sql("SELECT id FROM alarms")}
        assert audit_before <= {a for (a,) in await restored.sql("SELECT id FROM audit_log")}
        api = Api(restored.url)
        try:  # the restored service serves them
            sessions = (await api.http.get("/api/v1/sessions", headers=await api.auth())).json()
            assert set(before) <= {s["id"] for s in sessions}
        finally:
            await api.aclose()
    finally:
        restored.stop()


def test_restore_refuses_to_overwrite_or_to_take_a_non_backup(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    server.create_users()
    backup = tmp_path / "copy.db"
    server.cli("db", "backup", str(backup))
    done = server.cli("db", "restore", str(backup), check=False)
    assert done.returncode == 1 and "--force" in done.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    done = server.cli("db", "restore", str(junk), "--force", check=False)
    assert done.returncode == 1 and "not a usable SQLite database" in done.stderr
    done = server.cli("db", "restore", str(backup), "--force")
    assert done.returncode == 0
