"""PostgreSQL: the read models of numbers and agents, call history, idempotency, webhook queue.

A call state change is one statement: the guarded UPDATE of the call, its CloudEvent (outbox),
its customer webhook delivery and, for a final status, the freed live-call slot. Statuses only move
forward (a change to the same or an earlier status is a no-op) and the UPDATE is guarded by the
call's `rev`, bumped by every write: a change computed from an older snapshot matches no row and is
redone from a fresh read. So duplicate or out-of-order signals (webhook floods, retries, races with
the dialer) can never move a call back or record a state twice.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from call_orchestrator.domain import (
    FINAL_STATUSES,
    OUTBOUND_ROOM_PREFIX,
    STATUS_RANK,
    OutboundTarget,
    outbound_room_suffix,
)
from talkifai_common.agent_capabilities import required_keys
from talkifai_common.events import (
    AgentData,
    CallAgentRef,
    CallData,
    CallDirection,
    CallStatus,
    EventName,
    PhoneNumberData,
    PhoneNumberSyncData,
    new_event,
)
from talkifai_common.outbox import outbox_columns, outbox_insert, outbox_notify

SOURCE = "talkifai/call-orchestrator"
_EVENT_BY_STATUS = {
    CallStatus.INITIATED: EventName.CALL_INITIATED,
    CallStatus.RINGING: EventName.CALL_RINGING,
    CallStatus.ANSWERED: EventName.CALL_ANSWERED,
    CallStatus.COMPLETED: EventName.CALL_COMPLETED,
    CallStatus.FAILED: EventName.CALL_FAILED,
}
_TIMESTAMP_BY_STATUS = {
    CallStatus.RINGING: "ringing_at",
    CallStatus.ANSWERED: "answered_at",
    CallStatus.COMPLETED: "ended_at",
    CallStatus.FAILED: "ended_at",
}
_SETTABLE = frozenset(
    {
        "failure_reason",
        "failure_detail",
        "sip_status_code",
        "sip_call_id",
        "participant_identity",
        "dispatch_id",
        "recording_egress_id",
        "recording_consent_at",
        "participant_left_at",
    }
)


class StoreError(Exception):
    """Base of the store's deliberate failures."""


class TooManyCalls(StoreError):
    """The organization has as many live calls as it may."""


class CallInProgress(StoreError):
    """A live call already uses this room (same two numbers)."""


@dataclass(frozen=True)
class NewCall:
    """A call about to be recorded."""

    id: str
    org_id: str
    direction: CallDirection
    phone_number_id: str | None
    phone_number: str
    from_number: str
    to_number: str
    agent_id: str | None
    agent_name: str | None
    room_name: str
    webhook_url: str | None
    recording_mode: str
    participant_identity: str | None = None
    sip_call_id: str | None = None


@dataclass(frozen=True)
class CallRow:
    """A call with the internal fields the public CallData leaves out."""

    data: CallData
    org_id: str
    webhook_url: str | None
    recording_mode: str
    participant_identity: str | None
    participant_left_at: datetime | None
    recording_consent_at: datetime | None
    rev: int = 0
    """Bumped by every write of the call; a write from a snapshot checks it (`Store.advance`)."""


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(0.0, (end - start).total_seconds()), 3)


def _durations(
    started_at: datetime | None, answered_at: datetime | None, ended_at: datetime | None
) -> dict[str, float | None]:
    """A call's `duration_s` (talking) and `total_duration_s` from its timestamps."""
    return {
        "duration_s": _seconds(answered_at, ended_at),
        "total_duration_s": _seconds(started_at, ended_at),
    }


def _agent_ref(agent_id: str | None, agent_name: str | None) -> CallAgentRef | None:
    return CallAgentRef(id=agent_id, name=agent_name or "") if agent_id else None


def call_from_row(row: asyncpg.Record) -> CallRow:
    """The call in a `calls` row."""
    data = CallData(
        id=row["id"],
        direction=CallDirection(row["direction"]),
        status=CallStatus(row["status"]),
        phone_number_id=row["phone_number_id"],
        phone_number=row["phone_number"],
        from_number=row["from_number"],
        to_number=row["to_number"],
        agent=_agent_ref(row["agent_id"], row["agent_name"]),
        room_name=row["room_name"],
        failure_reason=row["failure_reason"],
        failure_detail=row["failure_detail"],
        sip_status_code=row["sip_status_code"],
        sip_call_id=row["sip_call_id"],
        recording_egress_id=row["recording_egress_id"],
        started_at=row["started_at"],
        ringing_at=row["ringing_at"],
        answered_at=row["answered_at"],
        ended_at=row["ended_at"],
        **_durations(row["started_at"], row["answered_at"], row["ended_at"]),
    )
    return CallRow(
        data=data,
        org_id=row["org_id"],
        webhook_url=row["webhook_url"],
        recording_mode=row["recording_mode"],
        participant_identity=row["participant_identity"],
        participant_left_at=row["participant_left_at"],
        recording_consent_at=row["recording_consent_at"],
        rev=row["rev"],
    )


def _initiated(call: NewCall, now: datetime) -> CallRow:
    """The row a new call gets."""
    data = CallData(
        id=call.id,
        direction=call.direction,
        status=CallStatus.INITIATED,
        phone_number_id=call.phone_number_id,
        phone_number=call.phone_number,
        from_number=call.from_number,
        to_number=call.to_number,
        agent=_agent_ref(call.agent_id, call.agent_name),
        room_name=call.room_name,
        sip_call_id=call.sip_call_id,
        started_at=now,
    )
    return CallRow(
        data=data,
        org_id=call.org_id,
        webhook_url=call.webhook_url,
        recording_mode=call.recording_mode,
        participant_identity=call.participant_identity,
        participant_left_at=None,
        recording_consent_at=None,
    )


_DATA_FIELDS = frozenset(CallData.model_fields)
_ROW_FIELDS = frozenset({"participant_identity", "participant_left_at", "recording_consent_at"})


def advanced(call: CallRow, status: CallStatus, fields: dict[str, Any], now: datetime) -> CallRow:
    """`call` moved to `status` at `now` with `fields` set: the status's timestamp is kept if it
    is already there, and a None field leaves the stored value alone."""
    for name in fields:
        if name not in _SETTABLE:
            raise ValueError(f"not a settable call field: {name}")
    given = {name: value for name, value in fields.items() if value is not None}
    update: dict[str, Any] = {"status": status}
    update.update({k: v for k, v in given.items() if k in _DATA_FIELDS})
    if (column := _TIMESTAMP_BY_STATUS.get(status)) and getattr(call.data, column) is None:
        update[column] = now
    data = call.data.model_copy(update=update)
    data = data.model_copy(update=_durations(data.started_at, data.answered_at, data.ended_at))
    row_fields = {k: v for k, v in given.items() if k in _ROW_FIELDS}
    return replace(call, data=data, rev=call.rev + 1, **row_fields)


class _Stale:
    """The stored call changed since the snapshot a write started from."""


_STALE = _Stale()


class _Params:
    """Positional parameters of a statement being built: `q(value)` adds one, returns `$n`."""

    def __init__(self) -> None:
        self.args: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


def encode_cursor(started_at: datetime, call_id: str) -> str:
    """An opaque cursor after this call."""
    return base64.urlsafe_b64encode(f"{started_at.isoformat()}|{call_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor names; ValueError when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        when, call_id = text.split("|", 1)
        return datetime.fromisoformat(when), call_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("cursor is not valid") from exc


@dataclass(frozen=True)
class Delivery:
    """A customer webhook delivery claimed for one attempt."""

    id: int
    event_id: str
    url: str
    payload: str
    attempt: int
    give_up_at: datetime


class Store:
    """All of call-orchestrator's SQL."""

    def __init__(self, pool: asyncpg.Pool, *, webhook_retry_window_s: float = 3600.0) -> None:
        self.pool = pool
        self._webhook_window = timedelta(seconds=webhook_retry_window_s)

    # --- read models ----------------------------------------------------------------------------

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
                    status)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
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
                    status = EXCLUDED.status
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

    async def outbound_target(
        self, org_id: str, from_number: str, to_number: str, *, max_live_per_org: int
    ) -> OutboundTarget | None:
        """The organization's number with its outbound agent and trunk, if it has both; with
        whether a live call holds the room a call to `to_number` would use and whether the
        organization is at its live-call limit (both re-checked when the call is recorded)."""
        row = await self.pool.fetchrow(
            """
            SELECT n.id, n.org_id, n.phone_number, n.outbound_agent_id,
                   COALESCE(a.name, n.outbound_agent_name) AS agent_name,
                   COALESCE(a.architecture, n.outbound_agent_arch) AS agent_arch,
                   s.outbound_trunk_id, n.webhook_url, n.recording_mode, a.provider_keys,
                   n.status = 'inactive' AS inactive,
                   EXISTS (SELECT 1 FROM calls c
                            WHERE c.room_name = $3 || n.outbound_agent_id || $4
                              AND c.status IN ('initiated', 'ringing', 'answered')) AS room_in_use,
                   COALESCE((SELECT o.live FROM org_live_calls o WHERE o.org_id = n.org_id), 0)
                       >= $5 AS org_at_limit
              FROM phone_numbers n
              LEFT JOIN agents a ON a.id = n.outbound_agent_id AND NOT a.deleted
              LEFT JOIN phone_number_sync s ON s.phone_number_id = n.id
             WHERE n.org_id = $1 AND n.phone_number = $2 AND n.outbound_agent_id IS NOT NULL
            """,
            org_id,
            from_number,
            OUTBOUND_ROOM_PREFIX,
            outbound_room_suffix(to_number, from_number),
            max_live_per_org,
        )
        if row is None:
            return None
        return OutboundTarget(
            phone_number_id=row["id"],
            org_id=row["org_id"],
            phone_number=row["phone_number"],
            agent_id=row["outbound_agent_id"],
            agent_name=row["agent_name"] or "",
            agent_architecture=row["agent_arch"] or "",
            outbound_trunk_id=row["outbound_trunk_id"],
            webhook_url=row["webhook_url"],
            recording_mode=row["recording_mode"],
            room_in_use=row["room_in_use"],
            org_at_limit=row["org_at_limit"],
            agent_provider_keys=(
                tuple(row["provider_keys"]) if row["provider_keys"] is not None else None
            ),
            inactive=bool(row["inactive"]),
        )

    async def inbound_target(self, phone_number: str) -> OutboundTarget | None:
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
        return OutboundTarget(
            phone_number_id=row["id"],
            org_id=row["org_id"],
            phone_number=row["phone_number"],
            agent_id=row["inbound_agent_id"] or "",
            agent_name=row["agent_name"] or "",
            agent_architecture=row["agent_arch"] or "",
            outbound_trunk_id=None,
            webhook_url=row["webhook_url"],
            recording_mode=row["recording_mode"],
        )

    # --- calls ----------------------------------------------------------------------------------

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
        created = _initiated(call, now)
        states = [created] if then is None else [created, advanced(created, then, {}, now)]
        final = replace(states[-1], rev=0)
        cap = max_live_per_org if max_live_per_org is not None else 2**31 - 1
        q = _Params()
        sql = f"""
            WITH slot AS (
                INSERT INTO org_live_calls (org_id, live) VALUES ({q(call.org_id)}, 1)
                ON CONFLICT (org_id) DO UPDATE SET live = org_live_calls.live + 1
                 WHERE org_live_calls.live < {q(cap)}
                RETURNING 1),
            call AS (
                INSERT INTO calls (id, org_id, direction, status, phone_number_id, phone_number,
                    from_number, to_number, agent_id, agent_name, room_name, webhook_url,
                    recording_mode, participant_identity, sip_call_id, started_at, ringing_at,
                    answered_at, ended_at, updated_at)
                SELECT {q(call.id)}, {q(call.org_id)}, {q(call.direction.value)},
                       {q(final.data.status.value)}, {q(call.phone_number_id)},
                       {q(call.phone_number)}, {q(call.from_number)}, {q(call.to_number)},
                       {q(call.agent_id)}, {q(call.agent_name)}, {q(call.room_name)},
                       {q(call.webhook_url)}, {q(call.recording_mode)},
                       {q(call.participant_identity)}, {q(call.sip_call_id)},
                       {q(final.data.started_at)}, {q(final.data.ringing_at)},
                       {q(final.data.answered_at)}, {q(final.data.ended_at)},
                       {q(final.data.started_at)}
                  FROM slot
                RETURNING 1),
            {self._events_sql(q, states, source="call")}
            SELECT (SELECT count(*) FROM call), {outbox_notify("call")}
        """
        try:
            inserted = await self.pool.fetchval(sql, *q.args)
        except asyncpg.UniqueViolationError as exc:
            raise CallInProgress(call.room_name) from exc
        if not inserted:
            raise TooManyCalls(call.org_id)
        return final

    async def recount_live_calls(self) -> None:
        """Reset every organization's live-call counter from the calls (after a crash)."""
        await self.pool.execute(
            """
            UPDATE org_live_calls o SET live = (
                SELECT count(*) FROM calls c
                 WHERE c.org_id = o.org_id AND c.status IN ('initiated', 'ringing', 'answered'))
            """
        )

    async def transition(self, call_id: str, status: CallStatus, **fields: Any) -> CallRow | None:
        """Move a call forward to `status` (with its event); None if it is already there or past."""
        while True:
            current = await self.get_call(call_id)
            if current is None:
                return None
            moved = await self._advance(current, status, fields)
            if not isinstance(moved, _Stale):
                return moved

    async def advance(self, call: CallRow, status: CallStatus, **fields: Any) -> CallRow | None:
        """`transition` from a row this process holds: one round trip when nothing else changed
        the call since (its `rev` still matches), `transition` otherwise."""
        moved = await self._advance(call, status, fields)
        if isinstance(moved, _Stale):
            return await self.transition(call.data.id, status, **fields)
        return moved

    async def _advance(
        self, call: CallRow, status: CallStatus, fields: dict[str, Any]
    ) -> CallRow | _Stale | None:
        """Write `call` moved to `status`, its event, its webhook and (when final) the freed slot
        in one statement, if the stored call is still at `call.rev`; `_STALE` if it is not."""
        if STATUS_RANK[call.data.status] >= STATUS_RANK[status]:
            return None  # statuses only move forward, so the stored call is there or past too
        now = utcnow()
        moved = advanced(call, status, fields, now)
        q = _Params()
        sets = [f"status = {q(status.value)}", f"updated_at = {q(now)}", "rev = rev + 1"]
        if (column := _TIMESTAMP_BY_STATUS.get(status)) and getattr(call.data, column) is None:
            sets.append(f"{column} = {q(getattr(moved.data, column))}")
        for name, value in fields.items():
            if value is not None:
                sets.append(f"{name} = {q(value)}")
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

    def _events_sql(self, q: _Params, states: list[CallRow], *, source: str) -> str:
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

    async def update_fields(self, call_id: str, **fields: Any) -> CallRow | None:
        """Set fields of a call without a state change (no event)."""
        sets, args = [], [call_id]
        for name, value in fields.items():
            if name not in _SETTABLE:
                raise ValueError(f"not a settable call field: {name}")
            args.append(value)
            sets.append(f"{name} = ${len(args)}")
        row = await self.pool.fetchrow(
            f"UPDATE calls SET {', '.join(sets)}, updated_at = now(), rev = rev + 1 "
            "WHERE id = $1 RETURNING *",
            *args,
        )
        return call_from_row(row) if row else None

    async def get_call(self, call_id: str, org_id: str | None = None) -> CallRow | None:
        """One call (within an organization when given)."""
        row = await self.pool.fetchrow("SELECT * FROM calls WHERE id = $1", call_id)
        if row is None or (org_id is not None and row["org_id"] != org_id):
            return None
        return call_from_row(row)

    async def live_calls(
        self, started_before: datetime, limit: int, after: tuple[datetime, str] | None = None
    ) -> list[CallRow]:
        """Calls still initiated, ringing or answered that started before a time, oldest first,
        after a position `(started_at, id)` of the previous page."""
        rows = await self.pool.fetch(
            """
            SELECT * FROM calls
             WHERE status IN ('initiated', 'ringing', 'answered') AND started_at < $1
               AND ($2::timestamptz IS NULL OR (started_at, id) > ($2, $3))
             ORDER BY started_at, id LIMIT $4
            """,
            started_before,
            after[0] if after else None,
            after[1] if after else "",
            limit,
        )
        return [call_from_row(r) for r in rows]

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
        direction: str | None,
        status: str | None,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> list[CallRow]:
        """The organization's calls, newest first, after a cursor position."""
        rows = await self.pool.fetch(
            """
            SELECT * FROM calls
             WHERE org_id = $1
               AND ($2::text IS NULL OR phone_number = $2 OR from_number = $2 OR to_number = $2)
               AND ($3::text IS NULL OR direction = $3)
               AND ($4::text IS NULL OR status = $4)
               AND ($5::timestamptz IS NULL OR (started_at, id) < ($5, $6))
             ORDER BY started_at DESC, id DESC
             LIMIT $7
            """,
            org_id,
            phone_number,
            direction,
            status,
            after[0] if after else None,
            after[1] if after else "",
            limit,
        )
        return [call_from_row(r) for r in rows]

    # --- idempotency ----------------------------------------------------------------------------

    async def claim_idempotency_key(
        self, org_id: str, key: str, request_hash: str
    ) -> tuple[str, int | None, Any]:
        """('new', None, None) when this request owns the key; otherwise what was stored:
        ('replay', status, body), ('in_progress', None, None) or ('mismatch', None, None)."""
        row = await self.pool.fetchrow(
            """
            INSERT INTO idempotency_keys (org_id, key, request_hash) VALUES ($1, $2, $3)
            ON CONFLICT (org_id, key) DO NOTHING RETURNING 1
            """,
            org_id,
            key,
            request_hash,
        )
        if row is not None:
            return "new", None, None
        stored = await self.pool.fetchrow(
            "SELECT request_hash, status_code, response FROM idempotency_keys "
            "WHERE org_id = $1 AND key = $2",
            org_id,
            key,
        )
        if stored is None:
            return "in_progress", None, None
        if stored["request_hash"] != request_hash:
            return "mismatch", None, None
        if stored["status_code"] is None:
            return "in_progress", None, None
        return "replay", stored["status_code"], stored["response"]

    async def finish_idempotency_key(
        self, org_id: str, key: str, status_code: int, body: Any
    ) -> None:
        """Store the response a key's retries get."""
        await self.pool.execute(
            "UPDATE idempotency_keys SET status_code = $3, response = $4 "
            "WHERE org_id = $1 AND key = $2",
            org_id,
            key,
            status_code,
            body,
        )

    async def release_idempotency_key(self, org_id: str, key: str) -> None:
        """Forget a key whose request ended without an answer worth replaying."""
        await self.pool.execute(
            "DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2 AND status_code IS NULL",
            org_id,
            key,
        )

    # --- LiveKit webhooks -----------------------------------------------------------------------

    async def first_time_webhook(self, event_id: str) -> bool:
        """True the first time a LiveKit webhook id is seen."""
        if not event_id:
            return True
        row = await self.pool.fetchval(
            "INSERT INTO livekit_webhook_events (id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1",
            event_id,
        )
        return row is not None

    # --- customer webhook queue -----------------------------------------------------------------

    async def claim_deliveries(self, limit: int, lease_s: float) -> list[Delivery]:
        """Due deliveries, leased to this worker for `lease_s` (one more attempt each)."""
        rows = await self.pool.fetch(
            """
            UPDATE webhook_deliveries d
               SET attempts = d.attempts + 1, next_attempt_at = now() + $2::interval
             WHERE d.id IN (
                   SELECT id FROM webhook_deliveries
                    WHERE state = 'pending' AND next_attempt_at <= now()
                    ORDER BY next_attempt_at, id
                    LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING d.id, d.event_id, d.url, d.payload, d.attempts, d.give_up_at
            """,
            limit,
            timedelta(seconds=lease_s),
        )
        return [
            Delivery(
                id=r["id"],
                event_id=r["event_id"],
                url=r["url"],
                payload=r["payload"],
                attempt=r["attempts"],
                give_up_at=r["give_up_at"],
            )
            for r in rows
        ]

    async def record_attempt(
        self,
        delivery: Delivery,
        *,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        outcome: str,
        retry_in_s: float | None,
    ) -> None:
        """Record one attempt and what happens next: delivered, retry later, or failed."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, "
                "duration_ms) VALUES ($1, $2, $3, $4, $5)",
                delivery.id,
                delivery.attempt,
                status_code,
                error,
                duration_ms,
            )
            if outcome == "delivered":
                await conn.execute(
                    "UPDATE webhook_deliveries SET state = 'delivered', delivered_at = now(), "
                    "last_error = NULL WHERE id = $1",
                    delivery.id,
                )
            elif outcome == "retry" and retry_in_s is not None:
                await conn.execute(
                    "UPDATE webhook_deliveries SET next_attempt_at = now() + $2::interval, "
                    "last_error = $3 WHERE id = $1",
                    delivery.id,
                    timedelta(seconds=retry_in_s),
                    error,
                )
            else:
                await conn.execute(
                    "UPDATE webhook_deliveries SET state = 'failed', last_error = $2 WHERE id = $1",
                    delivery.id,
                    error,
                )

    async def deliveries_for_call(self, call_id: str) -> Sequence[asyncpg.Record]:
        """A call's webhook deliveries with their attempt counts (for tests and operators)."""
        rows: list[asyncpg.Record] = await self.pool.fetch(
            "SELECT * FROM webhook_deliveries WHERE call_id = $1 ORDER BY id", call_id
        )
        return rows

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection."""
        async with self.pool.acquire() as conn:
            yield conn


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)
