"""Rate decks, the usage reported per call, each call's cost (with its event) and usage totals.

A deck is never changed in place: `PUT /rate-deck` adds the next version, so a call's
`rate_deck_version` always names the deck that priced it. A call is priced once: the first usage
reported for it is kept, and the cost is written only while the call has none, in the same
statement as its `telephony.call.costed` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from call_orchestrator.adapters.postgres.call_rows import CallRow
from call_orchestrator.adapters.postgres.sql import Params
from call_orchestrator.pricing import component_micros
from call_orchestrator.rate_deck import RateDeck
from talkifai_common.events import (
    CallCost,
    CallCostedData,
    CallUsageData,
    EventName,
    new_event,
)
from talkifai_common.outbox import outbox_columns, outbox_insert, outbox_notify

SOURCE = "talkifai/call-orchestrator"


@dataclass(frozen=True)
class DeckVersion:
    """One version of an organization's deck."""

    version: int
    deck: RateDeck
    created_at: datetime
    created_by: str | None


class DeckVersionTaken(Exception):
    """Another PUT stored the same version first."""


class GroupBy(StrEnum):
    """How `GET /usage` groups calls."""

    NUMBER = "number"
    AGENT = "agent"
    DAY = "day"


_GROUP_KEY = {
    GroupBy.NUMBER: "phone_number",
    GroupBy.AGENT: "agent_id",
    GroupBy.DAY: "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}


@dataclass(frozen=True)
class UsageRow:
    """Totals of one group of calls in one currency (None: calls never priced)."""

    key: str | None
    agent_name: str | None
    currency: str | None
    calls: int
    costed_calls: int
    billed_s: int
    carrier_micros: int
    llm_micros: int
    stt_micros: int
    tts_micros: int
    total_micros: int


def usage_sql(group_by: GroupBy) -> str:
    """The usage totals of an organization's calls started in [$2, $3), by `group_by` and
    currency (`GET /usage`; bench/calls.py explains it)."""
    return f"""
        SELECT {_GROUP_KEY[group_by]} AS key, max(agent_name) AS agent_name,
               cost_currency AS currency, count(*) AS calls,
               count(cost_total_micros) AS costed_calls,
               coalesce(sum(billed_s), 0)::bigint AS billed_s,
               coalesce(sum(cost_carrier_micros), 0)::bigint AS carrier_micros,
               coalesce(sum(cost_llm_micros), 0)::bigint AS llm_micros,
               coalesce(sum(cost_stt_micros), 0)::bigint AS stt_micros,
               coalesce(sum(cost_tts_micros), 0)::bigint AS tts_micros,
               coalesce(sum(cost_total_micros), 0)::bigint AS total_micros
          FROM calls
         WHERE org_id = $1 AND started_at >= $2 AND started_at < $3
         GROUP BY 1, cost_currency
         ORDER BY 1, 3
    """


class RateDeckStore:
    """Each organization's rate decks, every version kept."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def current(self, org_id: str) -> DeckVersion | None:
        """The organization's newest deck (None: it never set one)."""
        row = await self.pool.fetchrow(
            "SELECT * FROM rate_decks WHERE org_id = $1 ORDER BY version DESC LIMIT 1", org_id
        )
        return _deck(row) if row else None

    async def add(self, org_id: str, deck: RateDeck, created_by: str) -> DeckVersion:
        """Store `deck` as the organization's next version."""
        try:
            row = await self.pool.fetchrow(
                """
                INSERT INTO rate_decks (org_id, version, deck, created_by)
                SELECT $1, coalesce(max(version), 0) + 1, $2, $3
                  FROM rate_decks WHERE org_id = $1
                RETURNING *
                """,
                org_id,
                deck.model_dump(mode="json"),
                created_by,
            )
        except asyncpg.UniqueViolationError as exc:
            raise DeckVersionTaken(org_id) from exc
        assert row is not None
        return _deck(row)


def _deck(row: asyncpg.Record) -> DeckVersion:
    return DeckVersion(
        version=row["version"],
        deck=RateDeck.model_validate(row["deck"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
    )


class CostStore:
    """Usage per call, the calls' costs and their totals."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record_usage(self, call_id: str, org_id: str, usage: CallUsageData) -> bool:
        """Keep the call's usage; False when the call already has one (the first one stands)."""
        inserted = await self.pool.fetchval(
            "INSERT INTO call_usage (call_id, org_id, usage) VALUES ($1, $2, $3) "
            "ON CONFLICT (call_id) DO NOTHING RETURNING 1",
            call_id,
            org_id,
            usage.model_dump(mode="json"),
        )
        return bool(inserted)

    async def usage_of(self, call_id: str) -> CallUsageData | None:
        """The usage kept for a call."""
        usage = await self.pool.fetchval("SELECT usage FROM call_usage WHERE call_id = $1", call_id)
        return CallUsageData.model_validate(usage) if usage is not None else None

    async def uncosted(self, limit: int) -> list[str]:
        """Calls with usage and no cost yet whose call has ended, oldest first."""
        rows = await self.pool.fetch(
            """
            SELECT u.call_id FROM call_usage u JOIN calls c ON c.id = u.call_id
             WHERE u.costed_at IS NULL AND c.status IN ('completed', 'failed')
             ORDER BY u.received_at LIMIT $1
            """,
            limit,
        )
        return [r["call_id"] for r in rows]

    async def record_cost(self, call: CallRow, cost: CallCost) -> bool:
        """Store the cost on the call with its `telephony.call.costed` event, unless the call has
        a cost already (False then: nothing is written, no event)."""
        data = call.data
        event = new_event(
            EventName.CALL_COSTED,
            source=SOURCE,
            subject=data.id,
            orgid=call.org_id,
            data=CallCostedData(
                call_id=data.id,
                org_id=call.org_id,
                direction=data.direction,
                phone_number_id=data.phone_number_id,
                phone_number=data.phone_number,
                to_number=data.to_number,
                agent=data.agent,
                billed_s=cost.billed_s,
                breakdown=cost.breakdown,
                total=cost.total,
                total_micros=cost.total_micros,
                currency=cost.currency,
                rate_deck_version=cost.rate_deck_version,
                computed_at=cost.computed_at,
            ),
        )
        parts = component_micros(cost)
        q = Params()
        sql = f"""
            WITH costed AS (
                UPDATE calls SET cost = {q(cost.model_dump(mode="json"))},
                       billed_s = {q(cost.billed_s)}, cost_currency = {q(cost.currency)},
                       cost_carrier_micros = {q(parts["carrier"])},
                       cost_llm_micros = {q(parts["llm"])}, cost_stt_micros = {q(parts["stt"])},
                       cost_tts_micros = {q(parts["tts"])},
                       cost_total_micros = {q(cost.total_micros)},
                       updated_at = now(), rev = rev + 1
                 WHERE id = {q(data.id)} AND cost IS NULL
                RETURNING 1),
            used AS (
                UPDATE call_usage SET costed_at = now()
                 WHERE call_id = {q(data.id)} AND costed_at IS NULL),
        """
        first = len(q.args) + 1
        for column in outbox_columns([event]):
            q(column)
        sql += f"""
            events AS ({outbox_insert(first, source="costed")})
            SELECT (SELECT count(*) FROM costed), {outbox_notify("costed")}
        """
        return bool(await self.pool.fetchval(sql, *q.args))

    async def totals(
        self, org_id: str, group_by: GroupBy, start: datetime, end: datetime
    ) -> list[UsageRow]:
        """The organization's calls started in [start, end), grouped and summed by currency."""
        rows = await self.pool.fetch(
            usage_sql(group_by),
            org_id,
            start,
            end,
        )
        return [UsageRow(**dict(r)) for r in rows]
