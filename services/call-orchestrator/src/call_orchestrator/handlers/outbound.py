"""The seed's outbound call: validate, find the number, record the call, dispatch, dial.

`start_outbound_call` is the one path a call takes up to its recording, for the HTTP route and
for the campaign scheduler alike; each then dials it (`connect_call`).

The agent's dispatch runs while the call is recorded (the dial waits for both): the lookup has
already refused a room a live call holds and an organization at its limit, and a request that
loses a race for either to another one withdraws its dispatch.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog
from pydantic import JsonValue

from call_orchestrator.adapters import postgres
from call_orchestrator.adapters.livekit import DialRequest
from call_orchestrator.adapters.postgres import CallRow, CampaignCall, NewCall
from call_orchestrator.domain import (
    OutboundTarget,
    new_call_id,
    outbound_identity,
    outbound_room_name,
)
from call_orchestrator.errors import (
    CallInProgress,
    InvalidNumber,
    NumberInactive,
    NumberNotFound,
    TextAgent,
    TooManyCalls,
    TrunkNotSynced,
)
from call_orchestrator.handlers.agent_failures import check_agent_can_run
from call_orchestrator.handlers.connect import connect_call, connect_quietly, dispatched
from call_orchestrator.handlers.context import Context
from call_orchestrator.handlers.timing import segment
from call_orchestrator.schemas import OutboundCallRequest, OutboundCallResponse
from talkifai_common.auth import Principal
from talkifai_common.e164 import InvalidPhoneNumber, normalize_e164
from talkifai_common.events import CallAgentRef, CallDirection, CallStatus, NumberFormat
from talkifai_common.jobs import OutboundJob

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Leg:
    """The two numbers of an outbound call, in E.164."""

    from_number: str
    to_number: str


@dataclass(frozen=True)
class OutboundOrder:
    """A call to place: a caller's request, or a campaign row's attempt."""

    org_id: str
    to_number: str
    from_number: str
    metadata: dict[str, JsonValue] = field(default_factory=dict)
    ringing_timeout_s: int | None = None
    max_call_duration_s: int | None = None
    call_id: str | None = None
    """Given by a campaign, which writes its attempt with the call id before the call."""
    campaign: CampaignCall | None = None
    agent_id: str | None = None
    """The organization's agent to dispatch instead of the number's outbound agent."""


@dataclass(frozen=True)
class StartedCall:
    """A recorded call whose agent is being dispatched, with the dial that connects it."""

    call: CallRow
    dispatch: asyncio.Task[str]
    dial: DialRequest
    response: OutboundCallResponse


async def place_outbound_call(
    ctx: Context, principal: Principal, body: OutboundCallRequest
) -> OutboundCallResponse:
    """Place the call; the answered call, or at once the initiated one when the caller does not
    wait (a CallError when no call could be placed)."""
    started = await start_outbound_call(ctx, _order(principal, body))
    call, dispatch, dial = started.call, started.dispatch, started.dial
    if not body.wait_until_answered:
        # The dispatch answers within LiveKit's deadline: a LiveKit that is slow or down is
        # LiveKitUnavailable now rather than an accepted call that cannot be placed.
        await dispatched(ctx, call, dispatch)
        ctx.background.spawn(
            connect_quietly(ctx, call, dispatch, dial), name=f"call-{call.data.id}"
        )
        return started.response
    answered = await connect_call(ctx, call, dispatch, dial)
    return started.response.model_copy(update={"status": answered.data.status.value})


async def start_outbound_call(ctx: Context, order: OutboundOrder) -> StartedCall:
    """Every check before ringing anyone, then the call recorded (taking a live-call slot) while
    its agent is dispatched; dialing is the caller's (`connect_call`). A CallError when no call
    could be recorded; `postgres.AttemptFenced` when a campaign attempt lost its lease."""
    leg = _leg(order)
    target, trunk_id = await _target(ctx, order, leg)
    room_name = outbound_room_name(target.agent_id, leg.to_number, leg.from_number)
    call_id = order.call_id or new_call_id()
    job = OutboundJob(
        agent_id=target.agent_id,
        call_id=call_id,
        phone_number_id=target.phone_number_id,
        from_number=leg.from_number,
        to_number=leg.to_number,
        metadata=order.metadata,
        campaign=order.campaign.ref if order.campaign else None,
    )
    dispatch = asyncio.create_task(_dispatch(ctx, room_name, job))
    new = _new_call(call_id, order, leg, target, room_name)
    call = await _record(ctx, new, dispatch)
    log.info("call.initiated", call_id=call.data.id, room=room_name, org_id=order.org_id)
    dial = _dial_request(ctx, order, leg, trunk_id, call, target.dial_format)
    return StartedCall(call, dispatch, dial, _response(call, leg, target))


def _order(principal: Principal, body: OutboundCallRequest) -> OutboundOrder:
    return OutboundOrder(
        org_id=principal.org_id,
        to_number=body.to_number,
        from_number=body.from_number,
        metadata=body.metadata or {},
        ringing_timeout_s=body.ringing_timeout_s,
        max_call_duration_s=body.max_call_duration_s,
    )


def _leg(order: OutboundOrder) -> Leg:
    """The order's numbers, normalized (InvalidNumber naming the field otherwise)."""
    to_number = _number("to_number", order.to_number)  # checked first, as the seed's API does
    return Leg(from_number=_number("from_number", order.from_number), to_number=to_number)


def _number(field_name: str, raw: str) -> str:
    try:
        return normalize_e164(raw)
    except InvalidPhoneNumber as exc:
        raise InvalidNumber.in_field(field_name, exc) from exc


async def _target(ctx: Context, order: OutboundOrder, leg: Leg) -> tuple[OutboundTarget, str]:
    """The number the call is placed from and its outbound trunk, once every check before
    ringing anyone passed."""
    limit = ctx.settings.max_concurrent_calls_per_org
    with segment("lookup"):
        target = await ctx.stores.targets.outbound_target(
            order.org_id,
            leg.from_number,
            leg.to_number,
            max_live_per_org=limit,
            agent_id=order.agent_id,
        )
    if target is None:
        raise NumberNotFound()
    if target.inactive:
        raise NumberInactive(leg.from_number)
    if target.agent_architecture is None or not target.agent_architecture.is_voice:
        raise TextAgent()
    check_agent_can_run(ctx.runtimes, ctx.settings.agent_name, target.agent_provider_keys)
    trunk_id = target.outbound_trunk_id
    if not trunk_id:
        raise TrunkNotSynced.for_number(leg.from_number)
    if target.room_in_use:
        raise CallInProgress(leg.from_number, leg.to_number)
    if target.org_at_limit:
        raise TooManyCalls(limit)
    return target, trunk_id


def _new_call(
    call_id: str, order: OutboundOrder, leg: Leg, target: OutboundTarget, room_name: str
) -> NewCall:
    return NewCall(
        id=call_id,
        org_id=order.org_id,
        direction=CallDirection.OUTBOUND,
        phone_number_id=target.phone_number_id,
        phone_number=leg.from_number,
        from_number=leg.from_number,
        to_number=leg.to_number,
        agent_id=target.agent_id,
        agent_name=target.agent_name,
        room_name=room_name,
        webhook_url=target.webhook_url,
        recording_mode=target.recording_mode,
        participant_identity=outbound_identity(leg.to_number),
        campaign=order.campaign,
    )


async def _record(ctx: Context, new: NewCall, dispatch: asyncio.Task[str]) -> CallRow:
    """Record the call, taking a live-call slot; a call that is not recorded withdraws its
    dispatch (its agent leaves, or never comes)."""
    limit = ctx.settings.max_concurrent_calls_per_org
    try:
        with segment("create"):
            return await ctx.stores.calls.create_call(new, max_live_per_org=limit)
    except BaseException as exc:
        ctx.background.spawn(_withdraw(ctx, new.room_name, dispatch), name=f"withdraw-{new.id}")
        if isinstance(exc, postgres.TooManyCalls):
            raise TooManyCalls(limit) from exc
        if isinstance(exc, postgres.CallInProgress):
            raise CallInProgress(new.from_number, new.to_number) from exc
        raise


def _dial_request(
    ctx: Context,
    order: OutboundOrder,
    leg: Leg,
    trunk_id: str,
    call: CallRow,
    dial_format: NumberFormat,
) -> DialRequest:
    """The INVITE LiveKit sends: both numbers written as the carrier wants them."""
    return DialRequest(
        trunk_id=trunk_id,
        to_number=dial_format.write(leg.to_number),
        from_number=dial_format.write(leg.from_number),
        room_name=call.data.room_name,
        participant_identity=outbound_identity(leg.to_number),
        ringing_timeout_s=order.ringing_timeout_s or ctx.settings.default_ringing_timeout_s,
        max_call_duration_s=order.max_call_duration_s,
    )


def _response(call: CallRow, leg: Leg, target: OutboundTarget) -> OutboundCallResponse:
    return OutboundCallResponse(
        message="Call initiated successfully",
        room_name=call.data.room_name,
        agent=CallAgentRef(id=target.agent_id, name=target.agent_name),
        from_number=leg.from_number,
        to_number=leg.to_number,
        call_id=call.data.id,
        status=CallStatus.INITIATED.value,
    )


async def _dispatch(ctx: Context, room_name: str, job: OutboundJob) -> str:
    """Dispatch the call's agent to its room; the dispatch id (a CallError when LiveKit fails)."""
    with segment("dispatch"):
        return await ctx.livekit.dispatch_agent(
            room_name, ctx.settings.agent_name, job.model_dump_json()
        )


async def _withdraw(ctx: Context, room_name: str, dispatch: asyncio.Task[str]) -> None:
    """Delete the dispatch of a call that was not recorded, so its agent leaves (or never comes)."""
    try:
        dispatch_id = await dispatch
    except Exception:
        return  # nothing was dispatched
    try:
        await ctx.livekit.withdraw_dispatch(room_name, dispatch_id)
    except Exception as exc:
        log.warning(
            "livekit.withdraw_dispatch_failed",
            room=room_name,
            dispatch_id=dispatch_id,
            error=str(exc),
        )
        return
    log.info("call.dispatch_withdrawn", room=room_name, dispatch_id=dispatch_id)
