"""`livekit.Egress`: room-composite egress records the room's audio into a real file
(recording.py), uploaded to S3-compatible storage when the file output says so (uploads.py);
participant egress is bookkeeping only."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from livekit.protocol.egress import (
    EgressInfo,
    EgressSourceType,
    EgressStatus,
    EncodedFileOutput,
    FileInfo,
    ListEgressRequest,
    ListEgressResponse,
    ParticipantEgressRequest,
    RoomCompositeEgressRequest,
    StopEgressRequest,
)

from livekit_emulator import auth, errors, ids, recording, uploads
from livekit_emulator.auth import Grants
from livekit_emulator.state import RoomRecord
from livekit_emulator.twirp import Method

if TYPE_CHECKING:
    from livekit_emulator.runtime import Emulator

ACTIVE = (EgressStatus.EGRESS_STARTING, EgressStatus.EGRESS_ACTIVE)
# LiveKit egress's default file name for an audio-only room composite.
DEFAULT_FILEPATH = "{room_name}-{time}.ogg"

log = logging.getLogger("livekit_emulator.egress")


def _start(emu: Emulator, room_name: str) -> EgressInfo:
    record = emu.rooms.get(room_name) if room_name else None
    if record is None:
        raise errors.from_psrpc("not_found", errors.ROOM_NOT_FOUND)
    now = time.time_ns()
    info = EgressInfo(
        egress_id=ids.new_id(ids.EGRESS),
        room_id=record.info.sid,
        room_name=room_name,
        status=EgressStatus.EGRESS_STARTING,
        started_at=now,
        updated_at=now,
    )
    emu.state.egresses[info.egress_id] = info
    emu.webhooks.notify("egress_started", egress_info=info)
    # The egress worker reports it active right away; there is no media pipeline to wait for.
    info.status = EgressStatus.EGRESS_ACTIVE
    record.info.active_recording = True
    return info


async def start_room_composite(
    emu: Emulator, grants: Grants | None, req: RoomCompositeEgressRequest
) -> EgressInfo:
    """Egress.StartRoomCompositeEgress (needs roomRecord)."""
    auth.ensure_room_record(grants)
    info = _start(emu, req.room_name)
    info.source_type = EgressSourceType.EGRESS_SOURCE_TYPE_WEB
    output = (
        req.file_outputs[0]
        if req.file_outputs
        else (req.file if req.HasField("file") else EncodedFileOutput())
    )
    name = recording.expand(output.filepath or DEFAULT_FILEPATH, req.room_name, info.room_id)
    emu.media.start_recording(
        info.egress_id,
        req.room_name,
        Path(emu.config.recordings_dir) / name,
        upload=uploads.S3Target.of(output),
        storage_path=name,
    )
    info.room_composite.CopyFrom(req)
    for kept in [*info.room_composite.file_outputs, info.room_composite.file]:
        uploads.redact(kept)
    return info


async def start_participant(
    emu: Emulator, grants: Grants | None, req: ParticipantEgressRequest
) -> EgressInfo:
    """Egress.StartParticipantEgress (needs roomRecord)."""
    auth.ensure_room_record(grants)
    info = _start(emu, req.room_name)
    info.source_type = EgressSourceType.EGRESS_SOURCE_TYPE_SDK
    info.participant.CopyFrom(req)
    return info


async def list_egress(
    emu: Emulator, grants: Grants | None, req: ListEgressRequest
) -> ListEgressResponse:
    """Egress.ListEgress, filtered by room, id and activity."""
    auth.ensure_room_record(grants)
    items = [
        e
        for e in emu.state.egresses.values()
        if (not req.room_name or e.room_name == req.room_name)
        and (not req.egress_id or e.egress_id == req.egress_id)
        and (not req.active or e.status in ACTIVE)
    ]
    return ListEgressResponse(items=items)


def end_egress(emu: Emulator, info: EgressInfo) -> None:
    """Finish an egress: its file written (in the background), then complete with its
    file_results, ended_at set and egress_ended sent."""
    recorder = emu.media.stop_recording(info.egress_id)
    if recorder is None:
        _complete(emu, info)
        return
    info.status = EgressStatus.EGRESS_ENDING
    emu.media.spawn(_write_and_complete(emu, info, recorder))


async def _write_and_complete(
    emu: Emulator, info: EgressInfo, recorder: recording.RoomRecorder
) -> None:
    try:
        written = await asyncio.to_thread(recorder.write)
    except Exception as exc:  # a full disk, a bad path: the egress fails, as LiveKit reports it
        log.exception("recording not written", extra={"egress_id": info.egress_id})
        info.error = f"could not write {recorder.filepath}: {exc}"
        _complete(emu, info, status=EgressStatus.EGRESS_FAILED)
        return
    if recorder.upload is not None:
        try:
            location = await _upload(emu, info, recorder)
        except uploads.UploadFailed as exc:
            log.warning("recording not uploaded: %s", exc, extra={"egress_id": info.egress_id})
            info.error = str(exc)
            _complete(emu, info, status=EgressStatus.EGRESS_FAILED)
            return
        finally:
            # Egress uploads from a local temporary file, which does not outlive the egress.
            recorder.filepath.unlink(missing_ok=True)
        written = replace(written, filename=recorder.storage_path, location=location)
    now = time.time_ns()
    result = FileInfo(
        filename=written.filename,
        location=written.location,
        size=written.size,
        duration=written.duration_ns,
        started_at=info.started_at,
        ended_at=now,
    )
    info.file_results.append(result)
    info.file.CopyFrom(result)
    _complete(emu, info)


async def _upload(emu: Emulator, info: EgressInfo, recorder: recording.RoomRecorder) -> str:
    """Upload the file where the request says; when that fails and egress has a backup storage,
    write it there instead and mark the egress `backup_storage_used` (livekit/egress
    `uploader.Upload`). The file's location (UploadFailed when neither took it)."""
    assert recorder.upload is not None
    try:
        return await asyncio.to_thread(
            recorder.upload.upload, recorder.filepath, recorder.storage_path
        )
    except uploads.UploadFailed as primary:
        backup_dir = emu.config.egress_backup_dir
        if not backup_dir:
            raise
        try:
            location = await asyncio.to_thread(
                uploads.copy_to_dir, recorder.filepath, Path(backup_dir), recorder.storage_path
            )
        except uploads.UploadFailed as backup:
            raise uploads.UploadFailed(f"primary: {primary}\nbackup: {backup}") from backup
        log.warning(
            "recording kept in backup storage: %s",
            primary,
            extra={"egress_id": info.egress_id, "location": location},
        )
        info.backup_storage_used = True
        return location


def _complete(emu: Emulator, info: EgressInfo, status: int = EgressStatus.EGRESS_COMPLETE) -> None:
    now = time.time_ns()
    info.status = status  # type: ignore[assignment]
    info.ended_at = now
    info.updated_at = now
    emu.webhooks.notify("egress_ended", egress_info=info)


async def stop_egress(emu: Emulator, grants: Grants | None, req: StopEgressRequest) -> EgressInfo:
    """Egress.StopEgress: an egress that is no longer running cannot be stopped."""
    auth.ensure_room_record(grants)
    info = emu.state.egresses.get(req.egress_id)
    if info is None:
        raise errors.from_psrpc("not_found", errors.EGRESS_NOT_FOUND)
    if info.status not in ACTIVE:
        name = EgressStatus.Name(info.status)
        raise errors.TwirpError(
            "failed_precondition", f"egress with status {name} cannot be stopped"
        )
    info.status = EgressStatus.EGRESS_ENDING
    info.updated_at = time.time_ns()
    answer = EgressInfo()
    answer.CopyFrom(info)
    end_egress(emu, info)
    return answer


def on_room_closed(emu: Emulator, record: RoomRecord) -> None:
    """Egresses of a closed room end with it."""
    for info in emu.state.egresses.values():
        if info.room_name == record.info.name and info.status in ACTIVE:
            end_egress(emu, info)


METHODS: dict[str, Method] = {
    "StartRoomCompositeEgress": Method(RoomCompositeEgressRequest, start_room_composite),
    "StartParticipantEgress": Method(ParticipantEgressRequest, start_participant),
    "ListEgress": Method(ListEgressRequest, list_egress),
    "StopEgress": Method(StopEgressRequest, stop_egress),
}
