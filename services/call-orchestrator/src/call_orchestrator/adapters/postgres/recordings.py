"""Call recordings: started (pending), stored or failed from LiveKit's egress result, deleted by
a user or the retention pass; each organization's retention period.

A recording lives on its call's row (`recording_*` columns). Its status only moves
pending -> available | failed, and available -> deleted; each move is one guarded UPDATE, and a
failure or deletion writes its event through the outbox in the same transaction. A deletion holds
the call's row lock while the object is removed from storage (a user's request and the retention
pass never delete the same recording twice; the pass skips rows a request holds), and nothing is
marked deleted unless the storage removed it. A recording egress could not upload and kept in
its backup storage stays pending (`kept_in_backup`, with its `recording_upload_failed` event)
until an upload from there succeeds (`claim_uploads`, then `uploaded` or `upload_failed`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from call_orchestrator.adapters.postgres.call_rows import CallRow, call_from_row
from call_orchestrator.adapters.postgres.calls import SOURCE
from call_orchestrator.adapters.postgres.sql import utcnow
from talkifai_common.events import (
    CallData,
    CallRecording,
    CallRecordingData,
    CloudEvent,
    EventName,
    RecordingDeletedBy,
    RecordingStatus,
    new_event,
)
from talkifai_common.outbox import write_event


@dataclass(frozen=True)
class StoredObject:
    """Where a recording's file is: an object in a bucket, or a path the egress wrote."""

    storage: str
    """`s3` or `file`."""
    bucket: str | None
    key: str


@dataclass(frozen=True)
class KeptRecording:
    """A recording egress kept in its backup storage, to be uploaded to its bucket and key."""

    call_id: str
    bucket: str | None
    key: str
    backup_location: str
    attempts: int


@dataclass(frozen=True)
class Retention:
    """An organization's retention period, as it set it."""

    days: int
    updated_at: datetime
    updated_by: str


Remove = Callable[[StoredObject], Awaitable[None]]


def stored_object(row: asyncpg.Record) -> StoredObject | None:
    """The file of an available recording."""
    if row["recording_storage"] is None or row["recording_key"] is None:
        return None
    return StoredObject(
        storage=row["recording_storage"], bucket=row["recording_bucket"], key=row["recording_key"]
    )


class RecordingStore:
    """Recordings on the calls, and the organizations' retention periods."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def started(
        self, call_id: str, egress_id: str, *, storage: str, bucket: str | None
    ) -> CallRow | None:
        """The call's egress started: its recording is pending."""
        row = await self.pool.fetchrow(
            """
            UPDATE calls SET recording_egress_id = $2, recording_status = 'pending',
                   recording_storage = $3, recording_bucket = $4,
                   updated_at = now(), rev = rev + 1
             WHERE id = $1 RETURNING *
            """,
            call_id,
            egress_id,
            storage,
            bucket,
        )
        return call_from_row(row) if row else None

    async def call_for_egress(self, egress_id: str) -> CallRow | None:
        """The call an egress records."""
        row = await self.pool.fetchrow(
            "SELECT * FROM calls WHERE recording_egress_id = $1", egress_id
        )
        return call_from_row(row) if row else None

    async def stored(
        self,
        egress_id: str,
        *,
        filename: str,
        location: str,
        size_bytes: int,
        duration_s: float,
    ) -> CallRow | None:
        """Egress stored the file: the pending recording is available; None if it was not
        pending (a webhook delivered again). An uploaded object is known by its key (egress's
        `filename`, the request's file path), a local file by its `location`."""
        row = await self.pool.fetchrow(
            """
            UPDATE calls SET recording_status = 'available',
                   recording_key = CASE WHEN recording_storage = 's3' THEN $2 ELSE $3 END,
                   recording_location = $3, recording_size_bytes = $4, recording_duration_s = $5,
                   recording_stored_at = now(), updated_at = now(), rev = rev + 1
             WHERE recording_egress_id = $1 AND recording_status = 'pending' RETURNING *
            """,
            egress_id,
            filename,
            location,
            size_bytes,
            duration_s,
        )
        return call_from_row(row) if row else None

    async def kept_in_backup(
        self,
        egress_id: str,
        *,
        filename: str,
        location: str,
        size_bytes: int,
        duration_s: float,
        error: str,
    ) -> CallRow | None:
        """Egress could not upload the file and wrote it to its backup storage (`location`): the
        recording stays pending, due for an upload to the bucket under its key (`filename`),
        with its `telephony.call.recording_upload_failed` event; None if it was not pending or
        is already kept."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """
                UPDATE calls SET recording_key = $2, recording_backup_location = $3,
                       recording_size_bytes = $4, recording_duration_s = $5, recording_error = $6,
                       recording_next_upload_at = now(), updated_at = now(), rev = rev + 1
                 WHERE recording_egress_id = $1 AND recording_status = 'pending'
                   AND recording_backup_location IS NULL
                RETURNING *
                """,
                egress_id,
                filename,
                location,
                size_bytes,
                duration_s,
                error,
            )
            if row is None:
                return None
            call = call_from_row(row)
            await write_event(conn, _event(EventName.CALL_RECORDING_UPLOAD_FAILED, call))
            return call

    async def claim_uploads(self, limit: int, lease_s: float) -> list[KeptRecording]:
        """Up to `limit` kept recordings due for an upload, oldest due first, each held for
        `lease_s` (another replica's pass skips it meanwhile; a pass that dies leaves it due
        again once the lease runs out)."""
        rows = await self.pool.fetch(
            """
            UPDATE calls SET recording_next_upload_at = now() + make_interval(secs => $2)
             WHERE id IN (
                   SELECT id FROM calls
                    WHERE recording_status = 'pending' AND recording_backup_location IS NOT NULL
                      AND recording_next_upload_at <= now()
                    ORDER BY recording_next_upload_at
                    LIMIT $1
                      FOR UPDATE SKIP LOCKED)
            RETURNING id, recording_bucket, recording_key, recording_backup_location,
                      recording_upload_attempts
            """,
            limit,
            lease_s,
        )
        return [
            KeptRecording(
                call_id=row["id"],
                bucket=row["recording_bucket"],
                key=row["recording_key"],
                backup_location=row["recording_backup_location"],
                attempts=row["recording_upload_attempts"],
            )
            for row in rows
        ]

    async def uploaded(self, call_id: str, location: str) -> CallRow | None:
        """The kept recording is in the bucket now: available; None if it was not kept."""
        row = await self.pool.fetchrow(
            """
            UPDATE calls SET recording_status = 'available', recording_location = $2,
                   recording_backup_location = NULL, recording_next_upload_at = NULL,
                   recording_upload_attempts = recording_upload_attempts + 1,
                   recording_error = NULL, recording_stored_at = now(),
                   updated_at = now(), rev = rev + 1
             WHERE id = $1 AND recording_status = 'pending'
               AND recording_backup_location IS NOT NULL
            RETURNING *
            """,
            call_id,
            location,
        )
        return call_from_row(row) if row else None

    async def upload_failed(self, call_id: str, error: str, retry_in_s: float) -> None:
        """An upload of the kept recording failed: try again in `retry_in_s`."""
        await self.pool.execute(
            """
            UPDATE calls SET recording_error = $2,
                   recording_upload_attempts = recording_upload_attempts + 1,
                   recording_next_upload_at = now() + make_interval(secs => $3),
                   updated_at = now(), rev = rev + 1
             WHERE id = $1 AND recording_status = 'pending'
               AND recording_backup_location IS NOT NULL
            """,
            call_id,
            error,
            retry_in_s,
        )

    async def file_of(
        self, call_id: str, org_id: str
    ) -> tuple[CallData, StoredObject | None] | None:
        """The organization's call and the file of its recording when it is available."""
        row = await self.pool.fetchrow(
            "SELECT * FROM calls WHERE id = $1 AND org_id = $2", call_id, org_id
        )
        if row is None:
            return None
        available = row["recording_status"] == RecordingStatus.AVAILABLE.value
        return call_from_row(row).data, stored_object(row) if available else None

    async def failed(self, egress_id: str, error: str) -> CallRow | None:
        """Egress failed: the pending recording is failed, with its
        `telephony.call.recording_failed` event; None if it was not pending."""
        return await self._fail("recording_egress_id = $1", egress_id, error)

    async def backup_lost(self, call_id: str, error: str) -> CallRow | None:
        """The file a kept recording was to be uploaded from is gone: failed, with its
        `telephony.call.recording_failed` event; None if it was not kept."""
        return await self._fail("id = $1 AND recording_backup_location IS NOT NULL", call_id, error)

    async def _fail(self, where: str, key: str, error: str) -> CallRow | None:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"""
                UPDATE calls SET recording_status = 'failed', recording_error = $2,
                       recording_next_upload_at = NULL, updated_at = now(), rev = rev + 1
                 WHERE {where} AND recording_status = 'pending' RETURNING *
                """,  # `where` is one of the two constants above
                key,
                error,
            )
            if row is None:
                return None
            call = call_from_row(row)
            await write_event(conn, _event(EventName.CALL_RECORDING_FAILED, call))
            return call

    async def delete(
        self, call_id: str, remove: Remove, *, user: str
    ) -> tuple[CallRow | None, RecordingStatus | None]:
        """A user deletes the call's available recording: `remove` deletes the file, then it is
        marked deleted with its event. The call as it is now (None: no such call) and the status
        the recording had (None: none was ever started); nothing changes unless it was
        available, and nothing at all if `remove` raises."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow("SELECT * FROM calls WHERE id = $1 FOR UPDATE", call_id)
            if row is None:
                return None, None
            status = row["recording_status"]
            if status != RecordingStatus.AVAILABLE.value:
                return call_from_row(row), RecordingStatus(status) if status else None
            deleted = await _delete_locked(conn, row, remove, RecordingDeletedBy.USER, user)
            return deleted, RecordingStatus.AVAILABLE

    async def delete_expired(self, default_days: int, remove: Remove, *, limit: int) -> int:
        """Delete up to `limit` recordings older than their organization's retention period
        (its own, else `default_days`; 0 keeps them), each with its event; rows another
        deletion holds are skipped. How many were deleted; `remove` raising stops the batch
        and leaves all of it as it was."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """
                SELECT c.* FROM calls c
                  LEFT JOIN recording_retention r ON r.org_id = c.org_id
                 WHERE c.recording_status = 'available'
                   AND COALESCE(r.days, $1) > 0
                   AND c.recording_stored_at
                       < now() - make_interval(days => COALESCE(r.days, $1))
                 ORDER BY c.recording_stored_at
                 LIMIT $2
                   FOR UPDATE OF c SKIP LOCKED
                """,
                default_days,
                limit,
            )
            for row in rows:
                await _delete_locked(conn, row, remove, RecordingDeletedBy.RETENTION, None)
            return len(rows)

    async def retention(self, org_id: str) -> Retention | None:
        """The organization's own retention period, if it set one."""
        row = await self.pool.fetchrow(
            "SELECT days, updated_at, updated_by FROM recording_retention WHERE org_id = $1",
            org_id,
        )
        if row is None:
            return None
        return Retention(
            days=row["days"], updated_at=row["updated_at"], updated_by=row["updated_by"]
        )

    async def set_retention(self, org_id: str, days: int, by: str) -> Retention:
        """Set the organization's retention period."""
        row = await self.pool.fetchrow(
            """
            INSERT INTO recording_retention (org_id, days, updated_at, updated_by)
            VALUES ($1, $2, now(), $3)
            ON CONFLICT (org_id) DO UPDATE
               SET days = EXCLUDED.days, updated_at = now(), updated_by = EXCLUDED.updated_by
            RETURNING days, updated_at, updated_by
            """,
            org_id,
            days,
            by,
        )
        return Retention(
            days=row["days"], updated_at=row["updated_at"], updated_by=row["updated_by"]
        )


async def _delete_locked(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    remove: Remove,
    deleted_by: RecordingDeletedBy,
    user: str | None,
) -> CallRow:
    """Remove the file of a locked, available recording, then mark it deleted with its event."""
    target = stored_object(row)
    if target is not None:
        await remove(target)
    updated = await conn.fetchrow(
        """
        UPDATE calls SET recording_status = 'deleted', recording_deleted_at = $2,
               updated_at = now(), rev = rev + 1
         WHERE id = $1 RETURNING *
        """,
        row["id"],
        utcnow(),
    )
    call = call_from_row(updated)
    await write_event(
        conn, _event(EventName.CALL_RECORDING_DELETED, call, deleted_by=deleted_by, user=user)
    )
    return call


def _event(
    name: EventName,
    call: CallRow,
    *,
    deleted_by: RecordingDeletedBy | None = None,
    user: str | None = None,
) -> CloudEvent[CallRecordingData]:
    recording = call.data.recording or CallRecording(status=RecordingStatus.FAILED)
    return new_event(
        name,
        source=SOURCE,
        subject=call.data.id,
        orgid=call.org_id,
        data=CallRecordingData(
            call_id=call.data.id,
            org_id=call.org_id,
            phone_number_id=call.data.phone_number_id,
            phone_number=call.data.phone_number,
            recording_egress_id=call.data.recording_egress_id,
            recording=recording,
            deleted_by=deleted_by,
            deleted_by_user=user,
        ),
    )
