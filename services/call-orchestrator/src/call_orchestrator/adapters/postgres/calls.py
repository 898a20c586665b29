"""The calls: each state change is one statement with its event, webhook delivery and slot.

A call state change is one statement: the guarded UPDATE of the call, its CloudEvent (outbox),
its customer webhook delivery and, for a final status, the freed live-call slot. Statuses only move
forward (a change to the same or an earlier status is a no-op) and the UPDATE is guarded by the
call's `rev`, bumped by every write: a change computed from an older snapshot matches no row and is
redone from a fresh read. So duplicate or out-of-order signals (webhook floods, retries, races with
the dialer) can never move a call back or record a state twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import asyncpg

from call_orchestrator.adapters.postgres.call_rows import (
    TIMESTAMP_BY_STATUS,
    CallChanges,
    CallRow,
    NewCall,
    advanced,
    call_from_row,
    initiated,
)
from call_orchestrator.adapters.postgres.sql import (
    AttemptFenced,
    CallInProgress,
    Params,
    TooManyCalls,
    utcnow,
)
from call_orchestrator.domain import FINAL_STATUSES, HUNG_UP_BY_USER, STATUS_RANK
from talkifai_common.events import CallDirection, CallStatus, EventName, new_event
from talkifai_common.outbox import outbox_columns, outbox_insert, outbox_notify

SOURCE = "talkifai/call-orchestrator"
_EVENT_BY_STATUS = {
    CallStatus.INITIATED: EventName.CALL_INITIATED,
    CallStatus.RINGING: EventName.CALL_RINGING,
    CallStatus.ANSWERED: EventName.CALL_ANSWERED,
    CallStatus.COMPLETED: EventName.CALL_COMPLETED,
    CallStatus.FAILED: EventName.CALL_FAILED,
}
_NO_CHANGES = CallChanges()


class _Stale:
    """The stored call changed since the snapshot a write started from."""


_STALE = _Stale()


class CallStore:
    """The calls: recorded, moved forward, read."""

    def __init__(self, pool: asyncpg.Pool, *, webhook_retry_window_s: float = 3600.0) -> None:
        self.pool = pool
        self._webhook_window = timedelta(seconds=webhook_retry_window_s)

    async def create_call(
        self,
        call: NewCall,
        *,
        max_live_per_org: int | None,
        then: CallStatus | None = None,
    ) -> CallRow:
        """Record a call as initiated with its event (and move it on to `then`, with that event
        too), taking one of the organization's live-call slots: one statement, one round trip."""
        now = utcnow()
        created = initiated(call, now)
        states = [created] if then is None else [created, advanced(created, then, _NO_CHANGES, now)]
        final = replace(states[-1], rev=0)
        ref = call.campaign.ref if call.campaign else None
        cap = max_live_per_org if max_live_per_org is not None else 2**31 - 1
        q = Params()
        fence, slot_values, marked, fenced = _campaign_fence(q, call)
        sql = f"""
            WITH {fence}slot AS (
                INSERT INTO org_live_calls (org_id, live) {slot_values}
                ON CONFLICT (org_id) DO UPDATE SET live = org_live_calls.live + 1
                 WHERE org_live_calls.live < {q(cap)}
                RETURNING 1),
            call AS (
                INSERT INTO calls (id, org_id, direction, status, phone_number_id, phone_number,
                    from_number, to_number, agent_id, agent_name, room_name, webhook_url,
                    recording_mode, participant_identity, sip_call_id, started_at, ringing_at,
                    answered_at, ended_at, updated_at, campaign_id, campaign_row_id,
                    campaign_attempt)
                SELECT {q(call.id)}, {q(call.org_id)}, {q(call.direction.value)},
                       {q(final.data.status.value)}, {q(call.phone_number_id)},
                       {q(call.phone_number)}, {q(call.from_number)}, {q(call.to_number)},
                       {q(call.agent_id)}, {q(call.agent_name)}, {q(call.room_name)},
                       {q(call.webhook_url)}, {q(call.recording_mode.value)},
                       {q(call.participant_identity)}, {q(call.sip_call_id)},
                       {q(final.data.started_at)}, {q(final.data.ringing_at)},
                       {q(final.data.answered_at)}, {q(final.data.ended_at)},
                       {q(final.data.started_at)}, {q(ref.id if ref else None)},
                       {q(ref.row_id if ref else None)}, {q(ref.attempt if ref else None)}
                  FROM slot
                RETURNING 1),{marked}
            {self._events_sql(q, states, source="call")}
            SELECT (SELECT count(*) FROM call) AS inserted, {fenced} AS fenced,
                   {outbox_notify("call")}
        """
        try:
            result = await self.pool.fetchrow(sql, *q.args)
        except asyncpg.UniqueViolationError as exc:
            raise CallInProgress(call.room_name) from exc
        assert result is not None
        if not result["fenced"]:
            raise AttemptFenced(call.id)
        if not result["inserted"]:
            raise TooManyCalls(call.org_id)
        return final

    async def transition(
        self, call_id: str, status: CallStatus, changes: CallChanges = _NO_CHANGES
    ) -> CallRow | None:
        """Move a call forward to `status` (with its event); None if it is already there or past."""
        while True:
            current = await self.get_call(call_id)
            if current is None:
                return None
            moved = await self._advance(current, status, changes)
            if not isinstance(moved, _Stale):
                return moved

    async def advance(
        self, call: CallRow, status: CallStatus, changes: CallChanges = _NO_CHANGES
    ) -> CallRow | None:
        """`transition` from a row this process holds: one round trip when nothing else changed
        the call since (its `rev` still matches), `transition` otherwise."""
        moved = await self._advance(call, status, changes)
        if isinstance(moved, _Stale):
            return await self.transition(call.data.id, status, changes)
        return moved

    async def _advance(
        self, call: CallRow, status: CallStatus, changes: CallChanges
    ) -> CallRow | _Stale | None:
        """Write `call` moved to `status`, its event, its webhook and (when final) the freed slot
        in one statement, if the stored call is still at `call.rev`; `_STALE` if it is not."""
        if STATUS_RANK[call.data.status] >= STATUS_RANK[status]:
            return None  # statuses only move forward, so the stored call is there or past too
        if call.hangup_requested_at is not None and status in FINAL_STATUSES:
            # Whatever reports the end (our hangup, LiveKit's webhook, the live-call check, the
            # dialer whose dial the deleted room cut short), a call a user hung up ends as such.
            if status is CallStatus.COMPLETED:
                changes = replace(changes, end_reason=HUNG_UP_BY_USER)
            else:
                changes = replace(changes, failure_reason=HUNG_UP_BY_USER)
        now = utcnow()
        moved = advanced(call, status, changes, now)
        q = Params()
        sets = [f"status = {q(status.value)}", f"updated_at = {q(now)}", "rev = rev + 1"]
        if (column := TIMESTAMP_BY_STATUS.get(status)) and getattr(call.data, column) is None:
            sets.append(f"{column} = {q(getattr(moved.data, column))}")
        sets.extend(f"{name} = {q(value)}" for name, value in changes.given().items())
        release = ""
        if status in FINAL_STATUSES:
            release = f"""
            released AS (
                UPDATE org_live_calls SET live = GREATEST(live - 1, 0)
                 WHERE org_id = {q(call.org_id)} AND EXISTS (SELECT 1 FROM moved)),"""
        sql = f"""
            WITH moved AS (
                UPDATE calls SET {", ".join(sets)}
                 WHERE id = {q(call.data.id)} AND rev = {q(call.rev)}
                RETURNING 1),{release}
            {self._events_sql(q, [moved], source="moved")}
            SELECT (SELECT count(*) FROM moved), {outbox_notify("moved")}
        """
        if not await self.pool.fetchval(sql, *q.args):
            return _STALE
        return moved

    def _events_sql(self, q: Params, states: list[CallRow], *, source: str) -> str:
        """CTEs writing one event per state (and its customer webhook delivery when the call has
        a webhook URL) for each row of `source`."""
        events = [
            new_event(
                _EVENT_BY_STATUS[state.data.status],
                source=SOURCE,
                subject=state.data.id,
                orgid=state.org_id,
                data=state.data,
            )
            for state in states
        ]
        columns = outbox_columns(events)
        first = len(q.args) + 1
        for column in columns:
            q(column)
        sql = f"events AS ({outbox_insert(first, source=source)})"
        url = states[0].webhook_url
        if url:
            ids, payloads = f"${first}::text[]", f"${first + 2}::text[]"
            sql += f""",
            hooks AS (
                INSERT INTO webhook_deliveries (event_id, call_id, org_id, url, payload, give_up_at)
                SELECT e.event_id, {q(states[0].data.id)}, {q(states[0].org_id)}, {q(url)},
                       e.payload, now() + {q(self._webhook_window)}::interval
                  FROM {source}, unnest({ids}, {payloads}) WITH ORDINALITY AS e(event_id, payload, n)
                 ORDER BY e.n
                ON CONFLICT (event_id) DO NOTHING)"""
        return sql

    async def update(self, call_id: str, changes: CallChanges) -> CallRow | None:
        """Set fields of a call without a state change (no event)."""
        q = Params()
        sets = [f"{name} = {q(value)}" for name, value in changes.given().items()]
        row = await self.pool.fetchrow(
            f"UPDATE calls SET {''.join(s + ', ' for s in sets)}updated_at = now(), "
            f"rev = rev + 1 WHERE id = {q(call_id)} RETURNING *",
            *q.args,
        )
        return call_from_row(row) if row else None

    async def get_call(self, call_id: str, org_id: str | None = None) -> CallRow | None:
        """One call (within an organization when given)."""
        row = await self.pool.fetchrow("SELECT * FROM calls WHERE id = $1", call_id)
        if row is None or (org_id is not None and row["org_id"] != org_id):
            return None
        return call_from_row(row)

    async def call_in_room(self, room_name: str) -> CallRow | None:
        """The newest call in a room (a live one first)."""
        row = await self.pool.fetchrow(
            """
            SELECT * FROM calls WHERE room_name = $1
             ORDER BY (status IN ('initiated', 'ringing', 'answered')) DESC, started_at DESC
             LIMIT 1
            """,
            room_name,
        )
        return call_from_row(row) if row else None

    async def list_calls(
        self,
        org_id: str,
        *,
        phone_number: str | None,
        direction: CallDirection | None,
        status: CallStatus | None,
        limit: int,
        after: tuple[datetime, str] | None,
        agent_id: str | None = None,
        started_from: datetime | None = None,
        started_before: datetime | None = None,
    ) -> list[CallRow]:
        """The organization's calls, newest first, after a cursor position."""
        sql, args = list_calls_query(
            org_id,
            phone_number=phone_number,
            direction=direction,
            status=status,
            limit=limit,
            after=after,
            agent_id=agent_id,
            started_from=started_from,
            started_before=started_before,
        )
        rows = await self.pool.fetch(sql, *args)
        return [call_from_row(r) for r in rows]


def _campaign_fence(q: Params, call: NewCall) -> tuple[str, str, str, str]:
    """The parts of `create_call`'s statement that record a campaign's call only while its
    attempt holds its fencing token and has no outcome: the attempt row is locked (`FOR UPDATE`
    re-reads it after a concurrent recovery) and marked `call_recorded` with the call, so the
    recovery of an expired lease, which updates the same row, sees either the call or no call
    ever. For other calls: no fence."""
    if call.campaign is None:
        return "", f"VALUES ({q(call.org_id)}, 1)", "", "true"
    ref, fence = call.campaign.ref, call.campaign.fence
    where = (
        f"row_id = {q(ref.row_id)} AND number = {q(ref.attempt)} AND fence = {q(fence)}"
        f" AND call_id = {q(call.id)}"
    )
    cte = f"""fence AS (
                SELECT 1 FROM campaign_attempts WHERE {where} AND outcome IS NULL FOR UPDATE),
            """
    slot = f"SELECT {q(call.org_id)}, 1 FROM fence"
    marked = f"""
            marked AS (
                UPDATE campaign_attempts SET call_recorded = true
                 WHERE {where} AND EXISTS (SELECT 1 FROM call)),"""
    return cte, slot, marked, "(SELECT count(*) FROM fence) > 0"


def list_calls_query(
    org_id: str,
    *,
    phone_number: str | None,
    direction: CallDirection | None,
    status: CallStatus | None,
    limit: int,
    after: tuple[datetime, str] | None,
    agent_id: str | None = None,
    started_from: datetime | None = None,
    started_before: datetime | None = None,
) -> tuple[str, list[object]]:
    """`GET /calls`'s statement and its parameters, with only the filters given in it.

    One statement with every filter optional (`$2 IS NULL OR ...`) is planned once for all of
    them: after five runs PostgreSQL keeps a generic plan, which can use neither the cursor nor a
    filter as an index condition, so a deep page or a rare status read the organization's whole
    history (40 ms at 100,000 calls, bench/calls.py). Each combination of filters is its own
    statement instead, each answered by an index in order (migration 0010). A number is our
    number or the other party's, so it is the call's `from_number` or `to_number` (`phone_number`,
    ours, is always one of them): two ordered scans, each stopping after `limit` rows."""
    q = Params()
    org = q(org_id)
    where = []
    if direction is not None:
        where.append(f"direction = {q(direction.value)}")
    if status is not None:
        where.append(f"status = {q(status.value)}")
    if agent_id is not None:
        where.append(f"agent_id = {q(agent_id)}")
    if started_from is not None:
        where.append(f"started_at >= {q(started_from)}")
    if started_before is not None:
        where.append(f"started_at < {q(started_before)}")
    if after is not None:
        where.append(f"(started_at, id) < ({q(after[0])}, {q(after[1])})")
    rest = "".join(f" AND {w}" for w in where)
    n = q(limit)
    order = f"ORDER BY started_at DESC, id DESC LIMIT {n}"
    if phone_number is None:
        return f"SELECT * FROM calls WHERE org_id = {org}{rest} {order}", q.args
    number = q(phone_number)
    sql = (
        f"SELECT * FROM ("
        f"(SELECT * FROM calls WHERE org_id = {org} AND from_number = {number}{rest} {order})"
        " UNION ALL "
        f"(SELECT * FROM calls WHERE org_id = {org} AND to_number = {number}"
        f" AND from_number <> {number}{rest} {order})"
        f") c {order}"
    )
    return sql, q.args
