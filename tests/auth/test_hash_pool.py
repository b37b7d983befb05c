"""The argon2 pool rests between checks, so a flood of wrong passwords takes
at most `duty` of a worker, while a lone sign-in is answered at once."""

from __future__ import annotations

import asyncio
import time

import pytest

from vitalwatch.auth import security
from vitalwatch.auth.security import HashingBusy, HashPool

CHECK_S = 0.1


@pytest.fixture(autouse=True)
def _dummy_hash_made() -> None:
    """A pool makes its dummy hash first (a real argon2): made here, not timed."""
    security._dummy_hash()


def _check() -> bool:
    time.sleep(CHECK_S)  # stands in for one argon2 verification
    return True


async def _flood(pool: HashPool, n: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    answered: list[float] = []

    async def one() -> None:
        await pool.run(_check)
        answered.append(time.perf_counter() - started)

    await asyncio.gather(*(one() for _ in range(n)))
    return time.perf_counter() - started, answered


async def test_a_flood_is_paced_to_the_duty() -> None:
    full, half = HashPool(1, 64, duty=1.0), HashPool(1, 64, duty=0.5)
    try:
        full_s, _ = await _flood(full, 6)
        half_s, _ = await _flood(half, 6)
    finally:
        full.shutdown()
        half.shutdown()
    # 6 checks back to back, against 6 checks with a rest as long as each between
    assert 6 * CHECK_S <= full_s < 9 * CHECK_S
    assert half_s >= 11 * CHECK_S


async def test_the_rest_does_not_delay_the_answer() -> None:
    pool = HashPool(1, 64, duty=0.25)
    try:
        started = time.perf_counter()
        assert await pool.run(_check)
        first = time.perf_counter() - started
        started = time.perf_counter()
        assert await pool.run(_check)  # waits out the first check's rest
        second = time.perf_counter() - started
    finally:
        pool.shutdown()
    assert first < 2 * CHECK_S
    assert second >= 3 * CHECK_S  # rest = 0.1 * (1 / 0.25 - 1)


async def test_past_the_queue_a_check_is_refused() -> None:
    pool = HashPool(1, 2, duty=1.0)
    try:
        waiting = [asyncio.ensure_future(pool.run(_check)) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(HashingBusy):
            await pool.run(_check)
        assert all(await asyncio.gather(*waiting))
    finally:
        pool.shutdown()
