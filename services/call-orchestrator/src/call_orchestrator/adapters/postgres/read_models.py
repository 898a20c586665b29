"""The read models of numbers, their LiveKit trunks and agents, kept from the events.

Each is idempotent by entity id and `version`; a deleted number leaves a tombstone so that an
older event (or a refresh racing a deletion) never brings it back.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from talkifai_common import carriers
from talkifai_common.agent_capabilities import required_keys
from talkifai_common.events import AgentData, PhoneNumberData, PhoneNumberSyncData


class ReadModelStore:
    """The agents, numbers and sync reports call-orchestrator holds."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def apply_agent(self, org_id: str, agent: AgentData, *, deleted: bool) -> bool:
        """Apply an agent event if it is newer than what we hold (deletion wins a tie)."""
        row = await self.pool.fetchval(
            """
            INSERT INTO agents (id, org_id, name, architecture, version, deleted, provider_keys)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (id) DO UPDATE
               SET org_id = EXCLUDED.org_id, name = EXCLUDED.name,
                   architecture = EXCLUDED.architecture, version = EXCLUDED.version,
                   deleted = EXCLUDED.deleted, provider_keys = EXCLUDED.provider_keys
             WHERE agents.version < EXCLUDED.version
                OR (EXCLUDED.deleted AND NOT agents.deleted AND agents.version <= EXCLUDED.version)
            RETURNING 1
            """,
            agent.id,
            org_id,
            agent.name,
            agent.architecture.value,
            agent.version,
            deleted,
            sorted(required_keys(agent)),
        )
        return row is not None

    async def apply_number(self, org_id: str, number: PhoneNumberData, *, deleted: bool) -> bool:
        """Apply a number event if it is newer than what we hold; a deletion removes the number."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", number.id)
            tombstone = await conn.fetchval(
                "SELECT version FROM phone_number_tombstones WHERE id = $1", number.id
            )
            if tombstone is not None and number.version <= tombstone:
                return False
            if deleted:
                await self._delete_number(conn, number.id, number.version)
                return True
            inbound, outbound = number.inbound_agent, number.outbound_agent
            row = await conn.fetchval(
                """
                INSERT INTO phone_numbers (id, org_id, phone_number, inbound_agent_id,
                    inbound_agent_name, inbound_agent_arch, outbound_agent_id,
                    outbound_agent_name, outbound_agent_arch, webhook_url, recording_mode, version,
                    status, dial_format)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                ON CONFLICT (id) DO UPDATE SET
                    org_id = EXCLUDED.org_id, phone_number = EXCLUDED.phone_number,
                    inbound_agent_id = EXCLUDED.inbound_agent_id,
                    inbound_agent_name = EXCLUDED.inbound_agent_name,
                    inbound_agent_arch = EXCLUDED.inbound_agent_arch,
                    outbound_agent_id = EXCLUDED.outbound_agent_id,
                    outbound_agent_name = EXCLUDED.outbound_agent_name,
                    outbound_agent_arch = EXCLUDED.outbound_agent_arch,
                    webhook_url = EXCLUDED.webhook_url,
                    recording_mode = EXCLUDED.recording_mode, version = EXCLUDED.version,
                    status = EXCLUDED.status, dial_format = EXCLUDED.dial_format
                WHERE phone_numbers.version < EXCLUDED.version
                   -- a row from before statuses were kept takes its status from the same version
                   OR (phone_numbers.version = EXCLUDED.version AND phone_numbers.status IS NULL)
                RETURNING 1
                """,
                number.id,
                org_id,
                number.phone_number,
                inbound.id if inbound else None,
                inbound.name if inbound else None,
                inbound.architecture.value if inbound else None,
                outbound.id if outbound else None,
                outbound.name if outbound else None,
                outbound.architecture.value if outbound else None,
                number.webhook_url,
                number.recording_mode.value,
                number.version,
                number.status.value,
                carriers.dial_format(number.carrier, number.number_format).model_dump(),
            )
            return row is not None

    async def forget_number(self, number_id: str, version: int) -> None:
        """Remove a number known to be gone (no deletion event came), leaving a tombstone."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", number_id)
            await self._delete_number(conn, number_id, version)

    @staticmethod
    async def _delete_number(conn: asyncpg.Connection, number_id: str, version: int) -> None:
        await conn.execute(
            "DELETE FROM phone_numbers WHERE id = $1 AND version <= $2", number_id, version
        )
        await conn.execute(
            """
            INSERT INTO phone_number_tombstones (id, version) VALUES ($1, $2)
            ON CONFLICT (id) DO UPDATE SET version = GREATEST(
                phone_number_tombstones.version, EXCLUDED.version)
            """,
            number_id,
            version,
        )
        await conn.execute("DELETE FROM phone_number_sync WHERE phone_number_id = $1", number_id)

    async def read_model_numbers(self) -> dict[str, int]:
        """Every number the read model holds, with its version."""
        rows = await self.pool.fetch("SELECT id, version FROM phone_numbers")
        return {r["id"]: r["version"] for r in rows}

    async def read_model_versions(
        self, number_ids: Sequence[str]
    ) -> dict[str, tuple[int | None, int | None]]:
        """The number version and the sync version the read model holds for each of those
        numbers it knows (either may be None; the number version is None while its status is
        unknown, so a refresh fills it in)."""
        rows = await self.pool.fetch(
            """
            SELECT ids.id, CASE WHEN n.status IS NOT NULL THEN n.version END AS version,
                   s.version AS sync_version
              FROM unnest($1::text[]) AS ids(id)
              LEFT JOIN phone_numbers n ON n.id = ids.id
              LEFT JOIN phone_number_sync s ON s.phone_number_id = ids.id
            """,
            list(number_ids),
        )
        return {r["id"]: (r["version"], r["sync_version"]) for r in rows}

    async def apply_sync(self, sync: PhoneNumberSyncData) -> bool:
        """Record trunk-sync's newest report on a number (a failure keeps the last good trunks)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", sync.phone_number_id)
            if await conn.fetchval(
                "SELECT 1 FROM phone_number_tombstones WHERE id = $1 AND version >= $2",
                sync.phone_number_id,
                sync.version,
            ):
                return False
            r = sync.resources
            row = await conn.fetchval(
                """
                INSERT INTO phone_number_sync (phone_number_id, version, state, outbound_trunk_id,
                    inbound_trunk_id, dispatch_rule_id, at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (phone_number_id) DO UPDATE SET
                    version = EXCLUDED.version, state = EXCLUDED.state, at = EXCLUDED.at,
                    outbound_trunk_id = CASE WHEN EXCLUDED.state = 'synced'
                        THEN EXCLUDED.outbound_trunk_id
                        ELSE COALESCE(EXCLUDED.outbound_trunk_id,
                                      phone_number_sync.outbound_trunk_id) END,
                    inbound_trunk_id = CASE WHEN EXCLUDED.state = 'synced'
                        THEN EXCLUDED.inbound_trunk_id
                        ELSE COALESCE(EXCLUDED.inbound_trunk_id,
                                      phone_number_sync.inbound_trunk_id) END,
                    dispatch_rule_id = CASE WHEN EXCLUDED.state = 'synced'
                        THEN EXCLUDED.dispatch_rule_id
                        ELSE COALESCE(EXCLUDED.dispatch_rule_id,
                                      phone_number_sync.dispatch_rule_id) END
                WHERE phone_number_sync.version < EXCLUDED.version
                   OR (phone_number_sync.version = EXCLUDED.version
                       AND phone_number_sync.at <= EXCLUDED.at)
                RETURNING 1
                """,
                sync.phone_number_id,
                sync.version,
                sync.state.value,
                r.outbound_trunk_id,
                r.inbound_trunk_id,
                r.dispatch_rule_id,
                sync.at,
            )
            return row is not None
