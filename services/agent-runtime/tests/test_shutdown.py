"""Every shutdown step is bounded: a hung dependency cannot hold the process past its deadline."""

from __future__ import annotations

import asyncio

import pytest

from agent_runtime.config import Settings
from agent_runtime.shutdown import stop_within

pytestmark = pytest.mark.unit

GUARD_S = 15.0  # a guard against hanging, never an expectation of speed


async def test_a_hanging_shutdown_step_is_cancelled_at_its_bound() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def hangs() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with asyncio.timeout(GUARD_S):
        finished = await stop_within("hangs", hangs(), timeout_s=0.05)
    assert started.is_set()
    assert finished is False
    assert cancelled.is_set()


async def test_a_failing_shutdown_step_is_logged_and_the_next_step_still_runs() -> None:
    async def fails() -> None:
        raise ConnectionError("the bus is gone")

    ran: list[str] = []

    async def closes() -> None:
        ran.append("closed")

    assert await stop_within("bus", fails(), timeout_s=1.0) is False
    assert await stop_within("client", closes(), timeout_s=1.0) is True
    assert ran == ["closed"]


def test_the_shutdown_step_bound_is_configurable_and_must_be_positive() -> None:
    assert Settings(dev_mode=True, shutdown_step_timeout_s=2.5).shutdown_step_timeout_s == 2.5
    with pytest.raises(ValueError, match="shutdown_step_timeout_s"):
        Settings(dev_mode=True, shutdown_step_timeout_s=0)
