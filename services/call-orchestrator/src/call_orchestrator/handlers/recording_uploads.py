"""Recordings LiveKit Egress could not upload: egress wrote them to its backup storage (its
`backup:` config, a directory this service mounts as RECORDING_BACKUP_DIR) and reported
`backup_storage_used`. They are uploaded from there to their bucket and key until object storage
takes them, never given up on: the wait doubles after each failure from
RECORDING_UPLOAD_INTERVAL_S up to RECORDING_UPLOAD_RETRY_MAX_S, and the call shows its recording
pending meanwhile, with the last error. The backup file is removed once the upload is recorded.
"""

from __future__ import annotations

import asyncio
from pathlib import Path, PurePosixPath

import structlog

from call_orchestrator.adapters.postgres import KeptRecording
from call_orchestrator.adapters.recording_storage import ObjectMissing, StorageUnavailable
from call_orchestrator.config import Settings
from call_orchestrator.handlers.context import JITTER, Context
from talkifai_common.periodic import repeat

log = structlog.get_logger(__name__)
UPLOAD_BATCH = 20
# A claimed upload is not claimed again for this long (a replica that dies mid-upload).
UPLOAD_LEASE_S = 600.0


def backup_path(settings: Settings, location: str) -> Path | None:
    """Where this service reads the file egress kept at `location`; None when that is not in
    egress's backup directory (or none is configured)."""
    if not settings.recording_backup_dir:
        return None
    local = Path(settings.recording_backup_dir).resolve()
    egress_dir = PurePosixPath(settings.recording_backup_egress_dir or local.as_posix())
    try:
        relative = PurePosixPath(location).relative_to(egress_dir)
    except ValueError:
        return None
    path = (local / relative).resolve()
    return path if path.is_relative_to(local) else None


def retry_in_s(settings: Settings, attempts: int) -> float:
    """The wait before the next upload of a recording that failed `attempts` + 1 times."""
    doubled: float = settings.recording_upload_interval_s * 2.0 ** min(attempts, 20)
    return min(doubled, settings.recording_upload_retry_max_s)


async def upload_kept_recordings(ctx: Context) -> int:
    """Upload the kept recordings that are due; how many went into object storage."""
    uploaded = 0
    for kept in await ctx.stores.recordings.claim_uploads(UPLOAD_BATCH, UPLOAD_LEASE_S):
        if await _upload(ctx, kept):
            uploaded += 1
    return uploaded


async def _upload(ctx: Context, kept: KeptRecording) -> bool:
    s3 = ctx.settings.recording_s3
    bucket = kept.bucket or (s3.bucket if s3 is not None else None)
    path = backup_path(ctx.settings, kept.backup_location)
    if path is None or bucket is None:
        log.error(
            "recording.backup_unreadable",
            call_id=kept.call_id,
            location=kept.backup_location,
            backup_dir=ctx.settings.recording_backup_dir,
        )
        await _later(
            ctx,
            kept,
            "The recording kept in egress's backup storage cannot be read "
            "here: set RECORDING_BACKUP_DIR (and RECORDING_S3_BUCKET)",
        )
        return False
    try:
        location = await ctx.recording_files.upload(path, bucket, kept.key)
    except ObjectMissing:
        error = "The recording egress kept in its backup storage is gone"
        await ctx.stores.recordings.backup_lost(kept.call_id, error)
        log.error("recording.backup_missing", call_id=kept.call_id, location=kept.backup_location)
        return False
    except StorageUnavailable as exc:
        await _later(ctx, kept, f"Upload to object storage failed again: {exc}")
        return False
    stored = await ctx.stores.recordings.uploaded(kept.call_id, location)
    log.info("recording.uploaded_from_backup", call_id=kept.call_id, done=bool(stored))
    try:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    except OSError as exc:
        log.warning("recording.backup_not_removed", call_id=kept.call_id, error=exc.strerror)
    return True


async def _later(ctx: Context, kept: KeptRecording, error: str) -> None:
    wait_s = retry_in_s(ctx.settings, kept.attempts)
    log.warning("recording.upload_failed", call_id=kept.call_id, error=error, retry_in_s=wait_s)
    await ctx.stores.recordings.upload_failed(kept.call_id, error, wait_s)


async def upload_kept_recordings_periodically(ctx: Context) -> None:
    """`upload_kept_recordings` every RECORDING_UPLOAD_INTERVAL_S until cancelled."""

    async def run() -> None:
        if uploaded := await upload_kept_recordings(ctx):
            log.info("recordings.uploaded_from_backup", recordings=uploaded)

    await repeat(
        run,
        ctx.settings.recording_upload_interval_s,
        failure_event="recordings.upload_pass_failed",
        jitter=JITTER,
    )
