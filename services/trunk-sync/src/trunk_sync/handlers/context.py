"""What the handlers share: the ports (`Context`), the resource index and the per-number locks."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from talkifai_common.events import CloudEvent, PhoneNumberSyncData
from trunk_sync.adapters.livekit import LiveKitPort
from trunk_sync.adapters.numbers_api import NumbersPort
from trunk_sync.domain import Holdings

T = TypeVar("T")


class ResultSink(Protocol):
    """Where sync results and dead letters go (the bus)."""

    async def publish(self, event: CloudEvent[PhoneNumberSyncData]) -> None: ...

    async def dead_letter(
        self, subject: str, payload: bytes, *, reason: str, error: str, deliveries: int
    ) -> None: ...


@dataclass
class Index:
    """The LiveKit resource ids last seen for each number (to find them after an e164 change)."""

    ids: dict[str, Holdings] = field(default_factory=dict)

    def known(self, number_id: str) -> Holdings:
        """What this replica last saw for the number."""
        return self.ids.get(number_id, Holdings())

    def remember(self, number_id: str, held: Holdings) -> None:
        """Record the number's resources (empty: forget it)."""
        if held.inbound or held.outbound or held.rules:
            self.ids[number_id] = held
        else:
            self.ids.pop(number_id, None)

    def replace(self, groups: dict[str, Holdings]) -> None:
        """Start over from a full listing."""
        self.ids = dict(groups)


class NumberLeases(Protocol):
    """One replica at a time for a number, across replicas (`adapters.locks`, NATS KV)."""

    async def run(self, number_id: str, work: Callable[[], Awaitable[T]]) -> T: ...


class SoleReplica:
    """NumberLeases for a replica that runs alone (handler tests, benchmarks): always granted."""

    async def run(self, number_id: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work`."""
        return await work()


class NumberLocks:
    """One sync of a number at a time: in this replica by a lock, across replicas by a lease.

    A run that *started* after a message arrived read a state at least as new as that message, so
    once it succeeded the message needs no run of its own (bursts on one number coalesce). The
    lease is taken after the local lock, so a replica's own waiters never poll NATS.
    """

    def __init__(self, leases: NumberLeases | None = None) -> None:
        self._leases: NumberLeases = leases or SoleReplica()
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._clock = itertools.count(1)

    def ticket(self) -> int:
        """A point in this replica's time, taken when a message arrives."""
        return next(self._clock)

    async def run(
        self, number_id: str, ticket: int, work: Callable[[], Awaitable[T]]
    ) -> tuple[bool, T | None]:
        """(True, result) after running `work` alone for the number; (False, None) if covered."""
        lock = self._locks.setdefault(number_id, asyncio.Lock())
        self._users[number_id] = self._users.get(number_id, 0) + 1
        try:
            async with lock:
                if self._done.get(number_id, 0) > ticket:
                    return False, None
                started = next(self._clock)
                result = await self._leases.run(number_id, work)
                if len(self._done) > 200_000:
                    self._done.clear()
                self._done[number_id] = started
                return True, result
        finally:
            self._users[number_id] -= 1
            if not self._users[number_id]:
                del self._users[number_id]
                self._locks.pop(number_id, None)


@dataclass
class Context:
    """Everything the handlers talk to."""

    livekit: LiveKitPort
    numbers: NumbersPort
    results: ResultSink
    index: Index = field(default_factory=Index)
    locks: NumberLocks = field(default_factory=NumberLocks)
    # ALLOW_PRIVATE_SIP_DESTINATIONS: off unless main() says so, so a forgotten flag stays safe.
    allow_private_sip: bool = False
