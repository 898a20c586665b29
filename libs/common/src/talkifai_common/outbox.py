"""The transactional outbox: an event is written in the same transaction as the change it reports.

`write_event` inserts into the service's `outbox` table and notifies the relay; `OutboxRelay` moves
rows to JetStream in order and deletes them once JetStream has acknowledged them. If the process
dies between the publish and the delete, the rows are published again and JetStream drops the copies
by `Nats-Msg-Id`. Several replicas may run the relay: a transaction-scoped advisory lock lets one
batch at a time through, which keeps events in commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any

import asyncpg
import structlog

from talkifai_common.bus import EventPublisher, OutgoingMessage, encode_event
from talkifai_common.events import CloudEvent

NOTIFY_CHANNEL = "outbox"
# Any constant works; it only has to be the same for every replica sharing one database.
_RELAY_LOCK_KEY = 0x7A1C_0B0C

OUTBOX_DDL = """
CREATE TABLE outbox (
    seq        bigserial PRIMARY KEY,
    event_id   text NOT NULL UNIQUE,
    subject    text NOT NULL,
    payload    text NOT NULL,
    headers    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""

log = structlog.get_logger(__name__)


async def write_event(conn: asyncpg.Connection, event: CloudEvent[Any]) -> None:
    """Record `event` in the caller's transaction; it is published only if that commits."""
    message = encode_event(event)
    # One round trip: the row and the relays' wake-up.
    await conn.execute(
        "WITH e AS (INSERT INTO outbox (event_id, subject, payload, headers) "
        "VALUES ($1, $2, $3, $4) RETURNING 1) "
        f"SELECT pg_notify('{NOTIFY_CHANNEL}', '') FROM e",
        message.event_id,
        message.subject,
        message.payload.decode(),
        dict(message.headers),
    )


def outbox_columns(events: Sequence[CloudEvent[Any]]) -> list[list[str]]:
    """`events` as four text arrays (event ids, subjects, payloads, JSON headers), the parameters
    of `outbox_insert`, for statements that write a change and its events at once."""
    messages = [encode_event(event) for event in events]
    return [
        [m.event_id for m in messages],
        [m.subject for m in messages],
        [m.payload.decode() for m in messages],
        [json.dumps(dict(m.headers)) for m in messages],
    ]


def outbox_insert(first_param: int, *, source: str) -> str:
    """SQL for a data-modifying CTE: insert, in order, the events passed as `outbox_columns` in
    parameters `$first_param`..`$first_param + 3`, once per row of the CTE `source` (which yields
    one row when the change happened, none otherwise). Pair it with `outbox_notify(source)`."""
    a, b, c, d = (f"${first_param + i}" for i in range(4))
    return (
        "INSERT INTO outbox (event_id, subject, payload, headers) "
        "SELECT e.event_id, e.subject, e.payload, e.headers::jsonb "
        f"FROM {source}, unnest({a}::text[], {b}::text[], {c}::text[], {d}::text[]) "
        "WITH ORDINALITY AS e(event_id, subject, payload, headers, n) ORDER BY e.n"
    )


def outbox_notify(source: str) -> str:
    """SQL for a select-list item that wakes the relays when the CTE `source` yielded a row."""
    return f"(SELECT pg_notify('{NOTIFY_CHANNEL}', '') FROM {source} LIMIT 1)"


# A batch's first statement: take the relay lock and read the oldest rows. The lock is held until
# the batch's transaction ends; without it, a replica gets one row with `held` false and does not
# read the table (the one-time filter). The batch's commit stays durable: with `synchronous_commit`
# off for it, call-orchestrator's p99 in bench/outbound.py was ~4 ms worse (the WAL writer's
# background flushes, likely, getting in the way of the requests' commits).
_CLAIM = """
WITH lock AS (SELECT pg_try_advisory_xact_lock($1) AS held)
SELECT lock.held, o.seq, o.event_id, o.subject, o.payload, o.headers
FROM lock LEFT JOIN LATERAL (
    SELECT seq, event_id, subject, payload, headers FROM outbox
    WHERE lock.held ORDER BY seq LIMIT $2
) AS o ON true
"""


class OutboxRelay:
    """Publishes committed outbox rows to JetStream, in order, until cancelled.

    It keeps one connection of its own, which also LISTENs for the writers' NOTIFY. A batch is one
    transaction of two statements around the publish: `_CLAIM`, then the delete of what JetStream
    acknowledged. Any failure closes the connection; a later flush opens a new one.
    """

    def __init__(
        self,
        database_url: str,
        publisher: EventPublisher,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 10.0,
    ) -> None:
        self._database_url = database_url
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._max_backoff_s = max_backoff_s
        self._wakeup = asyncio.Event()
        self._conn: asyncpg.Connection | None = None

    async def flush_once(self) -> int:
        """Publish one batch; return how many rows it moved (0 when another replica holds the lock)."""
        conn = await self._connection()
        try:
            async with conn.transaction():
                rows = await conn.fetch(_CLAIM, _RELAY_LOCK_KEY, self._batch_size)
                batch = [row for row in rows if row["held"] and row["seq"] is not None]
                if not batch:
                    return 0
                await self._publisher.publish_all(
                    [
                        OutgoingMessage(
                            event_id=row["event_id"],
                            subject=row["subject"],
                            payload=row["payload"].encode(),
                            headers=_headers(row["headers"]),
                        )
                        for row in batch
                    ]
                )
                await conn.execute(
                    "DELETE FROM outbox WHERE seq = ANY($1::bigint[])", [r["seq"] for r in batch]
                )
        except BaseException:
            self._discard()
            raise
        return len(batch)

    async def run_after(self, bus_started: asyncio.Event) -> None:
        """Wait until the bus is up (nothing can be published before), then `run`."""
        await bus_started.wait()
        await self.run()

    async def run(self) -> None:
        """Relay until cancelled: woken by NOTIFY, polling as a fallback, backing off on failure."""
        backoff = 0.0
        try:
            while True:
                # Cleared before the flush, so a NOTIFY arriving during it (a row committed after
                # its SELECT) wakes the next round instead of being lost until the poll.
                self._wakeup.clear()
                try:
                    moved = await self.flush_once()
                    backoff = 0.0
                except Exception as exc:
                    # The rows stay in the table; the next attempt republishes them and JetStream
                    # drops whatever got through already.
                    backoff = min(self._max_backoff_s, max(0.1, backoff * 2))
                    log.warning("outbox.publish_failed", error=str(exc), retry_in_s=backoff)
                    await asyncio.sleep(backoff)
                    continue
                if moved >= self._batch_size:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_interval_s)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the relay's connection (a later flush opens a new one)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close(timeout=2)
            except Exception:
                conn.terminate()

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            conn: asyncpg.Connection = await asyncpg.connect(dsn=self._database_url)
            try:
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wakeup.set())
            except asyncpg.PostgresError as exc:
                log.warning("outbox.listen_failed", error=str(exc))  # it still polls
            except BaseException:
                conn.terminate()
                raise
            self._conn = conn
        return self._conn


def _headers(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        value = json.loads(value)
    return {str(k): str(v) for k, v in dict(value).items()}
