"""vitalwatch.tasks.cancel_and_wait, the one way a service stops its loop:
it returns only once the loop has ended (its clean-up done), and a loop's
own failure is not hidden."""

from __future__ import annotations

import asyncio

import pytest

from vitalwatch.tasks import cancel_and_wait


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
