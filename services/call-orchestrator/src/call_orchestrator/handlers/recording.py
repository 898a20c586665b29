"""Call recording: started on answer for `all` numbers, on the caller's consent for `consent`
(its result, reading and deleting it: `recording_files`)."""

from __future__ import annotations

import structlog

from call_orchestrator.adapters.postgres import CallChanges, CallRow, utcnow
from call_orchestrator.adapters.recording_storage import FILE, S3
from call_orchestrator.handlers.context import Context
from call_orchestrator.schemas import RecordingConsentResult
from talkifai_common.errors import Conflict, NotFound
from talkifai_common.events import CallStatus, RecordingMode

log = structlog.get_logger(__name__)


async def start_recording(ctx: Context, call: CallRow) -> CallRow | None:
    """Start the call's audio egress and store its id; None (logged) if LiveKit refuses."""
    try:
        egress_id = await ctx.livekit.start_audio_recording(call.data.room_name)
    except Exception as exc:
        log.warning("recording.start_failed", call_id=call.data.id, error=str(exc))
        return None
    log.info("recording.started", call_id=call.data.id, egress_id=egress_id)
    s3 = ctx.settings.recording_s3
    return await ctx.stores.recordings.started(
        call.data.id,
        egress_id,
        storage=S3 if s3 is not None else FILE,
        bucket=s3.bucket if s3 is not None else None,
    )


async def record_consent(ctx: Context, call_id: str) -> RecordingConsentResult:
    """The caller consented: start the recording of a `consent` number's answered call."""
    call = await ctx.stores.calls.get_call(call_id)
    if call is None:
        raise NotFound(f"Call {call_id} not found")
    if call.data.recording_egress_id:
        return RecordingConsentResult(
            call_id=call_id, recording_egress_id=call.data.recording_egress_id
        )
    if call.recording_mode is not RecordingMode.CONSENT:
        raise Conflict(
            f"Call {call_id} is on a number whose recording mode is {call.recording_mode.value}, "
            "not consent"
        )
    if call.data.status is not CallStatus.ANSWERED:
        raise Conflict(f"Call {call_id} is {call.data.status.value}; only answered calls record")
    await ctx.stores.calls.update(call_id, CallChanges(recording_consent_at=utcnow()))
    started = await start_recording(ctx, call)
    if started is None or not started.data.recording_egress_id:
        raise Conflict(f"The recording of call {call_id} could not be started")
    return RecordingConsentResult(
        call_id=call_id, recording_egress_id=started.data.recording_egress_id
    )


async def record_consent_in_room(ctx: Context, room_name: str) -> RecordingConsentResult:
    """`record_consent` for the call in a room."""
    call = await ctx.stores.calls.call_in_room(room_name)
    if call is None:
        raise NotFound(f"No call in room {room_name}")
    return await record_consent(ctx, call.data.id)
