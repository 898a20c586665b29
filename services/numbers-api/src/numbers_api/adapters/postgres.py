"""numbers-api's PostgreSQL adapter: agents, phone numbers and the outbox, one transaction at a time."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

import asyncpg
from pydantic import TypeAdapter

from numbers_api.domain import number_status
from talkifai_common.events import (
    AgentData,
    CloudEvent,
    LiveKitResources,
    PhoneNumberData,
    SyncState,
)
from talkifai_common.internal_api import InternalPhoneNumber
from talkifai_common.outbox import outbox_columns, outbox_insert, outbox_notify, write_event
from talkifai_common.voice import Architecture

_NUMBER_VIEW = """
SELECT p.*,
       ia.name AS inbound_agent_name, ia.architecture AS inbound_agent_architecture,
       oa.name AS outbound_agent_name, oa.architecture AS outbound_agent_architecture
FROM phone_numbers p
LEFT JOIN agents ia ON ia.id = p.inbound_agent_id
LEFT JOIN agents oa ON oa.id = p.outbound_agent_id
"""

# One expression keeps search_text right wherever a number or an agent's name changes.
_SEARCH_TEXT = (
    "lower({number} || ' ' || coalesce({inbound}, '') || ' ' || coalesce({outbound}, ''))"
)
_REFRESH_SEARCH_TEXT = (
    "UPDATE phone_numbers p SET search_text = "
    + _SEARCH_TEXT.format(number="p.phone_number", inbound="ia.name", outbound="oa.name")
    + """
FROM phone_numbers p2
LEFT JOIN agents ia ON ia.id = p2.inbound_agent_id
LEFT JOIN agents oa ON oa.id = p2.outbound_agent_id
WHERE p.id = p2.id AND {where}
"""
)


_CURSOR_PREFIX = "c1:"


class SyncRecorded(StrEnum):
    """What became of a sync result."""

    APPLIED = "applied"
    STALE = "stale"  # about an older version, or would undo a `synced` of the same one
    UNKNOWN_NUMBER = "unknown_number"  # the number was deleted since


def encode_cursor(value: str) -> str:
    """An opaque cursor for the last key of a page."""
    return base64.urlsafe_b64encode((_CURSOR_PREFIX + value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key a cursor stands for; ValueError if it was not made by encode_cursor."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        text = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("malformed cursor") from exc
    if not text.startswith(_CURSOR_PREFIX):
        raise ValueError("malformed cursor")
    return text.removeprefix(_CURSOR_PREFIX)


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so user input matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def agent_from_row(row: asyncpg.Record) -> AgentData:
    """The public agent from its row."""
    config: dict[str, Any] = row["config"]
    return AgentData(
        id=row["id"],
        name=row["name"],
        architecture=Architecture(row["architecture"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        **config,
    )


def _number_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """The public fields of a `_NUMBER_VIEW` row (no secret leaves this function)."""

    def ref(side: str) -> dict[str, Any] | None:
        agent_id = row[f"{side}_agent_id"]
        if agent_id is None:
            return None
        return {
            "id": agent_id,
            "name": row[f"{side}_agent_name"],
            "architecture": row[f"{side}_agent_architecture"],
        }

    has_password = row["sip_password_ciphertext"] is not None
    return {
        "id": row["id"],
        "phone_number": row["phone_number"],
        "termination_uri": row["termination_uri"],
        "sip_username": row["sip_username"],
        "has_sip_password": has_password,
        "inbound_agent": ref("inbound"),
        "outbound_agent": ref("outbound"),
        "webhook_url": row["webhook_url"],
        "recording_mode": row["recording_mode"],
        "sip_transport": row["sip_transport"],
        "media_encryption": row["media_encryption"],
        "status": number_status(
            termination_uri=row["termination_uri"],
            inbound_agent_id=row["inbound_agent_id"],
            outbound_agent_id=row["outbound_agent_id"],
            sip_username=row["sip_username"],
            has_sip_password=has_password,
        ),
        "sync": {
            "state": row["sync_state"],
            "error": row["sync_error"],
            "synced_at": row["synced_at"],
        },
        "version": row["version"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


_NUMBERS = TypeAdapter(list[PhoneNumberData])


def number_from_row(row: Mapping[str, Any]) -> PhoneNumberData:
    """The public phone number from a `_NUMBER_VIEW` row."""
    return PhoneNumberData.model_validate(_number_dict(row))


def numbers_from_rows(rows: Sequence[asyncpg.Record]) -> list[PhoneNumberData]:
    """Many numbers, validated in one pass (list pages are the hot path)."""
    return _NUMBERS.validate_python([_number_dict(row) for row in rows])


def internal_from_row(row: Mapping[str, Any]) -> InternalPhoneNumber:
    """The internal representation of a `_NUMBER_VIEW` row: with the organization and the
    LiveKit resources of the last sync."""
    return InternalPhoneNumber(
        **_number_dict(row),
        org_id=row["org_id"],
        livekit=LiveKitResources(
            inbound_trunk_id=row["inbound_trunk_id"],
            outbound_trunk_id=row["outbound_trunk_id"],
            dispatch_rule_id=row["dispatch_rule_id"],
        ),
    )


_NUMBER_COLUMNS = (
    "id",
    "org_id",
    "phone_number",
    "termination_uri",
    "sip_username",
    "sip_password_ciphertext",
    "webhook_url",
    "recording_mode",
    "sip_transport",
    "media_encryption",
    "sync_state",
    "sync_error",
    "synced_at",
    "version",
    "created_at",
    "updated_at",
)


def new_number_row(
    org_id: str, number_id: str, fields: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The row a new number is stored as, shaped like a `_NUMBER_VIEW` row: the public number is
    `number_from_row` of it before it is written (a new number has no agents)."""
    unknown = set(fields) - set(_NUMBER_COLUMNS)
    if unknown:
        raise ValueError(f"not columns of a new number: {sorted(unknown)}")
    return {
        "id": number_id,
        "org_id": org_id,
        "termination_uri": None,
        "sip_username": None,
        "sip_password_ciphertext": None,
        "webhook_url": None,
        **fields,
        "sync_state": SyncState.PENDING.value,
        "sync_error": None,
        "synced_at": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **_NO_AGENTS,
    }


_NO_AGENTS = {
    f"{side}_agent_{what}": None
    for side in ("inbound", "outbound")
    for what in ("id", "name", "architecture")
}


class Store:
    """Opens transactions on the pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A unit of work: every change and its events commit together or not at all."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield Tx(conn)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Tx]:
        """Statements outside a transaction block: reads, or one change that is atomic alone."""
        async with self.pool.acquire() as conn:
            yield Tx(conn)


class Tx:
    """Queries and changes on one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def emit(self, event: CloudEvent[Any]) -> None:
        """Write an event to the outbox in this transaction."""
        await write_event(self.conn, event)

    # --- agents -----------------------------------------------------------------------------

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
            agent.architecture.value,
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
            agent.architecture.value,
            _agent_config(agent),
        )
        assert row is not None
        await self.conn.execute(
            _REFRESH_SEARCH_TEXT.format(
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

    # --- phone numbers ----------------------------------------------------------------------

    async def get_number(self, org_id: str, number_id: str) -> PhoneNumberData | None:
        """One number of the organization."""
        row = await self.conn.fetchrow(
            _NUMBER_VIEW + "WHERE p.org_id = $1 AND p.id = $2", org_id, number_id
        )
        return number_from_row(row) if row else None

    async def find_number_id(
        self, org_id: str, phone_number: str, *, lock: bool = False
    ) -> str | None:
        """The id of an E.164 number in the organization."""
        value: str | None = await self.conn.fetchval(
            "SELECT id FROM phone_numbers WHERE org_id = $1 AND phone_number = $2"
            + (" FOR UPDATE" if lock else ""),
            org_id,
            phone_number,
        )
        return value

    async def lock_number(self, org_id: str, number_id: str) -> asyncpg.Record | None:
        """The raw row, locked for update (the only place the ciphertext is read)."""
        row: asyncpg.Record | None = await self.conn.fetchrow(
            "SELECT * FROM phone_numbers WHERE org_id = $1 AND id = $2 FOR UPDATE",
            org_id,
            number_id,
        )
        return row

    async def list_numbers(
        self, org_id: str, search: str | None, limit: int, after: str | None
    ) -> list[PhoneNumberData]:
        """Numbers in E.164 order; `search` is a case-insensitive substring of number or agent names."""
        pattern = f"%{escape_like(search.lower())}%" if search else None
        rows = await self.conn.fetch(
            _NUMBER_VIEW
            + """
            WHERE p.org_id = $1
              AND ($2::text IS NULL OR p.search_text LIKE $2)
              AND ($3::text IS NULL OR p.phone_number > $3)
            ORDER BY p.phone_number LIMIT $4
            """,
            org_id,
            pattern,
            after,
            limit,
        )
        return numbers_from_rows(rows)

    async def insert_number(self, row: dict[str, Any], event: CloudEvent[Any]) -> None:
        """Store a new number (a `new_number_row`) with its event and wake the relays: one
        statement, so no transaction block (unique violation when the number exists anywhere)."""
        # Every column, always in this order: one statement text, prepared once per connection.
        columns = _NUMBER_COLUMNS
        values = [f"${i}" for i in range(1, len(columns) + 1)]
        search_text = _SEARCH_TEXT.format(
            number=values[columns.index("phone_number")], inbound="NULL", outbound="NULL"
        )
        first_event_param = len(columns) + 1
        await self.conn.execute(
            f"""
            WITH created AS (
                INSERT INTO phone_numbers ({", ".join(columns)}, search_text)
                VALUES ({", ".join(values)}, {search_text})
                RETURNING 1),
            events AS ({outbox_insert(first_event_param, source="created")})
            SELECT {outbox_notify("created")}
            """,
            *(row[c] for c in columns),
            *outbox_columns([event]),
        )

    async def update_number(self, number_id: str, fields: dict[str, Any]) -> None:
        """Change fields, bump the version, reset sync to pending and refresh search text."""
        assignments = [f"{column} = ${i}" for i, column in enumerate(fields, start=2)]
        assignments += [
            "version = version + 1",
            "updated_at = now()",
            "sync_state = 'pending'",
            "sync_error = NULL",
        ]
        await self.conn.execute(
            f"UPDATE phone_numbers SET {', '.join(assignments)} WHERE id = $1",
            number_id,
            *fields.values(),
        )
        await self.conn.execute(_REFRESH_SEARCH_TEXT.format(where="p2.id = $1"), number_id)

    async def delete_number(self, number_id: str) -> None:
        """Remove a number."""
        await self.conn.execute("DELETE FROM phone_numbers WHERE id = $1", number_id)

    async def record_sync(
        self,
        number_id: str,
        version: int,
        state: SyncState,
        error: str | None,
        at: datetime,
        resources: LiveKitResources,
    ) -> SyncRecorded:
        """Record trunk-sync's result unless it would move the sync state backwards.

        A result applies only to the number's current version, and never undoes a `synced` of
        that version: a `sync_failed` then, or a `synced` older than the one recorded, is a stale
        redelivery (results of one version arrive on separate subjects, in any order). A success
        names the number's LiveKit resources; a failure keeps the last good ones where it names none.
        """
        synced = state is SyncState.SYNCED
        row = await self.conn.fetchrow(
            """
            WITH existing AS (SELECT 1 FROM phone_numbers WHERE id = $1),
            recorded AS (
                UPDATE phone_numbers SET sync_state = $3, sync_error = $4, synced_at = $5,
                    inbound_trunk_id = CASE WHEN $9 THEN $6
                        ELSE COALESCE($6, inbound_trunk_id) END,
                    outbound_trunk_id = CASE WHEN $9 THEN $7
                        ELSE COALESCE($7, outbound_trunk_id) END,
                    dispatch_rule_id = CASE WHEN $9 THEN $8
                        ELSE COALESCE($8, dispatch_rule_id) END
                WHERE id = $1 AND version = $2
                  AND NOT (sync_state = 'synced' AND (NOT $9 OR COALESCE(synced_at > $5, false)))
                RETURNING 1
            )
            SELECT EXISTS (SELECT 1 FROM recorded) AS recorded,
                   EXISTS (SELECT 1 FROM existing) AS known
            """,
            number_id,
            version,
            state.value,
            error,
            at if synced else None,
            resources.inbound_trunk_id,
            resources.outbound_trunk_id,
            resources.dispatch_rule_id,
            synced,
        )
        assert row is not None
        if row["recorded"]:
            return SyncRecorded.APPLIED
        return SyncRecorded.STALE if row["known"] else SyncRecorded.UNKNOWN_NUMBER

    async def ciphertexts(self, after: str | None, limit: int) -> Sequence[asyncpg.Record]:
        """Stored SIP password ciphertexts in id order, for key rotation."""
        rows: Sequence[asyncpg.Record] = await self.conn.fetch(
            """
            SELECT id, sip_password_ciphertext FROM phone_numbers
            WHERE sip_password_ciphertext IS NOT NULL AND ($1::text IS NULL OR id > $1)
            ORDER BY id LIMIT $2 FOR UPDATE
            """,
            after,
            limit,
        )
        return rows

    async def set_ciphertext(self, number_id: str, ciphertext: str) -> None:
        """Replace a ciphertext (same plaintext, newer key): no version bump, no event."""
        await self.conn.execute(
            "UPDATE phone_numbers SET sip_password_ciphertext = $2 WHERE id = $1",
            number_id,
            ciphertext,
        )

    async def all_numbers(self, after: str | None, limit: int) -> list[InternalPhoneNumber]:
        """Every organization's numbers in id order (internal reconcile and read models)."""
        rows = await self.conn.fetch(
            _NUMBER_VIEW + "WHERE ($1::text IS NULL OR p.id > $1) ORDER BY p.id LIMIT $2",
            after,
            limit,
        )
        return [internal_from_row(r) for r in rows]

    async def number_with_org(self, number_id: str) -> InternalPhoneNumber | None:
        """Internal: one number of any organization."""
        row = await self.number_view(number_id)
        return internal_from_row(row) if row else None

    async def number_view(self, number_id: str) -> asyncpg.Record | None:
        """Internal: a number's row with its agents' names, by id across organizations."""
        row: asyncpg.Record | None = await self.conn.fetchrow(
            _NUMBER_VIEW + "WHERE p.id = $1", number_id
        )
        return row

    async def number_views(self, number_ids: list[str]) -> list[asyncpg.Record]:
        """Internal: the rows of those numbers that exist, like `number_view`."""
        rows: list[asyncpg.Record] = await self.conn.fetch(
            _NUMBER_VIEW + "WHERE p.id = ANY($1::text[])", number_ids
        )
        return rows

    async def agent_with_org(self, agent_id: str) -> tuple[str, AgentData] | None:
        """Internal: one agent of any organization, with that organization."""
        row = await self.conn.fetchrow("SELECT * FROM agents WHERE id = $1", agent_id)
        return (row["org_id"], agent_from_row(row)) if row else None

    async def number_org(self, number_id: str) -> asyncpg.Record | None:
        """Internal: a number's raw row by id across organizations."""
        row: asyncpg.Record | None = await self.conn.fetchrow(
            "SELECT * FROM phone_numbers WHERE id = $1", number_id
        )
        return row


def _agent_config(agent: AgentData) -> dict[str, Any]:
    return agent.model_dump(
        mode="json",
        include={"instructions", "greeting", "language", "stt", "llm", "tts", "realtime"},
    )
