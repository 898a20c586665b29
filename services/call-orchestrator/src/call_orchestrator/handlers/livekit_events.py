"""LiveKit's webhooks drive the call history: inbound calls appear, calls end, rooms close,
recordings are stored (egress ended)."""

from __future__ import annotations

import structlog
from livekit.protocol.models import ParticipantInfo
from livekit.protocol.webhook import WebhookEvent

from call_orchestrator.adapters.postgres import (
    CallChanges,
    CallInProgress,
    NewCall,
    utcnow,
)
from call_orchestrator.domain import FINAL_STATUSES, OUTBOUND_ROOM_PREFIX, new_call_id
from call_orchestrator.handlers import costs, recording_files
from call_orchestrator.handlers.context import Context
from call_orchestrator.handlers.recording import start_recording
from talkifai_common.e164 import InvalidPhoneNumber, normalize_e164
from talkifai_common.events import CallDirection, CallStatus, RecordingMode

log = structlog.get_logger(__name__)
ATTR_CALL_ID = "sip.callID"
ATTR_PHONE_NUMBER = "sip.phoneNumber"
ATTR_TRUNK_NUMBER = "sip.trunkPhoneNumber"
ATTR_RULE_ID = "sip.ruleID"
ABANDONED = "abandoned"


async def on_livekit_event(ctx: Context, event: WebhookEvent) -> str:
    """Drive call history from a verified LiveKit webhook; returns what it did (for logs)."""
    if not await ctx.stores.livekit_webhooks.first_time_webhook(event.id):
        return "duplicate"
    kind = event.event
    room_name = event.room.name if event.HasField("room") else ""
    if kind == "participant_joined" and event.HasField("participant"):
        return await _participant_joined(ctx, room_name, event.participant)
    if kind == "participant_left" and event.HasField("participant"):
        return await _participant_left(ctx, room_name, event.participant)
    if kind == "room_finished" and room_name:
        return await _room_finished(ctx, room_name)
    if kind == "egress_ended" and event.HasField("egress_info"):
        return await recording_files.on_egress_ended(ctx, event.egress_info)
    return "ignored"


def _is_sip(participant: ParticipantInfo) -> bool:
    return participant.kind == ParticipantInfo.Kind.SIP or ATTR_CALL_ID in participant.attributes


async def _participant_joined(ctx: Context, room_name: str, participant: ParticipantInfo) -> str:
    if not _is_sip(participant) or not room_name:
        return "ignored"
    existing = await ctx.stores.calls.call_in_room(room_name)
    if existing is not None and existing.data.status not in FINAL_STATUSES:
        return "known"
    attrs = participant.attributes
    if existing is not None and existing.data.direction is CallDirection.OUTBOUND:
        return "known"
    if ATTR_RULE_ID not in attrs and room_name.startswith(OUTBOUND_ROOM_PREFIX):
        return "ignored"
    ours, caller = attrs.get(ATTR_TRUNK_NUMBER, ""), attrs.get(ATTR_PHONE_NUMBER, "")
    try:
        ours, caller = normalize_e164(ours), normalize_e164(caller) if caller else "unknown"
    except InvalidPhoneNumber:
        log.warning("webhook.inbound_unknown_number", room=room_name)
        return "ignored"
    target = await ctx.stores.targets.inbound_target(ours)
    if target is None:
        log.warning("webhook.inbound_number_not_in_read_model", room=room_name)
        return "ignored"
    try:
        call = await ctx.stores.calls.create_call(
            NewCall(
                id=new_call_id(),
                org_id=target.org_id,
                direction=CallDirection.INBOUND,
                phone_number_id=target.phone_number_id,
                phone_number=ours,
                from_number=caller,
                to_number=ours,
                agent_id=target.agent_id or None,
                agent_name=target.agent_name or None,
                room_name=room_name,
                webhook_url=target.webhook_url,
                recording_mode=target.recording_mode,
                participant_identity=participant.identity,
                sip_call_id=attrs.get(ATTR_CALL_ID),
            ),
            max_live_per_org=None,
            # LiveKit SIP puts an inbound caller in the room once it accepted the INVITE.
            then=CallStatus.ANSWERED,
        )
    except CallInProgress:
        return "known"
    log.info("call.inbound", call_id=call.data.id, room=room_name, org_id=target.org_id)
    if call.recording_mode is RecordingMode.ALL:
        await start_recording(ctx, call)
    return "inbound_call"


async def _participant_left(ctx: Context, room_name: str, participant: ParticipantInfo) -> str:
    if not _is_sip(participant) or not room_name:
        return "ignored"
    call = await ctx.stores.calls.call_in_room(room_name)
    if call is None or (
        call.participant_identity and call.participant_identity != participant.identity
    ):
        return "ignored"
    if call.data.status is CallStatus.ANSWERED:
        done = await ctx.stores.calls.transition(call.data.id, CallStatus.COMPLETED)
        if done:
            price_when_ended(ctx, call.data.id)
        return "completed" if done else "already_final"
    if call.data.status in (CallStatus.INITIATED, CallStatus.RINGING):
        # The dialer owns the outcome before the answer; note the departure for it.
        await ctx.stores.calls.update(call.data.id, CallChanges(participant_left_at=utcnow()))
        return "left_before_answer"
    return "ignored"


async def _room_finished(ctx: Context, room_name: str) -> str:
    call = await ctx.stores.calls.call_in_room(room_name)
    if call is None:
        return "ignored"
    if call.data.status is CallStatus.ANSWERED:
        done = await ctx.stores.calls.transition(call.data.id, CallStatus.COMPLETED)
        if done:
            price_when_ended(ctx, call.data.id)
        return "completed" if done else "already_final"
    if call.data.status in (CallStatus.INITIATED, CallStatus.RINGING):
        # Only a call whose dialer cannot still be waiting (ringing window over) is abandoned.
        age = (utcnow() - call.data.started_at).total_seconds()
        if age > ctx.settings.live_call_check_after_s:
            await ctx.stores.calls.transition(
                call.data.id, CallStatus.FAILED, CallChanges(failure_reason=ABANDONED)
            )
            return ABANDONED
    return "ignored"


def price_when_ended(ctx: Context, call_id: str) -> None:
    """Price the call now if agent-runtime's usage came before its end (the usual order); off
    the webhook's path, and `cost_ended_calls` prices it later if this fails."""
    ctx.background.spawn(costs.cost_call(ctx.stores, call_id), name=f"cost-{call_id}")
