"""Call transcripts: agent-runtime's `telephony.call.transcript` parts stored by call, served to
the organization, and the end-of-call report queued for the number's webhook once the
transcript is complete and the call has ended.

The report says what the call cost and links its recording, so it waits for both: the call is
priced from its usage when the report is put together (the transcript carries the same usage as
agent-runtime's `telephony.call.usage`, which may not have arrived yet), and a recording still
being written or uploaded holds the report back for up to `REPORT_WAIT_S` after the call ended
(`queue_waiting_reports` goes through those every `REPORT_INTERVAL_S`); a recording pending after
that is reported as pending.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import structlog

from call_orchestrator.adapters.postgres import CallRow, CallStore, StoredTranscript, Stores
from call_orchestrator.domain import FINAL_STATUSES
from call_orchestrator.handlers.context import JITTER
from call_orchestrator.handlers.costs import cost_call
from call_orchestrator.schemas import REPORT_EVENT_TYPE, CallReport, CallTranscript
from talkifai_common.auth import Principal
from talkifai_common.errors import NotFound, TalkifaiError
from talkifai_common.events import (
    CallData,
    CallStatus,
    CallTranscriptData,
    CloudEvent,
    RecordingStatus,
)
from talkifai_common.periodic import repeat

log = structlog.get_logger(__name__)
SOURCE = "talkifai/call-orchestrator"
REPORT_BATCH = 100


@dataclass(frozen=True)
class ReportPolicy:
    """How end-of-call reports are put together: the API's public base URL for the recording
    link (None: no link), and how long a report waits for a pending recording."""

    public_api_url: str | None = None
    wait_s: float = 300.0


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


def recording_url(call: CallData, public_api_url: str | None) -> str | None:
    """Where the report's reader fetches the call's available recording (with an API token, as
    every route; the link answers only while the recording is kept)."""
    if public_api_url is None or call.recording is None:
        return None
    if call.recording.status is not RecordingStatus.AVAILABLE:
        return None
    return f"{public_api_url.rstrip('/')}/calls/{call.id}/recording"


def report_event(
    call: CallRow, transcript: StoredTranscript, *, public_api_url: str | None = None
) -> tuple[str, str]:
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
            recording_url=recording_url(call.data, public_api_url),
        ),
    )
    return event.id, event.model_dump_json()


async def _call_of(store: CallStore, data: CallTranscriptData) -> CallRow | None:
    if data.call_id:
        return await store.get_call(data.call_id)
    return await store.call_in_room(data.room_name)


async def on_transcript(
    stores: Stores, event: CloudEvent[CallTranscriptData], policy: ReportPolicy
) -> str:
    """Store one part (idempotent by call and part); once every part is in and the call has
    ended, queue its end-of-call report (once) when it is ready. What it did, for logs."""
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
    return await report_when_ready(stores, current, policy)


async def report_when_ready(stores: Stores, call: CallRow, policy: ReportPolicy) -> str:
    """Price the ended call, then queue its report unless its recording is still pending and
    the wait has not run out: "reported", "waiting" (the report pass comes back to it) or
    "stored" (another consumer queued it)."""
    call = await _priced(stores, call)
    if _recording_pending(call.data) and not _wait_over(call.data, policy):
        log.info("call.report_waits_for_recording", call_id=call.data.id)
        return "waiting"
    report = partial(report_event, public_api_url=policy.public_api_url)
    queued = await stores.transcripts.queue_report(call.data.id, report)
    log.info("call.transcript_complete", call_id=call.data.id, report_queued=queued)
    return "reported" if queued else "stored"


async def _priced(stores: Stores, call: CallRow) -> CallRow:
    """The call with its cost: priced now from its usage (the transcript's when agent-runtime's
    usage event has not come yet: the first usage kept stands, so nothing is charged twice)."""
    if call.data.cost is not None:
        return call
    if await stores.costs.usage_of(call.data.id) is None:
        transcript = await stores.transcripts.get(call.data.id)
        if transcript is None or transcript.usage is None:
            return call
        await stores.costs.record_usage(call.data.id, call.org_id, transcript.usage)
    if await cost_call(stores, call.data.id) != "costed":
        return call
    return await stores.calls.get_call(call.data.id) or call


def _recording_pending(call: CallData) -> bool:
    return call.recording is not None and call.recording.status is RecordingStatus.PENDING


def _wait_over(call: CallData, policy: ReportPolicy) -> bool:
    ended = call.ended_at or call.started_at
    return datetime.now(UTC) >= ended + timedelta(seconds=policy.wait_s)


async def queue_waiting_reports(stores: Stores, policy: ReportPolicy) -> int:
    """Queue the reports that waited for a recording, now stored or waited for long enough (and
    any a consumer left, its call ended since); how many were queued."""
    queued = 0
    for call_id in await stores.transcripts.reports_due(policy.wait_s, REPORT_BATCH):
        call = await stores.calls.get_call(call_id)
        if call is not None and await report_when_ready(stores, call, policy) == "reported":
            queued += 1
    return queued


async def queue_waiting_reports_periodically(
    stores: Stores, policy: ReportPolicy, interval_s: float
) -> None:
    """`queue_waiting_reports` every `interval_s` until cancelled."""

    async def run() -> None:
        if queued := await queue_waiting_reports(stores, policy):
            log.info("call.reports_queued", calls=queued)

    await repeat(run, interval_s, failure_event="call.reports_failed", jitter=JITTER)


async def get_transcript(stores: Stores, principal: Principal, call_id: str) -> CallTranscript:
    """A call's transcript, for its organization, once every part of it is in."""
    transcript = await stores.transcripts.get(call_id, principal.org_id)
    if transcript is None:
        if await stores.calls.get_call(call_id, principal.org_id) is None:
            raise NotFound(f"Call {call_id} not found")
        raise NotFound(f"Call {call_id} has no transcript yet")
    return transcript_view(transcript)
