"""vitalwatch.tasks, the services' background loops: `every` goes on after a
failed round (logged with its traceback); `cancel_and_wait` returns only once
the loop has ended (its clean-up done), and a loop's own failure is not hidden."""

from __future__ import annotations

import asyncio

import pytest
import structlog
from structlog.testing import capture_logs

from vitalwatch.tasks import cancel_and_wait, every


async def test_every_goes_on_after_a_failed_round() -> None:
    rounds = 0
    three = asyncio.Event()

    async def work() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 3:
            three.set()
        if rounds == 1:
            raise OSError("database gone")  # a fault injected on purpose

    with capture_logs() as logs:
        log = structlog.stdlib.get_logger("test")
        task = asyncio.create_task(every(0.01, work, log, "work_failed"))
        await asyncio.wait_for(three.wait(), 5)
        await cancel_and_wait(task)
    assert [(e["event"], e["log_level"], e.get("exc_info")) for e in logs] == [
        ("work_failed", "error", True)
    ]


async def test_returns_once_the_loop_has_cleaned_up() -> None:
    cleaned = asyncio.Event()

    async def loop() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.05)  # clean-up that itself awaits
            cleaned.set()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled() and cleaned.is_set()


async def test_nothing_to_stop_and_a_finished_task() -> None:
    await cancel_and_wait(None)

    async def done() -> int:
        return 1

    task = asyncio.create_task(done())
    await task
    await cancel_and_wait(task)
    assert task.result() == 1


async def test_a_failure_while_stopping_is_raised() -> None:
    async def loop() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("flush failed") from None

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="flush failed"):
        await cancel_and_wait(task)
