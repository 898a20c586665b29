"""Phone number queries: an organization's numbers, written with their events."""

from __future__ import annotations

from typing import Any

import asyncpg

from numbers_api.adapters.postgres.rows import (
    NUMBER_COLUMNS,
    NUMBER_VIEW,
    REFRESH_SEARCH_TEXT,
    SEARCH_TEXT,
    escape_like,
    number_from_row,
    numbers_from_rows,
)
from numbers_api.domain import PhoneNumberChanges
from numbers_api.errors import AlreadyRegistered
from talkifai_common.events import CloudEvent, PhoneNumberData
from talkifai_common.outbox import outbox_columns, outbox_insert, outbox_notify


class PhoneNumberQueries:
    """Queries and changes of phone numbers on `conn`."""

    conn: asyncpg.Connection

    async def get_number(self, org_id: str, number_id: str) -> PhoneNumberData | None:
        """One number of the organization."""
        row = await self.conn.fetchrow(
            NUMBER_VIEW + "WHERE p.org_id = $1 AND p.id = $2", org_id, number_id
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
            NUMBER_VIEW
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
        statement, so no transaction block. AlreadyRegistered when any organization has it."""
        # Every column, always in this order: one statement text, prepared once per connection.
        columns = NUMBER_COLUMNS
        values = [f"${i}" for i in range(1, len(columns) + 1)]
        search_text = SEARCH_TEXT.format(
            number=values[columns.index("phone_number")], inbound="NULL", outbound="NULL"
        )
        first_event_param = len(columns) + 1
        try:
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
        except asyncpg.UniqueViolationError as exc:
            raise AlreadyRegistered(row["phone_number"]) from exc

    async def update_number(self, number_id: str, changes: PhoneNumberChanges) -> None:
        """Apply the changes, bump the version, reset sync to pending and refresh search text;
        AlreadyRegistered when the new E.164 number is taken."""
        fields = changes.columns()
        assignments = [f"{column} = ${i}" for i, column in enumerate(fields, start=2)]
        assignments += [
            "version = version + 1",
            "updated_at = now()",
            "sync_state = 'pending'",
            "sync_error = NULL",
        ]
        try:
            await self.conn.execute(
                f"UPDATE phone_numbers SET {', '.join(assignments)} WHERE id = $1",
                number_id,
                *fields.values(),
            )
        except asyncpg.UniqueViolationError as exc:
            raise AlreadyRegistered(str(changes.phone_number)) from exc
        await self.conn.execute(REFRESH_SEARCH_TEXT.format(where="p2.id = $1"), number_id)

    async def delete_number(self, number_id: str) -> None:
        """Remove a number."""
        await self.conn.execute("DELETE FROM phone_numbers WHERE id = $1", number_id)
