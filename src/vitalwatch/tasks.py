"""The services' background loops: the one way to run one, and to stop one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from structlog.stdlib import BoundLogger


async def every(
    seconds: float, work: Callable[[], Awaitable[object]], log: BoundLogger, failed: str
) -> None:
    """Run `work` every `seconds` until cancelled. A failure is logged as the
    event `failed` (on the caller's logger, with its traceback) and the loop
    goes on: the next round may find the database back."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except Exception:
            log.exception(failed)


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` (None: nothing to stop) and wait until it has ended, so a
    stopping service goes on only once its loop is gone; the cancellation
    itself is no error (any other exception of the task is raised)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
