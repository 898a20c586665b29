"""Agent queries: an organization's agents and the numbers that use them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import asyncpg

from numbers_api.adapters.postgres.rows import REFRESH_SEARCH_TEXT, agent_from_row
from talkifai_common.events import AgentData


class AgentQueries:
    """Queries and changes of agents on `conn`."""

    conn: asyncpg.Connection

    async def get_agent(
        self, org_id: str, agent_id: str, *, lock: Literal["update", "share"] | None = None
    ) -> AgentData | None:
        """One agent of the organization, optionally locked (FOR UPDATE or FOR SHARE)."""
        suffix = {"update": " FOR UPDATE", "share": " FOR SHARE", None: ""}[lock]
        row = await self.conn.fetchrow(
            "SELECT * FROM agents WHERE org_id = $1 AND id = $2" + suffix, org_id, agent_id
        )
        return agent_from_row(row) if row else None

    async def list_agents(
        self, org_id: str, limit: int, after: tuple[datetime, str] | None
    ) -> list[AgentData]:
        """Agents in creation order, after the given (created_at, id)."""
        rows = await self.conn.fetch(
            """
            SELECT * FROM agents
            WHERE org_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3))
            ORDER BY created_at, id LIMIT $4
            """,
            org_id,
            after[0] if after else None,
            after[1] if after else None,
            limit,
        )
        return [agent_from_row(r) for r in rows]

    async def insert_agent(self, org_id: str, agent: AgentData) -> AgentData:
        """Store a new agent."""
        row = await self.conn.fetchrow(
            """
            INSERT INTO agents (id, org_id, name, architecture, config)
            VALUES ($1, $2, $3, $4, $5) RETURNING *
            """,
            agent.id,
            org_id,
            agent.name,
            agent.architecture,
            _agent_config(agent),
        )
        assert row is not None
        return agent_from_row(row)

    async def update_agent(self, org_id: str, agent: AgentData) -> AgentData:
        """Replace an agent's fields, bump its version and refresh its numbers' search text."""
        row = await self.conn.fetchrow(
            """
            UPDATE agents SET name = $3, architecture = $4, config = $5,
                              version = version + 1, updated_at = now()
            WHERE org_id = $1 AND id = $2 RETURNING *
            """,
            org_id,
            agent.id,
            agent.name,
            agent.architecture,
            _agent_config(agent),
        )
        assert row is not None
        await self.conn.execute(
            REFRESH_SEARCH_TEXT.format(
                where="(p2.inbound_agent_id = $1 OR p2.outbound_agent_id = $1)"
            ),
            agent.id,
        )
        return agent_from_row(row)

    async def delete_agent(self, org_id: str, agent_id: str) -> None:
        """Remove an agent (callers check it is unassigned first)."""
        await self.conn.execute(
            "DELETE FROM agents WHERE org_id = $1 AND id = $2", org_id, agent_id
        )

    async def numbers_using_agent(self, agent_id: str) -> list[str]:
        """The E.164 numbers an agent is assigned to, locked against concurrent assignment."""
        rows = await self.conn.fetch(
            """
            SELECT phone_number FROM phone_numbers
            WHERE inbound_agent_id = $1 OR outbound_agent_id = $1
            ORDER BY phone_number FOR UPDATE
            """,
            agent_id,
        )
        return [r["phone_number"] for r in rows]


def _agent_config(agent: AgentData) -> dict[str, Any]:
    return agent.model_dump(
        mode="json",
        include={"instructions", "greeting", "language", "stt", "llm", "tts", "realtime"},
    )
