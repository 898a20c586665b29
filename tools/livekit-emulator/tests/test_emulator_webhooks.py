"""Webhooks as LiveKit sends them, verified with livekit-api's own WebhookReceiver."""

from __future__ import annotations

from livekit import api
from livekit.protocol import sip
from livekit.protocol.models import DisconnectReason

from livekit_emulator.testing import RunningEmulator
from tests.support.emulator import (
    Delivery,
    WebhookSink,
    inbound_trunk,
    individual_rule,
    outbound_trunk,
)


def events(deliveries: list[Delivery], lk: RunningEmulator, room: str) -> list[api.WebhookEvent]:
    receiver = api.WebhookReceiver(api.TokenVerifier(lk.api_key, lk.api_secret))
    parsed = [receiver.receive(d.body, d.authorization) for d in deliveries]
    return [e for e in parsed if e.room.name == room]


async def test_inbound_call_and_hangup_send_signed_webhooks_in_order(
    lk_hooks: RunningEmulator, hooks_api: api.LiveKitAPI, sink: WebhookSink
) -> None:
    trunk = await inbound_trunk(hooks_api, "+15550100")
    await individual_rule(hooks_api, [trunk.sip_trunk_id])
    call = await lk_hooks.control.inbound_call("+15550142", "+15550100")
    await lk_hooks.control.hangup(call.sip_call_id)
    await sink.wait_for(lambda ds: len(events(ds, lk_hooks, call.room_name)) >= 4)
    received = events(sink.deliveries, lk_hooks, call.room_name)
    assert [e.event for e in received] == [
        "room_started",
        "participant_joined",
        "participant_left",
        "room_finished",
    ]
    joined = received[1].participant
    assert joined.kind == joined.Kind.SIP
    assert joined.attributes["sip.callID"] == call.sip_call_id
    assert joined.attributes["sip.trunkPhoneNumber"] == "+15550100"
    assert all(e.id.startswith("EV_") and e.created_at > 0 for e in received)
    delivery = sink.deliveries[0]
    assert delivery.content_type == "application/webhook+json"
    assert not delivery.authorization.startswith("Bearer")


async def test_webhook_signed_with_another_secret_is_rejected_by_the_receiver(
    lk_hooks: RunningEmulator, hooks_api: api.LiveKitAPI, sink: WebhookSink
) -> None:
    await hooks_api.room.create_room(api.CreateRoomRequest(name="signed"))
    await sink.wait_for(lambda ds: len(ds) >= 1)
    receiver = api.WebhookReceiver(api.TokenVerifier(lk_hooks.api_key, "another-secret"))
    delivery = sink.deliveries[0]
    try:
        receiver.receive(delivery.body, delivery.authorization)
    except Exception as exc:  # PyJWT's InvalidSignatureError
        assert "Signature" in type(exc).__name__
    else:
        raise AssertionError("a webhook verified with the wrong secret")


async def test_failed_outbound_call_sends_joined_then_left(
    lk_hooks: RunningEmulator, hooks_api: api.LiveKitAPI, sink: WebhookSink
) -> None:
    trunk = await outbound_trunk(hooks_api)
    await lk_hooks.control.set_outcome("+15550199", sip_status_code=486)
    request = sip.CreateSIPParticipantRequest(
        sip_trunk_id=trunk.sip_trunk_id, sip_call_to="+15550199", room_name="busy-room"
    )
    await hooks_api.sip.create_sip_participant(request)
    await sink.wait_for(lambda ds: len(events(ds, lk_hooks, "busy-room")) >= 4)
    received = events(sink.deliveries, lk_hooks, "busy-room")
    assert [e.event for e in received] == [
        "room_started",
        "participant_joined",
        "participant_left",
        "room_finished",
    ]
    assert received[1].participant.attributes["sip.callStatus"] == "dialing"
    assert received[2].participant.disconnect_reason == DisconnectReason.USER_REJECTED


async def test_attribute_changes_send_no_webhook(
    lk_hooks: RunningEmulator, hooks_api: api.LiveKitAPI, sink: WebhookSink
) -> None:
    trunk = await outbound_trunk(hooks_api)
    await lk_hooks.control.set_outcome("+15550199", ring_ms=30)
    request = sip.CreateSIPParticipantRequest(
        sip_trunk_id=trunk.sip_trunk_id,
        sip_call_to="+15550199",
        room_name="quiet-room",
        wait_until_answered=True,
    )
    call = await hooks_api.sip.create_sip_participant(request)
    await lk_hooks.control.hangup(call.sip_call_id)
    await sink.wait_for(lambda ds: len(events(ds, lk_hooks, "quiet-room")) >= 4)
    # LiveKit has no webhook for participant attribute changes (dialing -> ringing -> active).
    assert [e.event for e in events(sink.deliveries, lk_hooks, "quiet-room")] == [
        "room_started",
        "participant_joined",
        "participant_left",
        "room_finished",
    ]


async def test_failed_delivery_is_retried(
    lk_hooks: RunningEmulator, hooks_api: api.LiveKitAPI, sink: WebhookSink
) -> None:
    sink.fail_next = 2
    await hooks_api.room.create_room(api.CreateRoomRequest(name="retried"))
    await sink.wait_for(lambda ds: len(events(ds, lk_hooks, "retried")) >= 1)
    assert sink.attempts >= 3
