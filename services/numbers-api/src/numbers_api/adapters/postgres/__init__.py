"""numbers-api's PostgreSQL adapter: one `Tx` per unit of work, with the queries of each
aggregate (`agents`, `phone_numbers`), of internal callers (`internal`) and of the trunk doctor
(`checks`) on one connection.

Driver errors do not leave it: a unique violation on a phone number is `AlreadyRegistered`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from numbers_api.adapters.postgres.agents import AgentQueries
from numbers_api.adapters.postgres.checks import CheckQueries
from numbers_api.adapters.postgres.internal import InternalQueries, SyncRecorded
from numbers_api.adapters.postgres.phone_numbers import PhoneNumberQueries
from numbers_api.adapters.postgres.rows import (
    NUMBER_VIEW,
    decode_cursor,
    encode_cursor,
    internal_from_row,
    new_number_row,
    number_from_row,
)
from talkifai_common.events import CloudEvent
from talkifai_common.outbox import write_event

_NUMBER_VIEW = NUMBER_VIEW  # bench/numbers_api.py runs the same SQL on a bare endpoint

__all__ = [
    "NUMBER_VIEW",
    "Store",
    "SyncRecorded",
    "Tx",
    "decode_cursor",
    "encode_cursor",
    "internal_from_row",
    "new_number_row",
    "number_from_row",
]


class Store:
    """Opens units of work on the pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A unit of work: every change and its events commit together or not at all."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield Tx(conn)

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[Tx]:
        """One change that is a single statement, atomic alone (with its event, if any): no
        BEGIN/COMMIT round trips."""
        async with self.pool.acquire() as conn:
            yield Tx(conn)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Tx]:
        """Reads outside a transaction block; never a change (use `writer` or `transaction`)."""
        async with self.pool.acquire() as conn:
            yield Tx(conn)


class Tx(AgentQueries, PhoneNumberQueries, InternalQueries, CheckQueries):
    """Queries and changes on one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def emit(self, event: CloudEvent[Any]) -> None:
        """Write an event to the outbox in this transaction."""
        await write_event(self.conn, event)
