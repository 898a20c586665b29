"""Helpers for tests of trunk-sync: running replicas and waiting on the LiveKit emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from livekit_emulator.testing import EmulatorControl


@dataclass
class TrunkSync:
    """A running trunk-sync."""

    base_url: str
    app: Any
    settings: Any


StartSync = Callable[..., Awaitable[TrunkSync]]


async def eventually(
    check: Callable[[], Awaitable[Any]], within_s: float = 10.0, every_s: float = 0.02
) -> Any:
    """Call `check` until it returns a truthy value (returned) or raises no AssertionError."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    last: BaseException | None = None
    while loop.time() < deadline:
        try:
            result = await check()
        except AssertionError as exc:
            last = exc
        else:
            if result:
                return result
        await asyncio.sleep(every_s)
    raise AssertionError(f"not within {within_s} s: {last}")


async def sip_state(control: EmulatorControl) -> dict[str, list[dict[str, Any]]]:
    """The emulator's trunks and dispatch rules."""
    state = await control.state()
    return {
        "inbound": state["inbound_trunks"],
        "outbound": state["outbound_trunks"],
        "rules": state["dispatch_rules"],
    }
