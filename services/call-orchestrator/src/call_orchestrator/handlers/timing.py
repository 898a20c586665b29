"""Per-request durations (ms) of the outbound path, reported in the `Server-Timing` header so that
LiveKit's share of a call set-up can be told from ours."""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

_timings: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "timings", default=None
)


def start_timings() -> dict[str, float]:
    """Collect this request's segment durations into the returned dict."""
    timings: dict[str, float] = {}
    _timings.set(timings)
    return timings


@contextlib.contextmanager
def segment(name: str) -> Iterator[None]:
    """Add the time spent in the block to this request's `name` segment."""
    timings = _timings.get()
    if timings is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + (time.perf_counter() - started) * 1000
