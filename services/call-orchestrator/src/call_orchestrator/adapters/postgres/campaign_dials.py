"""The campaign scheduler's claims in PostgreSQL, shared by every replica.

- **Claim** (one transaction): the due running campaign served longest ago, `FOR NO KEY UPDATE
  SKIP LOCKED` (one replica at a time paces it: `next_dial_at` moves one slot per dial); the
  organization's share under a transaction advisory lock (campaigns never take the reserved
  slots, counting calls recorded and attempts not recorded yet); due rows `FOR UPDATE SKIP
  LOCKED`, rows on the do-not-call list set aside, rows outside their window deferred to its
  opening; then the attempt written with its call id, fencing token and lease, before any dial.
- **Record**: `CallStore.create_call` records the call only while the attempt holds its token
  with no outcome, marking it `call_recorded` in the same statement.
- **Release**: an attempt refused before its call was recorded is `not_placed`; its row waits.

Settling ended attempts and recovering expired leases are `campaign_outcomes`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from call_orchestrator.adapters.postgres.campaign_outcomes import wait_again
from call_orchestrator.adapters.postgres.campaigns import complete_if_done
from call_orchestrator.campaign_rules import (
    from_number_for,
    next_dial_at,
    next_open,
    window_open,
)
from talkifai_common.campaigns import (
    CallingWindows,
    Pacing,
)

_ROWS_PER_LOOK = 32
# A row whose window never opens within the rules' horizon is looked at again a day later.
_NO_OPENING = timedelta(days=1)


@dataclass(frozen=True)
class Claimed:
    """An attempt written and leased to this replica: dial it now."""

    campaign_id: str
    org_id: str
    agent_id: str
    row_id: str
    attempt: int
    call_id: str
    fence: int
    to_number: str
    from_number: str
    metadata: dict[str, Any]
    ringing_timeout_s: int | None
    dial_at: datetime
    """The campaign's slot for this dial: not before it."""


@dataclass(frozen=True)
class Passed:
    """The campaign had nothing to dial now (at its pace or concurrency, or no due row in its
    window); `again`: it set rows aside, so it may have more due rows."""

    campaign_id: str
    again: bool = False


class CampaignDialStore:
    """Claims, settles and recovers campaign attempts."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def claim(
        self,
        *,
        owner: str,
        now: datetime,
        lease_s: float,
        org_limit: int,
        reserved: int,
        skip: list[str],
        new_call_id: Callable[[], str],
        lookahead_s: float = 0.0,
    ) -> Claimed | Passed | None:
        """Claim the next attempt to dial; None when no running campaign is due. A campaign
        whose next slot is within `lookahead_s` is due: the attempt is claimed ahead and its
        `dial_at` is the slot, so the time a replica takes to wake up and claim is not added
        to every interval (the slots stay `1/calls_per_second` apart)."""
        async with self.pool.acquire() as conn, conn.transaction():
            campaign = await conn.fetchrow(
                """
                SELECT * FROM campaigns
                 WHERE status = 'running' AND next_dial_at <= $3
                   AND (start_at IS NULL OR start_at <= $1) AND id <> ALL($2::text[])
                 ORDER BY last_served_at, id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED
                """,
                now,
                skip,
                now + timedelta(seconds=lookahead_s),
            )
            if campaign is None:
                return None
            campaign_id, org_id = campaign["id"], campaign["org_id"]
            await conn.execute(
                "UPDATE campaigns SET last_served_at = $2 WHERE id = $1", campaign_id, now
            )
            if not await self._has_room(conn, campaign, org_limit - reserved):
                return Passed(campaign_id)
            rows = await conn.fetch(
                """
                SELECT id, to_number, zones, metadata, attempts FROM campaign_rows
                 WHERE campaign_id = $1 AND status IN ('pending', 'waiting_retry')
                   AND next_attempt_at <= $2
                 ORDER BY next_attempt_at, line LIMIT $3 FOR UPDATE SKIP LOCKED
                """,
                campaign_id,
                now,
                _ROWS_PER_LOOK,
            )
            if not rows:
                await complete_if_done(conn, campaign_id, now)
                return Passed(campaign_id)
            chosen, set_aside = await self._first_dialable(conn, campaign, rows, now)
            if chosen is None:
                await complete_if_done(conn, campaign_id, now)
                return Passed(campaign_id, again=set_aside > 0)
            attempt = chosen["attempts"] + 1
            slot = max(campaign["next_dial_at"], now)
            pacing = Pacing.model_validate(campaign["pacing"])
            pool = list(campaign["from_numbers"])
            # A caller ID already on a live call with this callee would be refused (its room is
            # in use): rotate past it when another is free.
            busy = await conn.fetchval(
                "SELECT coalesce(array_agg(from_number), '{}') FROM calls"
                " WHERE org_id = $1 AND to_number = $2 AND from_number = ANY($3::text[])"
                " AND status IN ('initiated', 'ringing', 'answered')",
                org_id,
                chosen["to_number"],
                pool,
            )
            from_number = from_number_for(pool, campaign["dials"], busy)
            call_id = new_call_id()
            fence = await conn.fetchval(
                """
                WITH a AS (
                    INSERT INTO campaign_attempts (row_id, number, campaign_id, org_id, call_id,
                        from_number, fence, lease_owner, lease_expires_at, started_at)
                    VALUES ($1, $2, $3, $4, $5, $6, nextval('campaign_fence'), $7, $8, $9)
                    RETURNING fence),
                r AS (
                    UPDATE campaign_rows SET status = 'in_progress', attempts = $2
                     WHERE id = $1),
                c AS (
                    UPDATE campaigns SET next_dial_at = $10, dials = dials + 1
                     WHERE id = $3)
                SELECT fence FROM a
                """,
                chosen["id"],
                attempt,
                campaign_id,
                org_id,
                call_id,
                from_number,
                owner,
                slot + timedelta(seconds=lease_s),
                slot,
                next_dial_at(campaign["next_dial_at"], now, pacing.calls_per_second),
            )
            return Claimed(
                campaign_id=campaign_id,
                org_id=org_id,
                agent_id=campaign["agent_id"],
                row_id=chosen["id"],
                attempt=attempt,
                call_id=call_id,
                fence=fence,
                to_number=chosen["to_number"],
                from_number=from_number,
                metadata=chosen["metadata"],
                ringing_timeout_s=campaign["ringing_timeout_s"],
                dial_at=slot,
            )

    async def _has_room(
        self, conn: asyncpg.Connection, campaign: asyncpg.Record, org_share: int
    ) -> bool:
        """Whether the campaign may place one more call: under its own concurrency and under
        the organization's share for campaigns (serialized per organization, so that two
        campaigns claiming at once cannot both take the last slot)."""
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('campaign-org:' || $1, 0))",
            campaign["org_id"],
        )
        busy = await conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM campaign_attempts
                     WHERE campaign_id = $1 AND outcome IS NULL) AS mine,
                   COALESCE((SELECT live FROM org_live_calls WHERE org_id = $2), 0)
                   + (SELECT count(*) FROM campaign_attempts
                       WHERE org_id = $2 AND outcome IS NULL AND NOT call_recorded) AS org
            """,
            campaign["id"],
            campaign["org_id"],
        )
        assert busy is not None
        pacing = Pacing.model_validate(campaign["pacing"])
        return bool(busy["mine"] < pacing.max_concurrent and busy["org"] < org_share)

    async def _first_dialable(
        self,
        conn: asyncpg.Connection,
        campaign: asyncpg.Record,
        rows: list[asyncpg.Record],
        now: datetime,
    ) -> tuple[asyncpg.Record | None, int]:
        """The first row that may be dialed now; the others looked at before it are set aside
        (do-not-call: final; outside the window: due at its next opening). How many were."""
        blocked = set(
            await conn.fetchval(
                "SELECT coalesce(array_agg(number), '{}') FROM do_not_call"
                " WHERE org_id = $1 AND number = ANY($2::text[])",
                campaign["org_id"],
                [r["to_number"] for r in rows],
            )
        )
        windows = (
            CallingWindows.model_validate(campaign["windows"]) if campaign["windows"] else None
        )
        dnc: list[str] = []
        deferred: list[tuple[str, datetime]] = []
        chosen = None
        for row in rows:
            if row["to_number"] in blocked:
                dnc.append(row["id"])
                continue
            if not window_open(windows, row["zones"], now):
                opening = next_open(windows, row["zones"], now) or now + _NO_OPENING
                deferred.append((row["id"], opening))
                continue
            chosen = row
            break
        if dnc:
            await conn.execute(
                "UPDATE campaign_rows SET status = 'do_not_call', completed_at = $2,"
                " last_outcome = NULL WHERE id = ANY($1::text[])",
                dnc,
                now,
            )
        if deferred:
            await conn.executemany(
                "UPDATE campaign_rows SET next_attempt_at = $2 WHERE id = $1", deferred
            )
        return chosen, len(dnc) + len(deferred)

    async def release(
        self,
        claimed: Claimed,
        *,
        now: datetime,
        detail: str,
        retry_in_s: float,
    ) -> bool:
        """An attempt whose call was not recorded (refused before it, or fenced off): it is
        `not_placed` and its row is due again after `retry_in_s`, not counted as an attempt.
        False when the attempt already has an outcome or its call was recorded."""
        async with self.pool.acquire() as conn, conn.transaction():
            released = await conn.fetchval(
                """
                UPDATE campaign_attempts SET outcome = 'not_placed', ended_at = $4, detail = $5
                 WHERE row_id = $1 AND number = $2 AND fence = $3
                   AND outcome IS NULL AND NOT call_recorded
                RETURNING 1
                """,
                claimed.row_id,
                claimed.attempt,
                claimed.fence,
                now,
                detail[:500],
            )
            if released:
                await wait_again(conn, [claimed.row_id], now + timedelta(seconds=retry_in_s))
            return bool(released)

    async def next_dial_after(self, now: datetime) -> datetime | None:
        """The earliest instant after `now` a running campaign may dial again, if any."""
        found: datetime | None = await self.pool.fetchval(
            "SELECT min(GREATEST(next_dial_at, COALESCE(start_at, next_dial_at)))"
            " FROM campaigns WHERE status = 'running'"
            " AND GREATEST(next_dial_at, COALESCE(start_at, next_dial_at)) > $1",
            now,
        )
        return found
