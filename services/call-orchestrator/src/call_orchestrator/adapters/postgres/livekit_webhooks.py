"""The ids of LiveKit webhooks already handled (LiveKit may send one more than once)."""

from __future__ import annotations

import asyncpg


class LiveKitWebhookLog:
    """LiveKit webhook ids seen."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def first_time_webhook(self, event_id: str) -> bool:
        """True the first time a LiveKit webhook id is seen."""
        if not event_id:
            return True
        row = await self.pool.fetchval(
            "INSERT INTO livekit_webhook_events (id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1",
            event_id,
        )
        return row is not None
