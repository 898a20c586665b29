"""The live calls: each organization's live-call slots and the calls still holding one."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from call_orchestrator.adapters.postgres.call_rows import CallRow, call_from_row


class LiveCallStore:
    """Live-call slots (taken and freed by `CallStore`'s writes) and the calls holding them."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def recount(self) -> None:
        """Reset every organization's live-call counter from the calls (after a crash)."""
        await self.pool.execute(
            """
            UPDATE org_live_calls o SET live = (
                SELECT count(*) FROM calls c
                 WHERE c.org_id = o.org_id AND c.status IN ('initiated', 'ringing', 'answered'))
            """
        )

    async def started_before(
        self, started_before: datetime, limit: int, after: tuple[datetime, str] | None = None
    ) -> list[CallRow]:
        """Calls still initiated, ringing or answered that started before a time, oldest first,
        after a position `(started_at, id)` of the previous page."""
        rows = await self.pool.fetch(
            """
            SELECT * FROM calls
             WHERE status IN ('initiated', 'ringing', 'answered') AND started_at < $1
               AND ($2::timestamptz IS NULL OR (started_at, id) > ($2, $3))
             ORDER BY started_at, id LIMIT $4
            """,
            started_before,
            after[0] if after else None,
            after[1] if after else "",
            limit,
        )
        return [call_from_row(r) for r in rows]
