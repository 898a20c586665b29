"""Calls whose end LiveKit never reported: ended once their room is gone, or, for an outbound call
whose dialer stopped before dialing, once it is clear nobody was rung."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from call_orchestrator.adapters.postgres import CallChanges, CallRow, utcnow
from call_orchestrator.handlers.context import JITTER, Context
from call_orchestrator.handlers.livekit_events import ABANDONED
from talkifai_common.events import CallDirection, CallStatus
from talkifai_common.periodic import repeat

log = structlog.get_logger(__name__)


async def close_calls_without_room(ctx: Context, *, batch: int = 200) -> int:
    """End live calls whose room LiveKit no longer has (their webhooks were lost: we were down,
    or LiveKit gave up): answered ones complete, the others fail as abandoned. Each frees its
    organization's live-call slot. Only calls older than any ringing window are looked at, so
    no dialer is still waiting on them. Returns how many it ended."""
    started_before = utcnow() - timedelta(seconds=ctx.settings.live_call_check_after_s)
    ended = 0
    after: tuple[datetime, str] | None = None
    while calls := await ctx.stores.live_calls.started_before(started_before, batch, after):
        after = (calls[-1].data.started_at, calls[-1].data.id)
        rooms = await ctx.livekit.existing_rooms(sorted({c.data.room_name for c in calls}))
        for call in calls:
            if call.data.room_name not in rooms:
                ended += await _end_without_webhook(ctx, call)
            elif await _never_dialed(ctx, call):
                ended += await _end_never_dialed(ctx, call)
        if len(calls) < batch:
            break
    return ended


async def _never_dialed(ctx: Context, call: CallRow) -> bool:
    """An outbound call still `initiated` past any ringing window with no SIP participant in its
    room: its dialer stopped after recording it and dispatching the agent (which made the room)
    but before dialing, so nobody was rung and nobody will be. Its room would live until
    LiveKit's empty timeout (5 minutes) with the call holding a live-call slot."""
    if call.data.direction is not CallDirection.OUTBOUND:
        return False
    if call.data.status is not CallStatus.INITIATED or not call.participant_identity:
        return False
    # A dial creates the SIP participant at once and rings at most this long.
    if utcnow() - call.data.started_at < timedelta(seconds=ctx.settings.default_ringing_timeout_s):
        return False
    return await ctx.livekit.call_status(call.data.room_name, call.participant_identity) is None


async def _end_never_dialed(ctx: Context, call: CallRow) -> int:
    """Fail it as abandoned and delete its room, so the dispatched agent leaves."""
    ended = await _end_without_webhook(ctx, call)
    if ended:
        try:
            await ctx.livekit.delete_room(call.data.room_name)
        except Exception as exc:  # the room closes by itself at LiveKit's empty timeout
            log.warning("call.room_not_deleted", call_id=call.data.id, error=str(exc))
    return ended


async def _end_without_webhook(ctx: Context, call: CallRow) -> int:
    if call.data.status is CallStatus.ANSWERED:
        done = await ctx.stores.calls.advance(call, CallStatus.COMPLETED)
    else:
        done = await ctx.stores.calls.advance(
            call, CallStatus.FAILED, CallChanges(failure_reason=ABANDONED)
        )
    if done is None:
        return 0
    log.warning(
        "call.ended_without_webhook",
        call_id=call.data.id,
        room=call.data.room_name,
        status=done.data.status.value,
    )
    return 1


async def check_live_calls_periodically(ctx: Context) -> None:
    """`close_calls_without_room` every `live_call_check_interval_s`, until cancelled."""
    await repeat(
        lambda: close_calls_without_room(ctx),
        ctx.settings.live_call_check_interval_s,
        failure_event="call.live_check_failed",
        first_now=False,
        jitter=JITTER,  # replicas drift apart instead of checking in step
    )
