"""What a call needs from the read models: the number, its agent and trunk, for each direction."""

from __future__ import annotations

import asyncpg

from call_orchestrator.domain import (
    OUTBOUND_ROOM_PREFIX,
    InboundTarget,
    OutboundTarget,
    outbound_room_suffix,
)
from talkifai_common.events import NumberFormat, RecordingMode
from talkifai_common.voice import Architecture


class TargetStore:
    """Lookups of the number a call is placed from or arrives at."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def outbound_target(
        self,
        org_id: str,
        from_number: str,
        to_number: str,
        *,
        max_live_per_org: int,
        agent_id: str | None = None,
    ) -> OutboundTarget | None:
        """The organization's number with its outbound agent (or `agent_id`, the organization's
        agent a campaign calls with) and trunk, if it has both; with whether a live call holds
        the room a call to `to_number` would use and whether the organization is at its
        live-call limit (both re-checked when the call is recorded)."""
        row = await self.pool.fetchrow(
            """
            SELECT n.id, n.org_id, n.phone_number,
                   COALESCE($6, n.outbound_agent_id) AS outbound_agent_id,
                   CASE WHEN $6::text IS NULL THEN COALESCE(a.name, n.outbound_agent_name)
                        ELSE a.name END AS agent_name,
                   CASE WHEN $6::text IS NULL THEN COALESCE(a.architecture, n.outbound_agent_arch)
                        ELSE a.architecture END AS agent_arch,
                   s.outbound_trunk_id, n.webhook_url, n.recording_mode, a.provider_keys,
                   n.dial_format,
                   n.status = 'inactive' AS inactive,
                   EXISTS (SELECT 1 FROM calls c
                            WHERE c.room_name = $3 || COALESCE($6, n.outbound_agent_id) || $4
                              AND c.status IN ('initiated', 'ringing', 'answered')) AS room_in_use,
                   COALESCE((SELECT o.live FROM org_live_calls o WHERE o.org_id = n.org_id), 0)
                       >= $5 AS org_at_limit
              FROM phone_numbers n
              LEFT JOIN agents a ON a.id = COALESCE($6, n.outbound_agent_id) AND NOT a.deleted
                                AND ($6::text IS NULL OR a.org_id = n.org_id)
              LEFT JOIN phone_number_sync s ON s.phone_number_id = n.id
             WHERE n.org_id = $1 AND n.phone_number = $2
               AND COALESCE($6, n.outbound_agent_id) IS NOT NULL
            """,
            org_id,
            from_number,
            OUTBOUND_ROOM_PREFIX,
            outbound_room_suffix(to_number, from_number),
            max_live_per_org,
            agent_id,
        )
        if row is None:
            return None
        return OutboundTarget(
            phone_number_id=row["id"],
            org_id=row["org_id"],
            phone_number=row["phone_number"],
            agent_id=row["outbound_agent_id"],
            agent_name=row["agent_name"] or "",
            agent_architecture=_architecture(row["agent_arch"]),
            outbound_trunk_id=row["outbound_trunk_id"],
            webhook_url=row["webhook_url"],
            recording_mode=RecordingMode(row["recording_mode"]),
            room_in_use=row["room_in_use"],
            org_at_limit=row["org_at_limit"],
            agent_provider_keys=(
                tuple(row["provider_keys"]) if row["provider_keys"] is not None else None
            ),
            inactive=bool(row["inactive"]),
            dial_format=(
                NumberFormat.model_validate(row["dial_format"])
                if row["dial_format"] is not None
                else NumberFormat()
            ),
        )

    async def inbound_target(self, phone_number: str) -> InboundTarget | None:
        """Whichever organization's number this is, with its inbound agent (for inbound calls)."""
        row = await self.pool.fetchrow(
            """
            SELECT n.id, n.org_id, n.phone_number, n.inbound_agent_id,
                   COALESCE(a.name, n.inbound_agent_name) AS agent_name,
                   COALESCE(a.architecture, n.inbound_agent_arch) AS agent_arch,
                   n.webhook_url, n.recording_mode
              FROM phone_numbers n
              LEFT JOIN agents a ON a.id = n.inbound_agent_id AND NOT a.deleted
             WHERE n.phone_number = $1
             ORDER BY n.version DESC LIMIT 1
            """,
            phone_number,
        )
        if row is None:
            return None
        return InboundTarget(
            phone_number_id=row["id"],
            org_id=row["org_id"],
            phone_number=row["phone_number"],
            agent_id=row["inbound_agent_id"],
            agent_name=row["agent_name"],
            webhook_url=row["webhook_url"],
            recording_mode=RecordingMode(row["recording_mode"]),
        )


def _architecture(stored: str | None) -> Architecture | None:
    return Architecture(stored) if stored else None
