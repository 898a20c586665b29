"""What every store shares: its failures, statement parameters and the clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class StoreError(Exception):
    """Base of the store's deliberate failures."""


class TooManyCalls(StoreError):
    """The organization has as many live calls as it may."""


class CallInProgress(StoreError):
    """A live call already uses this room (same two numbers)."""


class AttemptFenced(StoreError):
    """A campaign attempt's call was not recorded: the attempt no longer holds its fencing
    token (its lease expired and it was recovered), so it must not be dialed."""


class Params:
    """Positional parameters of a statement being built: `q(value)` adds one, returns `$n`."""

    def __init__(self) -> None:
        self.args: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)
