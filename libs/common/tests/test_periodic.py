"""`repeat`: work on an interval, retried within seconds after a failure."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from talkifai_common.periodic import repeat

pytestmark = pytest.mark.unit


async def run_for(seconds: float, *args: object, **kwargs: object) -> None:
    task = asyncio.create_task(repeat(*args, **kwargs))  # type: ignore[arg-type]
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_runs_at_once_then_every_interval() -> None:
    runs: list[float] = []

    async def work() -> None:
        runs.append(asyncio.get_running_loop().time())

    await run_for(0.35, work, 0.1, failure_event="test.failed")
    assert 3 <= len(runs) <= 5
    await run_for(0.05, work, 10.0, failure_event="test.failed", first_now=False)
    assert len(runs) <= 5  # the late start waited for the interval


async def test_a_failed_run_is_retried_after_a_second_not_the_whole_interval() -> None:
    calls = 0

    async def work() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("not up yet")

    await run_for(1.3, work, 60.0, failure_event="test.failed")
    assert calls == 2
