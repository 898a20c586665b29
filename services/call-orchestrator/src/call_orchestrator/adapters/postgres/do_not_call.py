"""Each organization's do-not-call list: numbers its campaigns never dial."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class BlockedNumber:
    """A number on the list."""

    number: str
    reason: str | None
    added_at: datetime
    added_by: str


class DoNotCallStore:
    """The do-not-call lists."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(
        self, org_id: str, numbers: Sequence[str], reason: str | None, by: str, now: datetime
    ) -> int:
        """Put numbers on the list (those already on it stay as they are); how many were new."""
        added = await self.pool.fetchval(
            """
            WITH n AS (
                INSERT INTO do_not_call (org_id, number, reason, added_at, added_by)
                SELECT $1, number, $3, $4, $5 FROM unnest($2::text[]) AS number
                ON CONFLICT (org_id, number) DO NOTHING RETURNING 1)
            SELECT count(*) FROM n
            """,
            org_id,
            list(dict.fromkeys(numbers)),
            reason,
            now,
            by,
        )
        return int(added)

    async def remove(self, org_id: str, number: str) -> bool:
        """Take a number off the list; False if it was not on it."""
        result = await self.pool.execute(
            "DELETE FROM do_not_call WHERE org_id = $1 AND number = $2", org_id, number
        )
        return str(result) != "DELETE 0"

    async def on_list(self, org_id: str, numbers: Sequence[str]) -> set[str]:
        """Which of `numbers` are on the organization's list."""
        found = await self.pool.fetchval(
            "SELECT coalesce(array_agg(number), '{}') FROM do_not_call"
            " WHERE org_id = $1 AND number = ANY($2::text[])",
            org_id,
            list(numbers),
        )
        return set(found)

    async def page(self, org_id: str, *, after: str | None, limit: int) -> list[BlockedNumber]:
        """The organization's list in number order, after a number."""
        rows = await self.pool.fetch(
            "SELECT * FROM do_not_call WHERE org_id = $1 AND number > $2 ORDER BY number LIMIT $3",
            org_id,
            after or "",
            limit,
        )
        return [
            BlockedNumber(
                number=r["number"],
                reason=r["reason"],
                added_at=r["added_at"],
                added_by=r["added_by"],
            )
            for r in rows
        ]
