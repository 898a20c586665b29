"""agent-runtime's call use cases as plain async functions over `Context` (its ports).

The livekit-agents glue (accepting jobs, joining the room, running the session) is in `worker.py`;
what a call decides and reports is here: its preparation, its failure, its usage.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import structlog
from livekit.agents import llm
from livekit.agents.metrics import AgentSessionUsage

from agent_runtime.adapters.orchestrator import AgentFailurePort, ConsentPort
from agent_runtime.agent import CallState
from agent_runtime.config import Settings
from agent_runtime.directory import AgentDirectory, KnownAgent, NumberDirectory
from agent_runtime.domain import (
    AgentRuntimeError,
    BadJobMetadata,
    CallPolicy,
    VoicemailPolicy,
    call_policy,
    parse_job,
    sum_usage,
)
from agent_runtime.sessions import Components, build_components, check_model_servers
from agent_runtime.transcripts import Redactor, split_parts, transcript_of
from talkifai_common.events import (
    AgentData,
    CallAgentFailedData,
    CallTranscriptData,
    CallUsageData,
    CloudEvent,
    EventName,
    UsageModel,
    new_event,
)
from talkifai_common.jobs import JobMetadata

SOURCE = "agent-runtime"
log = structlog.get_logger(__name__)
T = TypeVar("T")


class EventSink(Protocol):
    """Publishes one event (on the worker's loop)."""

    async def publish(self, event: CloudEvent[Any]) -> None: ...


@dataclass
class Context:
    """What jobs share: settings, read models and ports, all living on the worker's loop."""

    settings: Settings
    agents: AgentDirectory
    numbers: NumberDirectory
    events: EventSink
    consent: ConsentPort
    loop: asyncio.AbstractEventLoop
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    accepted: int = 0
    failures: AgentFailurePort | None = None

    async def in_main(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the worker's loop (jobs run on their own thread's loop)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))


@dataclass(frozen=True)
class PreparedCall:
    """Everything decided before joining the room."""

    meta: JobMetadata
    agent: KnownAgent
    org_id: str
    policy: CallPolicy
    components: Components


async def prepare_call(raw_metadata: str, ctx: Context) -> PreparedCall:
    """Parse the job, find the agent and number, decide the policy, build the components."""
    meta = parse_job(raw_metadata)
    known = await ctx.in_main(ctx.agents.get(meta.agent_id))
    number = await ctx.in_main(ctx.numbers.find(meta.phone_number_id, meta.our_number))
    recording_mode = number.number.recording_mode if number else None
    settings = ctx.settings
    policy = call_policy(
        meta,
        recording_mode,
        outbound_wait_for_callee=settings.outbound_wait_for_callee,
        max_duration_s=settings.max_call_duration_s,
        voicemail=VoicemailPolicy(
            action=settings.voicemail_action, message=settings.voicemail_message
        ),
    )
    await check_model_servers(known.agent, allow_private=settings.allows_private_model_servers)
    components = build_components(known.agent, ctx.env)
    org_id = meta.org_id or known.org_id or (number.org_id if number else "")
    return PreparedCall(meta, known, org_id, policy, components)


async def report_call_failure(
    ctx: Context,
    *,
    room: str,
    job_id: str,
    raw_metadata: str,
    prepared: PreparedCall | None,
    exc: AgentRuntimeError,
) -> None:
    """A clear log line, a failure event and a report to call-orchestrator: never a silent line."""
    meta = prepared.meta if prepared else _meta_or_none(raw_metadata)
    log.error(
        "call.failed",
        room=room,
        job_id=job_id,
        reason=exc.reason,
        error=exc.message,
        agent_id=meta.agent_id if meta else None,
        call_id=meta.call_id if meta else None,
    )
    data = CallAgentFailedData(
        call_id=meta.call_id if meta else None,
        room_name=room,
        job_id=job_id,
        agent_id=meta.agent_id if meta else None,
        direction=meta.direction.value if meta else None,
        phone_number=meta.our_number if meta else None,
        reason=exc.reason,
        error=exc.message,
        retryable=exc.retryable,
        at=datetime.now(UTC),
    )
    org_id = prepared.org_id if prepared else (meta.org_id if meta and meta.org_id else "")
    await _publish(
        ctx,
        new_event(
            EventName.CALL_AGENT_FAILED,
            source=SOURCE,
            subject=meta.call_id if meta and meta.call_id else room,
            orgid=org_id,
            data=data,
        ),
    )
    # Reported before the hang-up: whoever waits for the call's answer learns the agent failed,
    # not that the callee went away.
    await _report_failure(ctx, data)


async def _report_failure(ctx: Context, data: CallAgentFailedData) -> None:
    if ctx.failures is None:
        return
    try:
        await ctx.failures.report_agent_failure(data)
    except AgentRuntimeError as exc:  # the failure event still carries it
        log.error(
            "call.failure_report_failed", room=data.room_name, call_id=data.call_id, error=str(exc)
        )


def _meta_or_none(raw: str) -> JobMetadata | None:
    try:
        return parse_job(raw)
    except BadJobMetadata:
        return None


async def report_usage(
    ctx: Context,
    prepared: PreparedCall,
    usage: AgentSessionUsage,
    state: CallState,
    *,
    room: str,
    started: float,
    started_at: datetime,
) -> CallUsageData:
    """Log and publish the call's `call.usage` (tokens, characters, seconds, how it ended)."""
    totals = sum_usage(list(usage.model_usage))
    data = CallUsageData(
        call_id=prepared.meta.call_id,
        room_name=room,
        agent_id=prepared.agent.agent.id,
        architecture=prepared.agent.agent.architecture,
        direction=prepared.meta.direction.value,
        phone_number=prepared.meta.our_number,
        llm_input_tokens=totals.llm_input_tokens,
        llm_output_tokens=totals.llm_output_tokens,
        tts_characters=totals.tts_characters,
        stt_seconds=totals.stt_seconds,
        duration_s=round(time.monotonic() - started, 3),
        end_reason=state.end_reason,
        started_at=started_at,
        ended_at=datetime.now(UTC),
        **usage_models(prepared.agent.agent),
    )
    log.info("call.usage", room=room, **data.model_dump(mode="json", exclude={"room_name"}))
    subject = prepared.meta.call_id or room
    event = new_event(
        EventName.CALL_USAGE, source=SOURCE, subject=subject, orgid=prepared.org_id, data=data
    )
    await _publish(ctx, event)
    return data


async def report_transcript(
    ctx: Context,
    prepared: PreparedCall,
    history: list[llm.ChatItem],
    usage: CallUsageData | None,
    *,
    room: str,
    started_at: datetime,
) -> None:
    """Publish the call's conversation, redacted, as `call.transcript` events (one per part)."""
    redactor = Redactor.from_patterns(ctx.settings.transcript_redact_patterns)
    transcript = transcript_of(history, redactor)
    parts, left_out = split_parts(transcript.items)
    truncated = transcript.truncated or left_out
    ended_at = usage.ended_at if usage else datetime.now(UTC)
    subject = prepared.meta.call_id or room
    for number, items in enumerate(parts, start=1):
        data = CallTranscriptData(
            call_id=prepared.meta.call_id,
            room_name=room,
            agent_id=prepared.agent.agent.id,
            direction=prepared.meta.direction.value,
            phone_number=prepared.meta.our_number,
            part=number,
            parts=len(parts),
            items=items,
            truncated=truncated,
            usage=usage,
            started_at=started_at,
            ended_at=ended_at,
        )
        event = new_event(
            EventName.CALL_TRANSCRIPT,
            source=SOURCE,
            subject=subject,
            orgid=prepared.org_id,
            data=data,
        )
        await _publish(ctx, event)
    log.info(
        "call.transcript",
        room=room,
        call_id=prepared.meta.call_id,
        items=len(transcript.items),
        parts=len(parts),
        truncated=truncated,
    )


def usage_models(agent: AgentData) -> dict[str, UsageModel | None]:
    """The provider and model behind each kind of usage, so call-orchestrator can price them."""
    llm = agent.llm or agent.realtime
    return {
        "llm": UsageModel(provider=llm.provider.value, model=llm.resolved_model()) if llm else None,
        "stt": (
            UsageModel(provider=agent.stt.provider.value, model=agent.stt.resolved_model())
            if agent.stt
            else None
        ),
        "tts": (
            UsageModel(provider=agent.tts.provider.value, model=agent.tts.resolved_model())
            if agent.tts
            else None
        ),
    }


async def _publish(ctx: Context, event: CloudEvent[Any]) -> None:
    try:
        await ctx.in_main(ctx.events.publish(event))
    except Exception as exc:  # the bus being down must not hide the call's own outcome
        log.error("event.publish_failed", subject=event.name.subject, error=str(exc))
