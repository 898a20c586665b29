"""A deadline on every LiveKit API call, whatever livekit-api does with timeouts.

livekit-api 1.2.x passes `timeout=None` per request to aiohttp, which switches the session's
`ClientTimeout` off: `LiveKitAPI(timeout=...)` bounds nothing, so a slow LiveKit holds a caller
for as long as it likes. `within_deadline` bounds the call with `asyncio.timeout` instead; each
service's LiveKit adapter maps `LiveKitDeadlineExceeded` (a `TimeoutError`) to its own retryable
"LiveKit unavailable" error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class LiveKitDeadlineExceeded(TimeoutError):
    """A LiveKit call did not answer within its deadline."""

    def __init__(self, operation: str, seconds: float) -> None:
        super().__init__(f"LiveKit {operation} did not answer within {seconds:g} s")
        self.operation = operation
        self.seconds = seconds


async def within_deadline(call: Awaitable[T], operation: str, seconds: float) -> T:
    """Await a LiveKit call for at most `seconds`; LiveKitDeadlineExceeded when it runs over."""
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await call
    except TimeoutError as exc:
        if deadline.expired():
            raise LiveKitDeadlineExceeded(operation, seconds) from exc
        raise
