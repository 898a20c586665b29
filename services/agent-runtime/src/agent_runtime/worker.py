"""The livekit-agents worker: `AgentServer` registered as `talkifai-agent` (explicit dispatch only).

`on_request` runs in the worker's process and accepts every job whose metadata parses; the job
then runs as a thread of that process (`JobExecutorType.THREAD`), so it reads the agent and
number read models through the server's `Context`, whose ports run on the worker's own event loop.
This module is the livekit-agents glue; what a call decides and reports is in `handlers.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any

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
from livekit.agents.voice.events import CloseEvent, ErrorEvent
from livekit.agents.voice.room_io import RoomOptions
from livekit.plugins import silero
from opentelemetry import trace

from agent_runtime.adapters.livekit import CallControl, LiveKitCallControl, delete_room
from agent_runtime.agent import CallState, TalkifaiAgent
from agent_runtime.domain import (
    AgentRuntimeError,
    BadJobMetadata,
    LiveKitFailure,
    ProviderFailed,
    call_instructions,
    parse_job,
)
from agent_runtime.handlers import (
    Context,
    PreparedCall,
    prepare_call,
    report_call_failure,
    report_transcript,
    report_usage,
)
from agent_runtime.keypad import KeypadInput, keypad_turn

log = structlog.get_logger(__name__)
tracer = trace.get_tracer("agent_runtime")


def prewarm(proc: JobProcess) -> None:
    """Load Silero VAD once per process (its model ships in the plugin's wheel)."""
    proc.userdata["vad"] = silero.VAD.load()


async def on_request(request: JobRequest, ctx: Context) -> None:
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
    ctx.accepted += 1
    await request.accept(identity=f"agent-{request.id}", name="TalkifAI agent")


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


async def entrypoint(job_ctx: JobContext, ctx: Context) -> None:
    """Run one call: prepare, join, talk until someone hangs up or time runs out, report usage."""
    room = job_ctx.job.room.name
    started = time.monotonic()
    started_at = datetime.now(UTC)
    prepared: PreparedCall | None = None
    session: AgentSession[CallState] | None = None
    state: CallState | None = None
    with tracer.start_as_current_span("call", attributes={"room": room, "job_id": job_ctx.job.id}):
        try:
            prepared = await prepare_call(job_ctx.job.metadata, ctx)
            try:
                await job_ctx.connect()
            except rtc.ConnectError as exc:
                raise LiveKitFailure("join room", str(exc), retryable=True) from exc
            participant = await job_ctx.wait_for_participant(
                kind=rtc.ParticipantKind.PARTICIPANT_KIND_SIP
            )
            control: CallControl = LiveKitCallControl(job_ctx.api, job_ctx.room)
            state = CallState(
                room=room,
                meta=prepared.meta,
                policy=prepared.policy,
                control=control,
                consent=ctx.consent,
                sip_identity=participant.identity,
            )
            remote = prepared.meta.remote_number or participant.attributes.get("sip.phoneNumber")
            session = new_session(prepared, state, job_ctx.proc.userdata.get("vad"))
            call_state = state
            session.on("close", lambda ev: on_session_closed(call_state, ev))
            session.on("error", lambda ev: on_session_error(call_state, ev))
            job_ctx.room.on(
                "participant_disconnected",
                lambda p: (
                    call_state.mark_ended("caller_hangup")
                    if p.identity == call_state.sip_identity
                    else None
                ),
            )
            await session.start(
                build_agent(prepared, state, remote),
                room=job_ctx.room,
                room_options=RoomOptions(participant_identity=participant.identity),
            )
            listen_to_keypad(job_ctx.room, session, state)
            try:
                await asyncio.wait_for(state.ended.wait(), timeout=prepared.policy.max_duration_s)
            except TimeoutError:
                log.info("call.max_duration", room=room, limit_s=prepared.policy.max_duration_s)
                await state.finish("max_duration")
            if state.failure is not None:
                raise state.failure
            if state.end_reason == "session_closed":
                # The session stopped by itself: hang up rather than leave the line silent.
                with contextlib.suppress(AgentRuntimeError):
                    await control.hang_up(room, state.sip_identity)
        except AgentRuntimeError as exc:
            await _fail(job_ctx, ctx, prepared, exc)
        finally:
            if session is not None:
                with contextlib.suppress(Exception):
                    await session.aclose()
            if prepared is not None and session is not None and state is not None:
                usage = await report_usage(
                    ctx,
                    prepared,
                    session.usage,
                    state,
                    room=room,
                    started=started,
                    started_at=started_at,
                )
                await report_transcript(
                    ctx,
                    prepared,
                    list(session.history.items),
                    usage,
                    room=room,
                    started_at=started_at,
                )


def on_session_error(state: CallState, event: ErrorEvent) -> None:
    """A provider gave up (livekit-agents retried it already): the agent cannot answer any
    more, so the call fails with the provider's error rather than leaving the line silent."""
    error = event.error
    if getattr(error, "recoverable", True):
        return
    label = getattr(error, "label", "") or type(event.source).__name__
    detail = getattr(error, "error", error)
    state.failure = ProviderFailed(f"{getattr(error, 'type', 'error')} ({label}) failed: {detail}")
    log.error("call.provider_failed", room=state.room, error=state.failure.message)
    state.mark_ended("agent_error")


def on_session_closed(state: CallState, event: CloseEvent) -> None:
    """The session closed: after a provider failed for good, the call fails with its error."""
    if event.error is not None:
        on_session_error(state, ErrorEvent(error=event.error, source=event))
    state.mark_ended("session_closed")


def listen_to_keypad(room: rtc.Room, session: AgentSession[CallState], state: CallState) -> None:
    """The other party's key presses reach the agent as user turns (`[keypad] 12#`)."""

    def on_digits(digits: str) -> None:
        state.dtmf_received.append(digits)
        log.info("call.keypad", room=state.room, digits=digits)
        session.generate_reply(user_input=keypad_turn(digits))

    keypad = KeypadInput(on_digits)

    def on_dtmf(dtmf: rtc.SipDTMF) -> None:
        if dtmf.participant is not None and dtmf.participant.identity == state.sip_identity:
            keypad.press(dtmf.digit)

    room.on("sip_dtmf_received", on_dtmf)


async def _fail(
    job_ctx: JobContext,
    ctx: Context,
    prepared: PreparedCall | None,
    exc: AgentRuntimeError,
) -> None:
    """Report the failure, then hang up so the caller is not left in silence."""
    room = job_ctx.job.room.name
    await report_call_failure(
        ctx,
        room=room,
        job_id=job_ctx.job.id,
        raw_metadata=job_ctx.job.metadata,
        prepared=prepared,
        exc=exc,
    )
    # The room may not exist any more.
    with contextlib.suppress(Exception):
        await delete_room(job_ctx.api, room)


def create_server(ctx: Context) -> AgentServer:
    """The worker, registered as the configured agent name, jobs as threads (sharing `ctx`),
    VAD prewarmed."""
    settings = ctx.settings
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

    async def run_call(job_ctx: JobContext) -> None:
        await entrypoint(job_ctx, ctx)

    async def accept_job(request: JobRequest) -> None:
        await on_request(request, ctx)

    server.rtc_session(run_call, agent_name=settings.agent_name, on_request=accept_job)
    return server
