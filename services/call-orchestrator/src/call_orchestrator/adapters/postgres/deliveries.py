"""The customer webhook queue: deliveries leased to a sender, and each attempt's outcome."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg


@dataclass(frozen=True)
class Delivery:
    """A customer webhook delivery claimed for one attempt."""

    id: int
    event_id: str
    url: str
    payload: str
    attempt: int
    give_up_at: datetime


class AttemptOutcome(enum.Enum):
    """What follows an attempt."""

    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


class DeliveryStore:
    """Customer webhook deliveries and their attempts."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def claim(self, limit: int, lease_s: float) -> list[Delivery]:
        """Due deliveries, leased to this worker for `lease_s` (one more attempt each)."""
        rows = await self.pool.fetch(
            """
            UPDATE webhook_deliveries d
               SET attempts = d.attempts + 1, next_attempt_at = now() + $2::interval
             WHERE d.id IN (
                   SELECT id FROM webhook_deliveries
                    WHERE state = 'pending' AND next_attempt_at <= now()
                    ORDER BY next_attempt_at, id
                    LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING d.id, d.event_id, d.url, d.payload, d.attempts, d.give_up_at
            """,
            limit,
            timedelta(seconds=lease_s),
        )
        return [
            Delivery(
                id=r["id"],
                event_id=r["event_id"],
                url=r["url"],
                payload=r["payload"],
                attempt=r["attempts"],
                give_up_at=r["give_up_at"],
            )
            for r in rows
        ]

    async def record_attempt(
        self,
        delivery: Delivery,
        *,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        outcome: AttemptOutcome,
        retry_in_s: float | None,
    ) -> None:
        """Record one attempt and what happens next: delivered, retry later, or failed."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, "
                "duration_ms) VALUES ($1, $2, $3, $4, $5)",
                delivery.id,
                delivery.attempt,
                status_code,
                error,
                duration_ms,
            )
            if outcome is AttemptOutcome.DELIVERED:
                await conn.execute(
                    "UPDATE webhook_deliveries SET state = 'delivered', delivered_at = now(), "
                    "last_error = NULL WHERE id = $1",
                    delivery.id,
                )
            elif outcome is AttemptOutcome.RETRY and retry_in_s is not None:
                await conn.execute(
                    "UPDATE webhook_deliveries SET next_attempt_at = now() + $2::interval, "
                    "last_error = $3 WHERE id = $1",
                    delivery.id,
                    timedelta(seconds=retry_in_s),
                    error,
                )
            else:
                await conn.execute(
                    "UPDATE webhook_deliveries SET state = 'failed', last_error = $2 WHERE id = $1",
                    delivery.id,
                    error,
                )

    async def for_call(self, call_id: str) -> Sequence[asyncpg.Record]:
        """A call's webhook deliveries with their attempt counts (for tests and operators)."""
        rows: list[asyncpg.Record] = await self.pool.fetch(
            "SELECT * FROM webhook_deliveries WHERE call_id = $1 ORDER BY id", call_id
        )
        return rows


async def enqueue_delivery(
    conn: asyncpg.Connection,
    *,
    event_id: str,
    call_id: str,
    org_id: str,
    url: str,
    payload: str,
    retry_window: timedelta,
) -> None:
    """Queue one customer webhook delivery (in the caller's transaction); an event id already
    queued is left alone."""
    await conn.execute(
        """
        INSERT INTO webhook_deliveries (event_id, call_id, org_id, url, payload, give_up_at)
        VALUES ($1, $2, $3, $4, $5, now() + $6::interval)
        ON CONFLICT (event_id) DO NOTHING
        """,
        event_id,
        call_id,
        org_id,
        url,
        payload,
        retry_window,
    )
