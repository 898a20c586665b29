"""The livekit-agents worker: `AgentServer` registered as `talkifai-agent` (explicit dispatch only).

`on_request` runs in the worker's process and accepts every job whose metadata parses; the job
then runs as a thread of that process (`JobExecutorType.THREAD`), so it reads the agent and
number read models through the server's `Runtime`, whose ports run on the worker's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import structlog
from livekit import rtc
from livekit.agents import (
    AgentServer,
    AgentSession,
    JobContext,
    JobProcess,
    JobRequest,
)
from livekit.agents.job import JobExecutorType
from livekit.agents.voice.room_io import RoomOptions
from livekit.plugins import silero
from opentelemetry import trace

from agent_runtime.adapters.livekit import CallControl, LiveKitCallControl, delete_room
from agent_runtime.adapters.orchestrator import AgentFailurePort, ConsentPort
from agent_runtime.agent import CallState, TalkifaiAgent
from agent_runtime.config import Settings
from agent_runtime.directory import AgentDirectory, KnownAgent, NumberDirectory
from agent_runtime.domain import (
    AgentRuntimeError,
    BadJobMetadata,
    CallPolicy,
    LiveKitFailure,
    VoicemailPolicy,
    call_instructions,
    call_policy,
    parse_job,
    sum_usage,
)
from agent_runtime.sessions import Components, build_components
from talkifai_common.events import (
    CallAgentFailedData,
    CallUsageData,
    CloudEvent,
    EventName,
    new_event,
)
from talkifai_common.jobs import JobMetadata

SOURCE = "agent-runtime"
log = structlog.get_logger(__name__)
tracer = trace.get_tracer("agent_runtime")
T = TypeVar("T")


class EventSink(Protocol):
    """Publishes one event (on the worker's loop)."""

    async def publish(self, event: CloudEvent[Any]) -> None: ...


@dataclass
class Runtime:
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


def prewarm(proc: JobProcess) -> None:
    """Load Silero VAD once per process (its model ships in the plugin's wheel)."""
    proc.userdata["vad"] = silero.VAD.load()


async def on_request(request: JobRequest, runtime: Runtime) -> None:
    """Accept a job whose metadata reads; refuse one that cannot run anywhere."""
    try:
        meta = parse_job(request.job.metadata)
    except BadJobMetadata as exc:
        log.error("job.rejected", job_id=request.id, room=request.room.name, error=exc.message)
        await request.reject(terminate=True)
        return
    log.info(
        "job.accepted",
        job_id=request.id,
        room=request.room.name,
        agent_id=meta.agent_id,
        call_id=meta.call_id,
        direction=meta.direction.value,
    )
    runtime.accepted += 1
    await request.accept(identity=f"agent-{request.id}", name="TalkifAI agent")


@dataclass(frozen=True)
class PreparedCall:
    """Everything decided before joining the room."""

    meta: JobMetadata
    agent: KnownAgent
    org_id: str
    policy: CallPolicy
    components: Components


async def prepare_call(raw_metadata: str, runtime: Runtime) -> PreparedCall:
    """Parse the job, find the agent and number, decide the policy, build the components."""
    meta = parse_job(raw_metadata)
    known = await runtime.in_main(runtime.agents.get(meta.agent_id))
    number = await runtime.in_main(runtime.numbers.find(meta.phone_number_id, meta.our_number))
    recording_mode = number.number.recording_mode if number else None
    settings = runtime.settings
    policy = call_policy(
        meta,
        recording_mode,
        outbound_wait_for_callee=settings.outbound_wait_for_callee,
        max_duration_s=settings.max_call_duration_s,
        voicemail=VoicemailPolicy(
            action=settings.voicemail_action, message=settings.voicemail_message
        ),
    )
    components = build_components(known.agent, runtime.env)
    org_id = meta.org_id or known.org_id or (number.org_id if number else "")
    return PreparedCall(meta, known, org_id, policy, components)


def new_session(
    prepared: PreparedCall, state: CallState, vad: Any | None
) -> AgentSession[CallState]:
    """The AgentSession for this call (VAD ends turns in a pipeline)."""
    c = prepared.components
    if c.stt is not None and c.tts is not None:
        return AgentSession[CallState](
            userdata=state,
            stt=c.stt,
            llm=c.llm,
            tts=c.tts,
            vad=vad,
            turn_handling={"turn_detection": "vad"},
        )
    return AgentSession[CallState](userdata=state, llm=c.llm, vad=vad)


def build_agent(
    prepared: PreparedCall, state: CallState, remote_number: str | None
) -> TalkifaiAgent:
    """The agent with this call's instructions and tools."""
    agent = prepared.agent.agent
    instructions = call_instructions(
        agent.instructions, prepared.meta, prepared.policy, remote_number
    )
    return TalkifaiAgent(instructions=instructions, greeting=agent.greeting, state=state)


async def entrypoint(ctx: JobContext, runtime: Runtime) -> None:
    """Run one call: prepare, join, talk until someone hangs up or time runs out, report usage."""
    room = ctx.job.room.name
    started = time.monotonic()
    started_at = datetime.now(UTC)
    prepared: PreparedCall | None = None
    session: AgentSession[CallState] | None = None
    state: CallState | None = None
    with tracer.start_as_current_span("call", attributes={"room": room, "job_id": ctx.job.id}):
        try:
            prepared = await prepare_call(ctx.job.metadata, runtime)
            try:
                await ctx.connect()
            except rtc.ConnectError as exc:
                raise LiveKitFailure("join room", str(exc), retryable=True) from exc
            participant = await ctx.wait_for_participant(
                kind=rtc.ParticipantKind.PARTICIPANT_KIND_SIP
            )
            control: CallControl = LiveKitCallControl(ctx.api, ctx.room)
            state = CallState(
                room=room,
                meta=prepared.meta,
                policy=prepared.policy,
                control=control,
                consent=runtime.consent,
                sip_identity=participant.identity,
            )
            remote = prepared.meta.remote_number or participant.attributes.get("sip.phoneNumber")
            session = new_session(prepared, state, ctx.proc.userdata.get("vad"))
            call_state = state
            session.on("close", lambda _ev: call_state.mark_ended("session_closed"))
            ctx.room.on(
                "participant_disconnected",
                lambda p: (
                    call_state.mark_ended("caller_hangup")
                    if p.identity == call_state.sip_identity
                    else None
                ),
            )
            await session.start(
                build_agent(prepared, state, remote),
                room=ctx.room,
                room_options=RoomOptions(participant_identity=participant.identity),
            )
            try:
                await asyncio.wait_for(state.ended.wait(), timeout=prepared.policy.max_duration_s)
            except TimeoutError:
                log.info("call.max_duration", room=room, limit_s=prepared.policy.max_duration_s)
                await state.finish("max_duration")
        except AgentRuntimeError as exc:
            await _fail(ctx, runtime, prepared, exc, started_at)
        finally:
            if session is not None:
                with contextlib.suppress(Exception):
                    await session.aclose()
            if prepared is not None and session is not None and state is not None:
                await _report_usage(runtime, prepared, session, state, room, started, started_at)


async def _fail(
    ctx: JobContext,
    runtime: Runtime,
    prepared: PreparedCall | None,
    exc: AgentRuntimeError,
    started_at: datetime,
) -> None:
    """A clear log line, a failure event, and the call hung up: never a silent line."""
    room = ctx.job.room.name
    meta = prepared.meta if prepared else _meta_or_none(ctx.job.metadata)
    log.error(
        "call.failed",
        room=room,
        job_id=ctx.job.id,
        reason=exc.reason,
        error=exc.message,
        agent_id=meta.agent_id if meta else None,
        call_id=meta.call_id if meta else None,
    )
    data = CallAgentFailedData(
        call_id=meta.call_id if meta else None,
        room_name=room,
        job_id=ctx.job.id,
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
        runtime,
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
    await _report_failure(runtime, data)
    # Hang up so the caller is not left in silence (the room may not exist any more).
    with contextlib.suppress(Exception):
        await delete_room(ctx.api, room)


async def _report_failure(runtime: Runtime, data: CallAgentFailedData) -> None:
    if runtime.failures is None:
        return
    try:
        await runtime.failures.report_agent_failure(data)
    except AgentRuntimeError as exc:  # the failure event still carries it
        log.error(
            "call.failure_report_failed", room=data.room_name, call_id=data.call_id, error=str(exc)
        )


def _meta_or_none(raw: str) -> JobMetadata | None:
    try:
        return parse_job(raw)
    except BadJobMetadata:
        return None


async def _report_usage(
    runtime: Runtime,
    prepared: PreparedCall,
    session: AgentSession[CallState],
    state: CallState,
    room: str,
    started: float,
    started_at: datetime,
) -> None:
    totals = sum_usage(list(session.usage.model_usage))
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
    )
    log.info("call.usage", room=room, **data.model_dump(mode="json", exclude={"room_name"}))
    subject = prepared.meta.call_id or room
    event = new_event(
        EventName.CALL_USAGE, source=SOURCE, subject=subject, orgid=prepared.org_id, data=data
    )
    await _publish(runtime, event)


async def _publish(runtime: Runtime, event: CloudEvent[Any]) -> None:
    try:
        await runtime.in_main(runtime.events.publish(event))
    except Exception as exc:  # the bus being down must not hide the call's own outcome
        log.error("event.publish_failed", subject=event.name.subject, error=str(exc))


def create_server(runtime: Runtime) -> AgentServer:
    """The worker, registered as the configured agent name, jobs as threads (sharing `runtime`),
    VAD prewarmed."""
    settings = runtime.settings
    options: dict[str, Any] = {}
    if settings.load_threshold is not None:
        options["load_threshold"] = settings.load_threshold
    api_key, api_secret = settings.livekit_credentials()
    server = AgentServer(
        ws_url=settings.livekit_url,
        api_key=api_key,
        api_secret=api_secret,
        # Jobs run as threads of this process so that they share the read models.
        job_executor_type=JobExecutorType.THREAD,
        # livekit-agents' own health server listens on every interface unless told otherwise.
        host=settings.host,
        port=settings.worker_http_port,
        setup_fnc=prewarm,
        **options,
    )

    async def run_call(ctx: JobContext) -> None:
        await entrypoint(ctx, runtime)

    async def accept_job(request: JobRequest) -> None:
        await on_request(request, runtime)

    server.rtc_session(run_call, agent_name=settings.agent_name, on_request=accept_job)
    return server
