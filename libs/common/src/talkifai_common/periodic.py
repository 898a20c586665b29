"""Background work repeated on an interval, retried soon after a failure."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


async def repeat(
    work: Callable[[], Awaitable[object]],
    interval_s: float,
    *,
    failure_event: str,
    first_now: bool = True,
    jitter: float = 0.0,
) -> None:
    """Run `work` every `interval_s` until cancelled (now first, unless `first_now` is False).

    A run that raises is logged as `failure_event` and tried again after 1, 2, 4... seconds, up
    to the interval: what it depends on may only be starting. `jitter` (a fraction) spreads the
    runs of several replicas apart.
    """
    failures = 0
    delay = 0.0 if first_now else interval_s * random.uniform(1 - jitter, 1 + jitter)
    while True:
        await asyncio.sleep(delay)
        delay = interval_s * random.uniform(1 - jitter, 1 + jitter)
        try:
            await work()
            failures = 0
        except Exception as exc:
            failures += 1
            delay = min(delay, 2.0 ** (failures - 1))
            log.warning(
                failure_event,
                error=str(exc),
                error_type=type(exc).__name__,
                retry_in_s=delay,
            )
