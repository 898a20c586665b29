"""Call transcripts: agent-runtime's `telephony.call.transcript` parts stored by call, served to
the organization, and the end-of-call report queued for the number's webhook once the
transcript is complete and the call has ended."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import structlog

from call_orchestrator.adapters.postgres import CallRow, CallStore, StoredTranscript, Stores
from call_orchestrator.domain import FINAL_STATUSES
from call_orchestrator.schemas import REPORT_EVENT_TYPE, CallReport, CallTranscript
from talkifai_common.auth import Principal
from talkifai_common.errors import NotFound, TalkifaiError
from talkifai_common.events import CallData, CallStatus, CallTranscriptData, CloudEvent

log = structlog.get_logger(__name__)
SOURCE = "talkifai/call-orchestrator"


class TranscriptNotPlaced(TalkifaiError):
    """A transcript part that cannot be placed yet: its call is not recorded (a LiveKit webhook
    still on its way), or the call has not ended, so its report would not say how it ended.
    Retried with backoff by the consumer, then dead-lettered."""

    status_code = 409
    retryable = True


def outcome_of(call: CallData, transcript: StoredTranscript) -> str:
    """The report's one-word outcome (see `CallReport.outcome`)."""
    if call.status is CallStatus.FAILED:
        return call.failure_reason or "failed"
    if call.status is CallStatus.COMPLETED:
        agent_reason = transcript.usage.end_reason if transcript.usage else None
        return call.end_reason or agent_reason or "completed"
    return call.status.value


def transcript_view(transcript: StoredTranscript) -> CallTranscript:
    """The transcript as the API and the report show it."""
    return CallTranscript(
        call_id=transcript.call_id,
        agent_id=transcript.agent_id,
        items=transcript.items,
        truncated=transcript.truncated,
        started_at=transcript.started_at,
        ended_at=transcript.ended_at,
    )


def report_event(call: CallRow, transcript: StoredTranscript) -> tuple[str, str]:
    """The end-of-call report as a CloudEvent: its id and JSON."""
    event = CloudEvent[CallReport](
        id=str(uuid.uuid4()),
        source=SOURCE,
        type=REPORT_EVENT_TYPE,
        time=datetime.now(UTC),
        subject=call.data.id,
        orgid=call.org_id,
        data=CallReport(
            call=call.data,
            outcome=outcome_of(call.data, transcript),
            transcript=transcript_view(transcript),
            usage=transcript.usage,
        ),
    )
    return event.id, event.model_dump_json()


async def _call_of(store: CallStore, data: CallTranscriptData) -> CallRow | None:
    if data.call_id:
        return await store.get_call(data.call_id)
    return await store.call_in_room(data.room_name)


async def on_transcript(stores: Stores, event: CloudEvent[CallTranscriptData]) -> str:
    """Store one part (idempotent by call and part); once every part is in and the call has
    ended, queue its end-of-call report (once). What it did, for logs."""
    data = event.data
    call = await _call_of(stores.calls, data)
    if call is None:
        raise TranscriptNotPlaced(f"No call {data.call_id or 'in room ' + data.room_name} yet")
    saved = await stores.transcripts.save_part(call.data.id, call.org_id, data)
    if not saved.complete or saved.report_queued:
        return "stored" if saved.new else "duplicate"
    current = await stores.calls.get_call(call.data.id)
    if current is None or current.data.status not in FINAL_STATUSES:
        raise TranscriptNotPlaced(f"Call {call.data.id} has not ended yet; its report waits")
    queued = await stores.transcripts.queue_report(call.data.id, report_event)
    log.info("call.transcript_complete", call_id=call.data.id, report_queued=queued)
    return "reported" if queued else "stored"


async def get_transcript(stores: Stores, principal: Principal, call_id: str) -> CallTranscript:
    """A call's transcript, for its organization, once every part of it is in."""
    transcript = await stores.transcripts.get(call_id, principal.org_id)
    if transcript is None:
        if await stores.calls.get_call(call_id, principal.org_id) is None:
            raise NotFound(f"Call {call_id} not found")
        raise NotFound(f"Call {call_id} has no transcript yet")
    return transcript_view(transcript)
