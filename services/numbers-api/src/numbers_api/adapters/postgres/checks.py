"""Trunk doctor queries: the number to probe (ciphertext included, for the handler only), the
numbers whose periodic re-check is due (claimed so that replicas never check one twice at once),
and the report stored on the number."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from numbers_api.adapters.postgres.rows import NUMBER_VIEW

CLAIM_S = 600  # a claimed re-check not recorded by then (its replica died) is due again


class CheckQueries:
    """Trunk doctor queries on `conn`."""

    conn: asyncpg.Connection

    async def number_row(self, org_id: str | None, number_id: str) -> asyncpg.Record | None:
        """The raw `NUMBER_VIEW` row of a number (of the organization, unless `org_id` is None)."""
        row: asyncpg.Record | None = await self.conn.fetchrow(
            NUMBER_VIEW + "WHERE p.id = $1 AND ($2::text IS NULL OR p.org_id = $2)",
            number_id,
            org_id,
        )
        return row

    async def claim_due_checks(self, limit: int, interval_s: float) -> list[str]:
        """Up to `limit` ids of numbers with a termination URI whose re-check is due (an
        interval after their last check, or after their creation when never checked), the
        longest due first, each claimed for `CLAIM_S`."""
        rows = await self.conn.fetch(
            """
            UPDATE phone_numbers SET check_due_at = now() + make_interval(secs => $2)
            WHERE id IN (
                SELECT id FROM phone_numbers
                WHERE termination_uri IS NOT NULL
                  AND coalesce(check_due_at, created_at + make_interval(secs => $3)) <= now()
                ORDER BY coalesce(check_due_at, created_at + make_interval(secs => $3)), id
                LIMIT $1
                FOR UPDATE SKIP LOCKED)
            RETURNING id
            """,
            limit,
            float(CLAIM_S),
            interval_s,
        )
        return [row["id"] for row in rows]

    async def record_check(
        self, number_id: str, report: dict[str, Any], next_due: datetime | None
    ) -> bool:
        """Store the report (and when the next re-check is due); False if the number is gone."""
        status: str = await self.conn.execute(
            "UPDATE phone_numbers SET last_check = $2, check_due_at = $3 WHERE id = $1",
            number_id,
            report,
            next_due,
        )
        return status.endswith(" 1")
