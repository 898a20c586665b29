"""A call's recording after its egress: stored, failed, or kept in egress's backup storage
because its upload failed (LiveKit's `egress_ended` webhook; recording_uploads.py uploads those
again), fetched and deleted by users, deleted when the organization's retention period has passed.

Object storage that is down never loses anything: a fetch or a deletion that it does not complete
is a 503 (`RecordingStorageUnavailable`) and the recording stays as it was; the retention pass
tries again at its next run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog
from livekit.protocol.egress import EgressInfo, EgressStatus

from call_orchestrator.adapters.postgres import StoredObject
from call_orchestrator.adapters.recording_storage import ObjectMissing, StorageUnavailable
from call_orchestrator.handlers.context import JITTER, Context
from call_orchestrator.schemas import RecordingRetention
from talkifai_common.auth import Principal
from talkifai_common.errors import Conflict, NotFound, TalkifaiError
from talkifai_common.events import CallData, RecordingStatus
from talkifai_common.periodic import repeat

log = structlog.get_logger(__name__)
RETENTION_BATCH = 50
# LIMIT_REACHED egress stopped at its time limit but still wrote (and uploaded) its file.
_WRITTEN = (EgressStatus.EGRESS_COMPLETE, EgressStatus.EGRESS_LIMIT_REACHED)
_ENDED = (*_WRITTEN, EgressStatus.EGRESS_FAILED, EgressStatus.EGRESS_ABORTED)
KEPT_IN_BACKUP = (
    "Egress could not upload the recording to object storage and kept it in its backup storage; "
    "it is being uploaded again"
)


class RecordingStorageUnavailable(TalkifaiError):
    """Object storage did not serve or delete the recording; nothing changed, try again."""

    status_code = 503
    title = "Service unavailable"
    retryable = True

    def __init__(self) -> None:
        super().__init__("The recording storage is unavailable; try again shortly")


@dataclass(frozen=True)
class Download:
    """How a recording is handed out: a redirect to a presigned URL, or its bytes."""

    url: str | None
    chunks: AsyncIterator[bytes] | None
    filename: str


async def on_egress_ended(ctx: Context, info: EgressInfo) -> str:
    """Record the egress's result on its call: available with location, size and duration, or
    failed with egress's error (and `telephony.call.recording_failed`)."""
    if info.status not in _ENDED:
        return "ignored"
    call = await ctx.stores.recordings.call_for_egress(info.egress_id)
    if call is None:
        return "ignored"
    results = list(info.file_results) or ([info.file] if info.HasField("file") else [])
    written = next((r for r in results if r.location), None)
    if info.status in _WRITTEN and written is not None and info.backup_storage_used:
        kept = await ctx.stores.recordings.kept_in_backup(
            info.egress_id,
            filename=written.filename,
            location=written.location,
            size_bytes=written.size,
            duration_s=round(written.duration / 1e9, 3),
            error=KEPT_IN_BACKUP,
        )
        log.warning("recording.kept_in_backup", call_id=call.data.id, done=bool(kept))
        return "recording_kept_in_backup" if kept else "duplicate"
    if info.status in _WRITTEN and written is not None:
        stored = await ctx.stores.recordings.stored(
            info.egress_id,
            filename=written.filename,
            location=written.location,
            size_bytes=written.size,
            duration_s=round(written.duration / 1e9, 3),
        )
        log.info("recording.stored", call_id=call.data.id, size=written.size, done=bool(stored))
        return "recording_stored" if stored else "duplicate"
    error = info.error or f"egress ended without a file ({EgressStatus.Name(info.status)})"
    failed = await ctx.stores.recordings.failed(info.egress_id, error)
    log.warning("recording.failed", call_id=call.data.id, error=error, done=bool(failed))
    return "recording_failed" if failed else "duplicate"


async def download(ctx: Context, principal: Principal, call_id: str) -> Download:
    """The call's available recording, for any role of its organization."""
    found = await ctx.stores.recordings.file_of(call_id, principal.org_id)
    if found is None:
        raise NotFound(f"Call {call_id} not found")
    call, target = found
    if target is None or call.recording is None:
        raise NotFound(_no_recording(call))
    try:
        url = await ctx.recording_files.download_url(target)
        if url is not None:
            return Download(url=url, chunks=None, filename=_filename(call, target))
        chunks = ctx.recording_files.stream(target)
        first = await anext(chunks, b"")
    except ObjectMissing as exc:
        log.error("recording.file_missing", call_id=call_id)
        raise NotFound(f"The recording of call {call_id} is missing from storage") from exc
    except StorageUnavailable as exc:
        raise RecordingStorageUnavailable() from exc
    return Download(url=None, chunks=_prepend(first, chunks), filename=_filename(call, target))


async def delete(ctx: Context, principal: Principal, call_id: str) -> CallData:
    """Delete the call's recording (owners and admins): the file, then its record, with
    `telephony.call.recording_deleted`; the call as it now is."""
    principal.require_manager()
    mine = await ctx.stores.calls.get_call(call_id, principal.org_id)
    if mine is None:
        raise NotFound(f"Call {call_id} not found")
    try:
        call, before = await ctx.stores.recordings.delete(
            call_id, ctx.recording_files.remove, user=principal.sub
        )
    except StorageUnavailable as exc:
        raise RecordingStorageUnavailable() from exc
    assert call is not None  # calls are never deleted
    if before is None or before is RecordingStatus.DELETED:
        raise NotFound(_no_recording(call.data))
    if before is not RecordingStatus.AVAILABLE:
        raise Conflict(
            f"The recording of call {call_id} is {before.value}; only an available recording "
            "can be deleted"
        )
    log.info("recording.deleted", call_id=call_id, by=principal.sub)
    return call.data


async def delete_expired_recordings(ctx: Context) -> int:
    """Delete every recording past its organization's retention period; how many."""
    total = 0
    while True:
        deleted = await ctx.stores.recordings.delete_expired(
            ctx.settings.recording_retention_days,
            ctx.recording_files.remove,
            limit=RETENTION_BATCH,
        )
        total += deleted
        if deleted < RETENTION_BATCH:
            return total


async def delete_expired_recordings_periodically(ctx: Context) -> None:
    """`delete_expired_recordings` every RECORDING_RETENTION_INTERVAL_S until cancelled (a run
    that object storage fails is tried again with backoff)."""

    async def run() -> None:
        if deleted := await delete_expired_recordings(ctx):
            log.info("recordings.expired_deleted", recordings=deleted)

    await repeat(
        run,
        ctx.settings.recording_retention_interval_s,
        failure_event="recordings.retention_failed",
        jitter=JITTER,
    )


async def retention(ctx: Context, principal: Principal) -> RecordingRetention:
    """The organization's retention period (its own, else the service's default)."""
    own = await ctx.stores.recordings.retention(principal.org_id)
    default = ctx.settings.recording_retention_days
    if own is None:
        return RecordingRetention(days=default, default_days=default, is_default=True)
    return RecordingRetention(
        days=own.days,
        default_days=default,
        is_default=False,
        updated_at=own.updated_at,
        updated_by=own.updated_by,
    )


async def set_retention(ctx: Context, principal: Principal, days: int) -> RecordingRetention:
    """Set the organization's retention period (owners and admins)."""
    principal.require_manager()
    await ctx.stores.recordings.set_retention(principal.org_id, days, principal.sub)
    return await retention(ctx, principal)


def _no_recording(call: CallData) -> str:
    recording = call.recording
    if recording is None:
        return f"Call {call.id} has no recording"
    if recording.status is RecordingStatus.FAILED:
        return f"The recording of call {call.id} failed: {recording.error}"
    return f"The recording of call {call.id} is {recording.status.value}"


def _filename(call: CallData, target: StoredObject) -> str:
    suffix = target.key.rsplit(".", 1)[-1] if "." in target.key.rsplit("/", 1)[-1] else "ogg"
    return f"{call.id}.{suffix}"


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk
