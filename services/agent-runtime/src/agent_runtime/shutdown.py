"""Bounded shutdown: each step gets a deadline, so one hung dependency cannot hold the process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import structlog

log = structlog.get_logger(__name__)


async def stop_within(name: str, step: Awaitable[object], timeout_s: float) -> bool:
    """Await one shutdown step for at most `timeout_s`; log and move on if it hangs or fails.

    Returns whether the step finished cleanly. A step still running at its deadline is cancelled.
    """
    try:
        async with asyncio.timeout(timeout_s):
            await step
    except TimeoutError:
        log.warning("shutdown.step_timed_out", step=name, timeout_s=timeout_s)
        return False
    except Exception as exc:
        # Shutdown goes on: the remaining steps still release their resources.
        log.warning("shutdown.step_failed", step=name, error=str(exc))
        return False
    return True
