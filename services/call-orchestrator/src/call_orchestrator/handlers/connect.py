"""Connecting a recorded outbound call: wait for the agent's dispatch, dial, record the outcome."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from call_orchestrator.adapters.livekit import Answered, DialRequest
from call_orchestrator.adapters.postgres import CallChanges, CallRow
from call_orchestrator.errors import CallError, InternalError
from call_orchestrator.handlers.agent_failures import failure_of
from call_orchestrator.handlers.context import Context
from call_orchestrator.handlers.recording import start_recording
from call_orchestrator.handlers.timing import segment
from talkifai_common.events import CallStatus, RecordingMode

log = structlog.get_logger(__name__)


async def dispatched(ctx: Context, call: CallRow, dispatch: asyncio.Task[str]) -> None:
    """Wait for the agent's dispatch; a failure is recorded on the call and raised."""
    try:
        await dispatch
    except CallError as exc:
        outcome = await _record_failure(ctx, call, exc)
        if outcome is exc:
            raise
        raise outcome from exc


async def connect_quietly(
    ctx: Context, call: CallRow, dispatch: asyncio.Task[str], dial: DialRequest
) -> None:
    """`connect_call` for a caller who does not wait for the outcome."""
    # The outcome is in the call's history, events and webhooks; nobody waits for the error.
    with contextlib.suppress(CallError):
        await connect_call(ctx, call, dispatch, dial)


async def connect_call(
    ctx: Context, call: CallRow, dispatch: asyncio.Task[str], dial: DialRequest
) -> CallRow:
    """Wait for the agent's dispatch, dial; record the answer or the failure (CallError raised)."""
    poller: asyncio.Task[CallRow | None] | None = None
    try:
        dispatch_id = await dispatch
        poller = asyncio.create_task(_watch_ringing(ctx, call, dial))
        with segment("dial"):
            answer = await ctx.livekit.dial(dial)
    except CallError as exc:
        outcome = await _record_failure(ctx, _newest(call, poller), exc)
        if outcome is exc:
            raise
        raise outcome from exc
    except Exception as exc:
        log.exception("call.connect_failed", call_id=call.data.id)
        error = await _record_failure(ctx, _newest(call, poller), InternalError())
        raise error from exc
    finally:
        if poller is not None:
            poller.cancel()
    with segment("answer"):
        return await _record_answer(ctx, _newest(call, poller), answer, dispatch_id)


def _newest(call: CallRow, poller: asyncio.Task[CallRow | None] | None) -> CallRow:
    """The newest snapshot of the call this request holds: the ringing poller's, if it wrote one
    (the store checks the snapshot anyway; a newer one saves it a read)."""
    if poller is None or not poller.done() or poller.cancelled() or poller.exception():
        return call
    return poller.result() or call


async def _watch_ringing(ctx: Context, call: CallRow, dial: DialRequest) -> CallRow | None:
    """While dialing, poll the participant's `sip.callStatus` for `ringing` (no webhook says so);
    the ringing call, if it wrote it."""
    interval = ctx.settings.answer_poll_interval_s
    deadline = asyncio.get_running_loop().time() + dial.ringing_timeout_s + 5
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(interval)
        try:
            status = await ctx.livekit.call_status(dial.room_name, dial.participant_identity)
        except Exception as exc:
            log.debug("call.status_poll_failed", call_id=call.data.id, error=str(exc))
            continue
        if status == "ringing":
            return await ctx.stores.calls.advance(call, CallStatus.RINGING)
        if status in ("active", "hangup") or status is None:
            return None
    return None


async def _record_failure(ctx: Context, call: CallRow, error: CallError) -> CallError:
    """Record the call's failure; what it was: `error`, or the agent's failure when the agent
    failed first (agent-runtime reports it before hanging up, which ends the dial)."""
    failed = await ctx.stores.calls.advance(
        call,
        CallStatus.FAILED,
        CallChanges(failure_reason=error.failure_reason, sip_status_code=error.sip_status),
    )
    if failed is None:
        current = await ctx.stores.calls.get_call(call.data.id)
        agent_error = failure_of(current.data) if current else None
        if agent_error is not None:
            return agent_error
    log.info(
        "call.failed",
        call_id=call.data.id,
        reason=error.failure_reason,
        sip_status_code=error.sip_status,
    )
    # The dispatched agent would otherwise wait in the room.
    ctx.background.spawn(_close_room(ctx, call.data.room_name), name=f"close-{call.data.id}")
    return error


async def _close_room(ctx: Context, room_name: str) -> None:
    try:
        await ctx.livekit.delete_room(room_name)
    except Exception as exc:
        log.info("livekit.delete_room_failed", room=room_name, error=str(exc))


async def _record_answer(
    ctx: Context, call: CallRow, answer: Answered, dispatch_id: str
) -> CallRow:
    answered = await ctx.stores.calls.advance(
        call,
        CallStatus.ANSWERED,
        CallChanges(
            sip_call_id=answer.sip_call_id,
            participant_identity=answer.participant_identity,
            dispatch_id=dispatch_id,
        ),
    )
    if answered is None:
        # A webhook already finished it (the callee hung up at once), or the agent failed.
        current = await ctx.stores.calls.get_call(call.data.id)
        assert current is not None
        if (agent_error := failure_of(current.data)) is not None:
            # The callee answered a call whose agent is gone: hang up rather than leave silence.
            ctx.background.spawn(
                _close_room(ctx, call.data.room_name), name=f"close-{call.data.id}"
            )
            raise agent_error
        return current
    log.info("call.answered", call_id=call.data.id, sip_call_id=answer.sip_call_id)
    if answered.participant_left_at is not None:
        # The callee hung up before we recorded the answer (webhook first).
        ended = await ctx.stores.calls.transition(call.data.id, CallStatus.COMPLETED)
        return ended or answered
    if answered.recording_mode is RecordingMode.ALL:
        answered = await start_recording(ctx, answered) or answered
    return answered
