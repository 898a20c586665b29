"""A campaign's rows as the API reads them: pages with their attempts, and the results export."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from talkifai_common.campaigns import AttemptOutcome, RowStatus


@dataclass(frozen=True)
class StoredAttempt:
    """One attempt of a row."""

    number: int
    call_id: str
    from_number: str
    started_at: datetime
    ended_at: datetime | None
    outcome: AttemptOutcome | None
    sip_status_code: int | None
    detail: str | None


@dataclass(frozen=True)
class StoredRow:
    """A row with its attempts."""

    id: str
    line: int
    to_number: str
    time_zone: str | None
    metadata: dict[str, Any]
    status: RowStatus
    next_attempt_at: datetime | None
    attempts: tuple[StoredAttempt, ...]


@dataclass(frozen=True)
class ResultLine:
    """One line of results.csv."""

    line: int
    to_number: str
    status: str
    attempts: int
    last_outcome: str | None
    last_sip_status_code: int | None
    last_call_id: str | None
    completed_at: datetime | None
    metadata: dict[str, Any]


class CampaignRowStore:
    """Reads of a campaign's rows (the scheduler writes them: `campaign_dials`,
    `campaign_outcomes`)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def page(
        self,
        campaign_id: str,
        *,
        status: RowStatus | None,
        after_line: int,
        limit: int,
    ) -> list[StoredRow]:
        """A page of the campaign's rows in line order, each with its attempts."""
        rows = await self.pool.fetch(
            """
            SELECT * FROM campaign_rows
             WHERE campaign_id = $1 AND ($2::text IS NULL OR status = $2) AND line > $3
             ORDER BY line LIMIT $4
            """,
            campaign_id,
            status.value if status else None,
            after_line,
            limit,
        )
        attempts: dict[str, list[StoredAttempt]] = {r["id"]: [] for r in rows}
        for a in await self.pool.fetch(
            "SELECT * FROM campaign_attempts WHERE row_id = ANY($1) ORDER BY row_id, number",
            list(attempts),
        ):
            attempts[a["row_id"]].append(
                StoredAttempt(
                    number=a["number"],
                    call_id=a["call_id"],
                    from_number=a["from_number"],
                    started_at=a["started_at"],
                    ended_at=a["ended_at"],
                    outcome=AttemptOutcome(a["outcome"]) if a["outcome"] else None,
                    sip_status_code=a["sip_status_code"],
                    detail=a["detail"],
                )
            )
        return [
            StoredRow(
                id=r["id"],
                line=r["line"],
                to_number=r["to_number"],
                time_zone=r["time_zone"],
                metadata=r["metadata"],
                status=RowStatus(r["status"]),
                next_attempt_at=(
                    r["next_attempt_at"] if r["status"] in ("pending", "waiting_retry") else None
                ),
                attempts=tuple(attempts[r["id"]]),
            )
            for r in rows
        ]

    async def results(self, campaign_id: str, batch: int = 2000) -> AsyncIterator[ResultLine]:
        """Every row's result in line order, read in batches."""
        after = 0
        while True:
            rows = await self.pool.fetch(
                """
                SELECT line, to_number, status, counted_attempts, last_outcome,
                       last_sip_status_code, last_call_id, completed_at, metadata::text AS meta
                  FROM campaign_rows WHERE campaign_id = $1 AND line > $2
                 ORDER BY line LIMIT $3
                """,
                campaign_id,
                after,
                batch,
            )
            for r in rows:
                yield ResultLine(
                    line=r["line"],
                    to_number=r["to_number"],
                    status=r["status"],
                    attempts=r["counted_attempts"],
                    last_outcome=r["last_outcome"],
                    last_sip_status_code=r["last_sip_status_code"],
                    last_call_id=r["last_call_id"],
                    completed_at=r["completed_at"],
                    metadata=json.loads(r["meta"]),
                )
            if len(rows) < batch:
                return
            after = rows[-1]["line"]
