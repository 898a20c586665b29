"""Call transcripts: the parts agent-runtime published, put together per call, and whether the
call's end-of-call report has been queued for its customer webhook.

Every write of a call's transcript first locks the call's row, so parts arriving at once on
several consumers count each other, and the report is queued exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from call_orchestrator.adapters.postgres.call_rows import CallRow, call_from_row
from call_orchestrator.adapters.postgres.deliveries import enqueue_delivery
from talkifai_common.events import CallTranscriptData, CallUsageData, TranscriptItem


@dataclass(frozen=True)
class StoredTranscript:
    """A call's complete transcript."""

    call_id: str
    org_id: str
    agent_id: str
    items: list[TranscriptItem]
    truncated: bool
    usage: CallUsageData | None
    started_at: datetime
    ended_at: datetime
    report_queued: bool


@dataclass(frozen=True)
class PartSaved:
    """What storing one part left: whether it was new, and whether the transcript is complete."""

    new: bool
    complete: bool
    report_queued: bool


class TranscriptStore:
    """Transcripts by call, and the end-of-call report queued once per call."""

    def __init__(self, pool: asyncpg.Pool, *, webhook_retry_window_s: float = 3600.0) -> None:
        self.pool = pool
        self._webhook_window = timedelta(seconds=webhook_retry_window_s)

    async def save_part(self, call_id: str, org_id: str, data: CallTranscriptData) -> PartSaved:
        """Store one part (a part already stored is left alone: delivery is at least once)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1 FROM calls WHERE id = $1 FOR UPDATE", call_id)
            await conn.execute(
                """
                INSERT INTO call_transcripts (call_id, org_id, agent_id, parts, truncated, usage,
                                              started_at, ended_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (call_id) DO UPDATE
                   SET usage = COALESCE(call_transcripts.usage, EXCLUDED.usage)
                """,
                call_id,
                org_id,
                data.agent_id,
                data.parts,
                data.truncated,
                data.usage.model_dump(mode="json") if data.usage else None,
                data.started_at,
                data.ended_at,
            )
            new = await conn.fetchval(
                """
                INSERT INTO call_transcript_parts (call_id, part, items) VALUES ($1, $2, $3)
                ON CONFLICT (call_id, part) DO NOTHING RETURNING 1
                """,
                call_id,
                data.part,
                [item.model_dump(mode="json") for item in data.items],
            )
            row = await conn.fetchrow(
                """
                SELECT t.parts, t.report_queued_at,
                       (SELECT count(*) FROM call_transcript_parts p WHERE p.call_id = t.call_id)
                         AS received
                  FROM call_transcripts t WHERE t.call_id = $1
                """,
                call_id,
            )
        return PartSaved(
            new=bool(new),
            complete=row["received"] >= row["parts"],
            report_queued=row["report_queued_at"] is not None,
        )

    async def get(self, call_id: str, org_id: str | None = None) -> StoredTranscript | None:
        """A call's transcript once every part is in (within an organization when given)."""
        async with self.pool.acquire() as conn:
            return await self._get(conn, call_id, org_id)

    async def _get(
        self, conn: asyncpg.Connection, call_id: str, org_id: str | None
    ) -> StoredTranscript | None:
        head = await conn.fetchrow("SELECT * FROM call_transcripts WHERE call_id = $1", call_id)
        if head is None or (org_id is not None and head["org_id"] != org_id):
            return None
        parts = await conn.fetch(
            "SELECT items FROM call_transcript_parts WHERE call_id = $1 ORDER BY part", call_id
        )
        if len(parts) < head["parts"]:
            return None
        usage = head["usage"]
        return StoredTranscript(
            call_id=call_id,
            org_id=head["org_id"],
            agent_id=head["agent_id"],
            items=[TranscriptItem.model_validate(i) for p in parts for i in p["items"]],
            truncated=head["truncated"],
            usage=CallUsageData.model_validate(usage) if usage else None,
            started_at=head["started_at"],
            ended_at=head["ended_at"],
            report_queued=head["report_queued_at"] is not None,
        )

    async def reports_due(self, wait_s: float, limit: int) -> list[str]:
        """Calls whose transcript is complete and whose report is not queued, once ended and
        with no recording pending (or pending for longer than `wait_s` since the call ended)."""
        rows = await self.pool.fetch(
            """
            SELECT t.call_id FROM call_transcripts t JOIN calls c ON c.id = t.call_id
             WHERE t.report_queued_at IS NULL
               AND c.status IN ('completed', 'failed')
               AND (c.recording_status IS DISTINCT FROM 'pending'
                    OR COALESCE(c.ended_at, c.started_at) <= now() - make_interval(secs => $1))
               AND (SELECT count(*) FROM call_transcript_parts p WHERE p.call_id = t.call_id)
                   >= t.parts
             LIMIT $2
            """,
            wait_s,
            limit,
        )
        return [row["call_id"] for row in rows]

    async def queue_report(
        self,
        call_id: str,
        report: Callable[[CallRow, StoredTranscript], tuple[str, str]],
    ) -> bool:
        """Queue the call's end-of-call report (`report` gives its event id and payload from the
        call and its transcript) for the call's webhook URL, once; whether this call queued it.
        A call without a webhook URL is marked reported all the same."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow("SELECT * FROM calls WHERE id = $1 FOR UPDATE", call_id)
            transcript = await self._get(conn, call_id, None)
            if row is None or transcript is None or transcript.report_queued:
                return False
            call = call_from_row(row)
            if call.webhook_url:
                event_id, payload = report(call, transcript)
                await enqueue_delivery(
                    conn,
                    event_id=event_id,
                    call_id=call_id,
                    org_id=call.org_id,
                    url=call.webhook_url,
                    payload=payload,
                    retry_window=self._webhook_window,
                )
            await conn.execute(
                "UPDATE call_transcripts SET report_queued_at = now() WHERE call_id = $1", call_id
            )
            return True
