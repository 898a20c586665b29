"""Queries of trunk-sync and other internal callers: sync results, reads across organizations
(raw rows, ciphertext included, go to the internal handlers only) and key rotation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

import asyncpg

from numbers_api.adapters.postgres.rows import NUMBER_VIEW, agent_from_row, internal_from_row
from talkifai_common.events import AgentData, LiveKitResources, SyncState
from talkifai_common.internal_api import InternalPhoneNumber


class SyncRecorded(StrEnum):
    """What became of a sync result."""

    APPLIED = "applied"
    STALE = "stale"  # about an older version, or would undo a `synced` of the same one
    UNKNOWN_NUMBER = "unknown_number"  # the number was deleted since


class InternalQueries:
    """Queries across organizations and sync bookkeeping on `conn`."""

    conn: asyncpg.Connection

    async def record_sync(
        self,
        number_id: str,
        version: int,
        state: SyncState,
        error: str | None,
        at: datetime,
        resources: LiveKitResources,
    ) -> SyncRecorded:
        """Record trunk-sync's result unless it would move the sync state backwards.

        A result applies only to the number's current version, and never undoes a `synced` of
        that version: a `sync_failed` then, or a `synced` older than the one recorded, is a stale
        redelivery (results of one version arrive on separate subjects, in any order). A success
        names the number's LiveKit resources; a failure keeps the last good ones where it names none.
        """
        synced = state is SyncState.SYNCED
        row = await self.conn.fetchrow(
            """
            WITH existing AS (SELECT 1 FROM phone_numbers WHERE id = $1),
            recorded AS (
                UPDATE phone_numbers SET sync_state = $3, sync_error = $4, synced_at = $5,
                    inbound_trunk_id = CASE WHEN $9 THEN $6
                        ELSE COALESCE($6, inbound_trunk_id) END,
                    outbound_trunk_id = CASE WHEN $9 THEN $7
                        ELSE COALESCE($7, outbound_trunk_id) END,
                    dispatch_rule_id = CASE WHEN $9 THEN $8
                        ELSE COALESCE($8, dispatch_rule_id) END
                WHERE id = $1 AND version = $2
                  AND NOT (sync_state = 'synced' AND (NOT $9 OR COALESCE(synced_at > $5, false)))
                RETURNING 1
            )
            SELECT EXISTS (SELECT 1 FROM recorded) AS recorded,
                   EXISTS (SELECT 1 FROM existing) AS known
            """,
            number_id,
            version,
            state,
            error,
            at if synced else None,
            resources.inbound_trunk_id,
            resources.outbound_trunk_id,
            resources.dispatch_rule_id,
            synced,
        )
        assert row is not None
        if row["recorded"]:
            return SyncRecorded.APPLIED
        return SyncRecorded.STALE if row["known"] else SyncRecorded.UNKNOWN_NUMBER

    async def ciphertexts(self, after: str | None, limit: int) -> Sequence[asyncpg.Record]:
        """Stored SIP password ciphertexts (outbound and inbound) in id order, for key rotation."""
        rows: Sequence[asyncpg.Record] = await self.conn.fetch(
            """
            SELECT id, sip_password_ciphertext, inbound_auth_password_ciphertext
            FROM phone_numbers
            WHERE (sip_password_ciphertext IS NOT NULL
                   OR inbound_auth_password_ciphertext IS NOT NULL)
              AND ($1::text IS NULL OR id > $1)
            ORDER BY id LIMIT $2 FOR UPDATE
            """,
            after,
            limit,
        )
        return rows

    async def set_ciphertexts(
        self, number_id: str, outbound: str | None, inbound: str | None
    ) -> None:
        """Replace the ciphertexts (same plaintexts, newer key): no version bump, no event."""
        await self.conn.execute(
            """
            UPDATE phone_numbers
            SET sip_password_ciphertext = $2, inbound_auth_password_ciphertext = $3
            WHERE id = $1
            """,
            number_id,
            outbound,
            inbound,
        )

    async def all_numbers(self, after: str | None, limit: int) -> list[InternalPhoneNumber]:
        """Every organization's numbers in id order (internal reconcile and read models)."""
        rows = await self.conn.fetch(
            NUMBER_VIEW + "WHERE ($1::text IS NULL OR p.id > $1) ORDER BY p.id LIMIT $2",
            after,
            limit,
        )
        return [internal_from_row(r) for r in rows]

    async def number_with_org(self, number_id: str) -> InternalPhoneNumber | None:
        """Internal: one number of any organization."""
        row = await self.number_view(number_id)
        return internal_from_row(row) if row else None

    async def number_view(self, number_id: str) -> asyncpg.Record | None:
        """Internal: a number's row with its agents' names, by id across organizations."""
        row: asyncpg.Record | None = await self.conn.fetchrow(
            NUMBER_VIEW + "WHERE p.id = $1", number_id
        )
        return row

    async def number_views(self, number_ids: list[str]) -> list[asyncpg.Record]:
        """Internal: the rows of those numbers that exist, like `number_view`."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            NUMBER_VIEW + "WHERE p.id = ANY($1::text[])", number_ids
        )
        return rows

    async def agent_with_org(self, agent_id: str) -> tuple[str, AgentData] | None:
        """Internal: one agent of any organization, with that organization."""
        row = await self.conn.fetchrow("SELECT * FROM agents WHERE id = $1", agent_id)
        return (row["org_id"], agent_from_row(row)) if row else None

    async def number_org(self, number_id: str) -> asyncpg.Record | None:
        """Internal: a number's raw row by id across organizations."""
        row: asyncpg.Record | None = await self.conn.fetchrow(
            "SELECT * FROM phone_numbers WHERE id = $1", number_id
        )
        return row
