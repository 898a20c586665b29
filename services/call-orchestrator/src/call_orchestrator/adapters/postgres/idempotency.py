"""Idempotency keys of outbound call requests: who owns a key, and the answer its retries get."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import asyncpg


class KeyState(enum.Enum):
    """Where a request's Idempotency-Key stands."""

    NEW = "new"  # this request owns the key
    REPLAY = "replay"  # an answer is stored for the same body
    IN_PROGRESS = "in_progress"  # another request with the key is running
    MISMATCH = "mismatch"  # the key was used with another body


@dataclass(frozen=True)
class KeyClaim:
    """The outcome of claiming a key: its state and, for a replay, the stored answer."""

    state: KeyState
    status_code: int | None = None
    body: Any = None


class IdempotencyStore:
    """Idempotency keys by organization."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def claim(self, org_id: str, key: str, request_hash: str) -> KeyClaim:
        """`NEW` when this request owns the key; otherwise what was stored: a `REPLAY` with its
        answer, `IN_PROGRESS` or `MISMATCH`."""
        row = await self.pool.fetchrow(
            """
            INSERT INTO idempotency_keys (org_id, key, request_hash) VALUES ($1, $2, $3)
            ON CONFLICT (org_id, key) DO NOTHING RETURNING 1
            """,
            org_id,
            key,
            request_hash,
        )
        if row is not None:
            return KeyClaim(KeyState.NEW)
        stored = await self.pool.fetchrow(
            "SELECT request_hash, status_code, response FROM idempotency_keys "
            "WHERE org_id = $1 AND key = $2",
            org_id,
            key,
        )
        if stored is None:
            return KeyClaim(KeyState.IN_PROGRESS)
        if stored["request_hash"] != request_hash:
            return KeyClaim(KeyState.MISMATCH)
        if stored["status_code"] is None:
            return KeyClaim(KeyState.IN_PROGRESS)
        return KeyClaim(KeyState.REPLAY, stored["status_code"], stored["response"])

    async def finish(self, org_id: str, key: str, status_code: int, body: Any) -> None:
        """Store the response a key's retries get."""
        await self.pool.execute(
            "UPDATE idempotency_keys SET status_code = $3, response = $4 "
            "WHERE org_id = $1 AND key = $2",
            org_id,
            key,
            status_code,
            body,
        )

    async def release(self, org_id: str, key: str) -> None:
        """Forget a key whose request ended without an answer worth replaying."""
        await self.pool.execute(
            "DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2 AND status_code IS NULL",
            org_id,
            key,
        )
