"""What became of campaign attempts, from the calls table: settled by their call's end, or
recovered when their lease expired before any call was recorded.

- **Settle**: an attempt whose call ended gets its outcome; the row retries, completes or fails
  by the policy; the last final row completes the campaign (and a sweep completes any campaign
  whose completion two concurrent transactions both missed). A settle holds its campaign `FOR
  KEY SHARE`, so it never delays a claim (`FOR NO KEY UPDATE`) but waits for a cancel.
- **Recover**: an attempt whose lease expired with no call recorded was never dialed:
  `not_placed`, and its row is due again (not counted as an attempt).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from call_orchestrator.adapters.postgres.campaigns import complete_if_done
from call_orchestrator.campaign_rules import CallEnd, after_outcome, outcome_of
from talkifai_common.campaigns import AttemptOutcome, RetryPolicy, RowStatus


class CampaignOutcomeStore:
    """Settles and recovers campaign attempts."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def recover_expired(self, now: datetime, limit: int = 200) -> int:
        """Attempts whose lease expired with no call recorded: never dialed, so `not_placed`
        and their rows due again; how many."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """
                UPDATE campaign_attempts SET outcome = 'not_placed', ended_at = $1,
                       detail = 'the replica placing it stopped before the call was recorded'
                 WHERE (row_id, number) IN (
                     SELECT row_id, number FROM campaign_attempts
                      WHERE outcome IS NULL AND NOT call_recorded AND lease_expires_at < $1
                      LIMIT $2 FOR UPDATE SKIP LOCKED)
                RETURNING row_id
                """,
                now,
                limit,
            )
            if rows:
                await wait_again(conn, [r["row_id"] for r in rows], now)
            return len(rows)

    async def complete_finished(self, now: datetime) -> int:
        """Complete the running or paused campaigns whose rows are all final (the settle of a
        last row and a claim setting aside another can each miss the other's change); how many."""
        ids = await self.pool.fetch(
            """
            SELECT id FROM campaigns c WHERE status IN ('running', 'paused')
               AND NOT EXISTS (SELECT 1 FROM campaign_rows r WHERE r.campaign_id = c.id
                                AND r.status IN ('pending', 'in_progress', 'waiting_retry'))
            """
        )
        completed = 0
        for row in ids:
            async with self.pool.acquire() as conn, conn.transaction():
                completed += await complete_if_done(conn, row["id"], now)
        return completed

    async def ended(self, limit: int = 500) -> list[tuple[str, int]]:
        """Attempts whose recorded call has ended and which have no outcome yet."""
        rows = await self.pool.fetch(
            """
            SELECT a.row_id, a.number FROM campaign_attempts a JOIN calls c ON c.id = a.call_id
             WHERE a.outcome IS NULL AND a.call_recorded AND c.status IN ('completed', 'failed')
             LIMIT $1
            """,
            limit,
        )
        return [(r["row_id"], r["number"]) for r in rows]

    async def settle(self, row_id: str, number: int, now: datetime) -> AttemptOutcome | None:
        """Give an ended attempt its outcome from its call and move its row by the retry
        policy (completing the campaign with its last row); None if another replica did."""
        async with self.pool.acquire() as conn, conn.transaction():
            found = await conn.fetchrow(
                """
                SELECT a.campaign_id, a.call_id, c.answered_at, c.failure_reason,
                       c.failure_detail, c.sip_status_code, c.ended_at
                  FROM campaign_attempts a JOIN calls c ON c.id = a.call_id
                 WHERE a.row_id = $1 AND a.number = $2 AND a.outcome IS NULL
                   AND c.status IN ('completed', 'failed')
                   FOR UPDATE OF a SKIP LOCKED
                """,
                row_id,
                number,
            )
            if found is None:
                return None
            # KEY SHARE: a claim (NO KEY UPDATE) goes on meanwhile; a cancel (UPDATE) waits.
            campaign = await conn.fetchrow(
                "SELECT status, retry FROM campaigns WHERE id = $1 FOR KEY SHARE",
                found["campaign_id"],
            )
            assert campaign is not None
            counted = await conn.fetchval(
                "SELECT counted_attempts + 1 FROM campaign_rows WHERE id = $1 FOR UPDATE", row_id
            )
            end = CallEnd(
                answered=found["answered_at"] is not None,
                failure_reason=found["failure_reason"],
                sip_status_code=found["sip_status_code"],
            )
            outcome = outcome_of(end)
            policy = RetryPolicy.model_validate(campaign["retry"])
            after = after_outcome(
                policy,
                outcome,
                end.sip_status_code,
                counted,
                now,
                cancelled=campaign["status"] == "cancelled",
            )
            await conn.execute(
                """
                UPDATE campaign_attempts SET outcome = $3, ended_at = $4, sip_status_code = $5,
                       detail = $6
                 WHERE row_id = $1 AND number = $2
                """,
                row_id,
                number,
                outcome.value,
                found["ended_at"] or now,
                end.sip_status_code,
                _detail(found),
            )
            final = after.status is not RowStatus.WAITING_RETRY
            await conn.execute(
                """
                UPDATE campaign_rows SET status = $2, counted_attempts = $3, last_outcome = $4,
                       last_sip_status_code = $5, last_call_id = $6,
                       next_attempt_at = COALESCE($7, next_attempt_at),
                       completed_at = CASE WHEN $8::boolean THEN $9::timestamptz END
                 WHERE id = $1
                """,
                row_id,
                after.status.value,
                counted,
                outcome.value,
                end.sip_status_code,
                found["call_id"],
                after.due_at,
                final,
                now,
            )
            if final:
                await complete_if_done(conn, found["campaign_id"], now)
            return outcome


def _detail(found: asyncpg.Record) -> str | None:
    reason, detail = found["failure_reason"], found["failure_detail"]
    if reason is None:
        return None
    return f"{reason}: {detail}" if detail else reason


async def wait_again(conn: asyncpg.Connection, row_ids: list[str], due_at: datetime) -> None:
    """Rows whose attempt placed no call: due again (pending if no attempt counted yet), or
    cancelled if their campaign was cancelled meanwhile."""
    await conn.execute(
        """
        UPDATE campaign_rows r
           SET status = CASE WHEN c.status = 'cancelled' THEN 'cancelled'
                             WHEN r.counted_attempts = 0 THEN 'pending'
                             ELSE 'waiting_retry' END,
               next_attempt_at = $2,
               completed_at = CASE WHEN c.status = 'cancelled' THEN $2::timestamptz END
          FROM campaigns c
         WHERE r.id = ANY($1::text[]) AND c.id = r.campaign_id AND r.status = 'in_progress'
        """,
        row_ids,
        due_at,
    )
