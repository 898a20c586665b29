"""Hanging up a live call on a user's request: LiveKit's room is deleted (the caller or callee
and the agent leave with it) and the call ends with reason `hung_up_by_user`."""

from __future__ import annotations

import structlog

from call_orchestrator.adapters.postgres import CallChanges, utcnow
from call_orchestrator.domain import FINAL_STATUSES, HUNG_UP_BY_USER
from call_orchestrator.handlers.context import Context
from talkifai_common.auth import Principal
from talkifai_common.errors import Conflict, NotFound, TalkifaiError
from talkifai_common.events import CallData, CallStatus

log = structlog.get_logger(__name__)


class CallAlreadyEnded(Conflict):
    """The call is completed or failed: there is nothing to hang up."""

    def __init__(self, call: CallData) -> None:
        super().__init__(
            f"Call {call.id} has already ended ({call.status.value}); there is nothing to hang up"
        )
        self.call = call


class HangupUnavailable(TalkifaiError):
    """LiveKit did not end the call (unreachable, slow or failing); trying again may work."""

    status_code = 503
    title = "Service unavailable"
    retryable = True

    def __init__(self) -> None:
        super().__init__("The call service (LiveKit) did not end the call; try again shortly")


async def hang_up(ctx: Context, principal: Principal, call_id: str) -> CallData:
    """End a live call of the caller's organization (owners and admins); the call as it is now.

    Answered calls complete with `end_reason` `hung_up_by_user`; calls not answered yet fail with
    that `failure_reason`. The wish is recorded before LiveKit is asked, so a LiveKit webhook that
    ends the call first records the same reason.
    """
    principal.require_manager()
    call = await ctx.stores.calls.get_call(call_id, principal.org_id)
    if call is None:
        raise NotFound(f"Call {call_id} not found")
    if call.data.status in FINAL_STATUSES:
        raise CallAlreadyEnded(call.data)
    await ctx.stores.calls.update(call_id, CallChanges(hangup_requested_at=utcnow()))
    try:
        await ctx.livekit.delete_room(call.data.room_name)
    except Exception as exc:
        log.warning("call.hangup_failed", call_id=call_id, error=str(exc))
        raise HangupUnavailable() from exc
    current = await ctx.stores.calls.get_call(call_id)
    assert current is not None  # calls are never deleted
    if current.data.status is CallStatus.ANSWERED:
        ended = await ctx.stores.calls.advance(current, CallStatus.COMPLETED)
    else:
        ended = await ctx.stores.calls.advance(
            current, CallStatus.FAILED, CallChanges(failure_reason=HUNG_UP_BY_USER)
        )
    if ended is None:  # LiveKit's webhook, or the dialer, recorded the end first
        ended = await ctx.stores.calls.get_call(call_id)
        assert ended is not None
    log.info("call.hung_up", call_id=call_id, status=ended.data.status.value, by=principal.sub)
    return ended.data
