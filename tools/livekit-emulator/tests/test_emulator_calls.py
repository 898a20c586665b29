"""Outbound calls through CreateSIPParticipant, with outcomes programmed per number."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from livekit import api
from livekit.protocol import room as room_pb
from livekit.protocol import sip
from livekit.protocol.models import ParticipantInfo

from livekit_emulator.testing import RunningEmulator
from tests.support.emulator import WAIT_S, outbound_trunk

CALLEE = "+15550199"


def dial(
    trunk_id: str, to: str = CALLEE, room: str = "call-room", **fields: Any
) -> sip.CreateSIPParticipantRequest:
    return sip.CreateSIPParticipantRequest(
        sip_trunk_id=trunk_id, sip_call_to=to, room_name=room, **fields
    )


async def participants(lk: RunningEmulator) -> list[dict[str, Any]]:
    return list((await lk.control.state())["participants"])


async def wait_until(lk: RunningEmulator, check: Any) -> dict[str, Any]:
    """Poll the control state until `check(state)` holds (bounded by WAIT_S)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            state = await lk.control.state()
            if check(state):
                return state
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sip_call_to": CALLEE, "room_name": "r"}, "missing sip trunk id and sip number"),
        ({"sip_trunk_id": "ST_x", "room_name": "r"}, "missing sip callee number"),
        ({"sip_trunk_id": "ST_x", "sip_call_to": CALLEE}, "missing room name"),
        (
            {"sip_trunk_id": "ST_x", "sip_call_to": "bob@example.com", "room_name": "r"},
            "SipCallTo should be a phone number or SIP user, not a full SIP URI",
        ),
    ],
)
async def test_create_sip_participant_validation(
    lkapi: api.LiveKitAPI, fields: dict[str, str], message: str
) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.create_sip_participant(sip.CreateSIPParticipantRequest(**fields))  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.status, caught.value.message) == (
        "invalid_argument",
        400,
        message,
    )


async def test_unknown_trunk_is_not_found(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.create_sip_participant(dial("ST_missing"))
    assert (caught.value.code, caught.value.message) == (
        "not_found",
        "requested sip trunk does not exist",
    )


async def test_dialing_needs_the_sip_call_grant(lk: RunningEmulator) -> None:
    admin_only = (
        api.AccessToken(lk.api_key, lk.api_secret)
        .with_sip_grants(api.SIPGrants(admin=True))
        .to_jwt()
    )
    client = api.LiveKitAPI(lk.url, token=admin_only)
    with pytest.raises(api.TwirpError) as caught:
        await client.sip.create_sip_participant(dial("ST_x"))
    await client.aclose()
    assert (caught.value.status, caught.value.message) == (401, "permissions denied")


async def test_answered_call_joins_a_sip_participant_with_livekit_attributes(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await outbound_trunk(lkapi, "+15550100")
    info = await lkapi.sip.create_sip_participant(
        dial(trunk.sip_trunk_id, participant_attributes={"crm": "42"}, wait_until_answered=True)
    )
    assert info.participant_identity == f"sip_{CALLEE}"
    assert info.sip_call_id.startswith("SCL_") and info.participant_id.startswith("PA_")
    participant = await lkapi.room.get_participant(
        room_pb.RoomParticipantIdentity(room="call-room", identity=info.participant_identity)
    )
    assert participant.kind == ParticipantInfo.Kind.SIP
    assert dict(participant.attributes) == {
        "crm": "42",
        "sip.callID": info.sip_call_id,
        "sip.trunkID": trunk.sip_trunk_id,
        "sip.phoneNumber": CALLEE,
        "sip.trunkPhoneNumber": "+15550100",
        "sip.hostname": "sip.example.com",
        "sip.callStatus": "active",
    }
    rooms = await lkapi.room.list_rooms(room_pb.ListRoomsRequest())
    assert [r.name for r in rooms.rooms] == ["call-room"]


@pytest.mark.parametrize(
    ("status", "code", "http"),
    [
        (486, "resource_exhausted", 429),
        (402, "permission_denied", 403),
        (404, "not_found", 404),
        (503, "failed_precondition", 412),
        (603, "permission_denied", 403),
        (408, "deadline_exceeded", 408),
    ],
)
async def test_failed_call_raises_sip_call_error_with_the_sip_status(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, status: int, code: str, http: int
) -> None:
    trunk = await outbound_trunk(lkapi)
    await lk.control.set_outcome(CALLEE, sip_status_code=status)
    with pytest.raises(api.SipCallError) as caught:
        await lkapi.sip.create_sip_participant(dial(trunk.sip_trunk_id, wait_until_answered=True))
    assert caught.value.sip_status_code == status
    assert (caught.value.code, caught.value.status) == (code, http)
    assert caught.value.message.startswith("twirp error unknown: ")
    assert f"sip status: {status}: " in caught.value.message


async def test_an_outcome_applies_to_every_spelling_of_its_number(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await outbound_trunk(lkapi)
    await lk.control.set_outcome("+1 (555) 019-9", sip_status_code=486)
    await lk.control.set_outcome("1 555 0199", sip_status_code=603)  # later spelling: not used
    await lk.control.set_outcome("+15550100", sip_status_code=404)

    for to in (CALLEE, "15550199", "+1 555-0199"):
        with pytest.raises(api.SipCallError) as caught:
            await lkapi.sip.create_sip_participant(
                dial(trunk.sip_trunk_id, to=to, room=f"r{to}", wait_until_answered=True)
            )
        assert caught.value.sip_status_code == 486
    with pytest.raises(api.SipCallError) as exact:
        await lkapi.sip.create_sip_participant(
            dial(trunk.sip_trunk_id, to="1 555 0199", room="exact", wait_until_answered=True)
        )
    assert exact.value.sip_status_code == 603
    answered = await lkapi.sip.create_sip_participant(
        dial(trunk.sip_trunk_id, to="+15550111", room="other", wait_until_answered=True)
    )
    assert answered.sip_call_id


async def test_busy_message_and_reason_read_as_livekit_reports_them(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await outbound_trunk(lkapi)
    await lk.control.set_outcome(CALLEE, sip_status_code=486, ring_ms=20)
    with pytest.raises(api.SipCallError) as caught:
        await lkapi.sip.create_sip_participant(dial(trunk.sip_trunk_id, wait_until_answered=True))
    assert caught.value.message == "twirp error unknown: INVITE failed: sip status: 486: Busy Here"
    assert caught.value.sip_status == "Busy Here"
    assert "error_details" in caught.value.metadata
    state = await lk.control.state()
    assert state["participants"] == []
    assert state["calls"][0]["status"] == "failed"


async def test_unanswered_call_times_out_without_sip_metadata(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await outbound_trunk(lkapi)
    await lk.control.set_outcome(CALLEE, no_answer=True)
    request = dial(
        trunk.sip_trunk_id, wait_until_answered=True, ringing_timeout=Duration(nanos=200_000_000)
    )
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.create_sip_participant(request)
    assert not isinstance(caught.value, api.SipCallError)
    assert (caught.value.code, caught.value.status) == ("canceled", 408)
    assert caught.value.message == "twirp error unknown: sip request timed out"
    assert "sip_status_code" not in caught.value.metadata


async def test_without_waiting_the_call_plays_out_after_the_answer(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await outbound_trunk(lkapi)
    await lk.control.set_outcome(CALLEE, ring_ms=100)
    info = await lkapi.sip.create_sip_participant(dial(trunk.sip_trunk_id))
    first = await participants(lk)
    assert first[0]["attributes"]["sip.callStatus"] in ("dialing", "ringing")
    await wait_until(lk, lambda s: s["participants"][0]["attributes"]["sip.callStatus"] == "active")
    assert (await lk.control.state())["calls"][0]["sip_call_id"] == info.sip_call_id


async def test_without_waiting_a_failed_call_makes_the_participant_leave(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await outbound_trunk(lkapi)
    await lk.control.set_outcome(CALLEE, sip_status_code=486, ring_ms=50)
    await lkapi.sip.create_sip_participant(dial(trunk.sip_trunk_id))
    assert len(await participants(lk)) == 1
    # The room closes once empty: at the departure timeout (0 s here), a loop turn later.
    state = await wait_until(lk, lambda s: not s["participants"] and not s["rooms"])
    assert state["calls"][0]["sip_status_code"] == 486


async def test_max_call_duration_ends_the_call(lk: RunningEmulator, lkapi: api.LiveKitAPI) -> None:
    trunk = await outbound_trunk(lkapi)
    await lkapi.sip.create_sip_participant(
        dial(
            trunk.sip_trunk_id,
            wait_until_answered=True,
            max_call_duration=Duration(nanos=100_000_000),
        )
    )
    state = await wait_until(lk, lambda s: not s["participants"])
    assert state["calls"][0]["status"] == "hangup"


async def test_far_end_hangup_removes_the_participant(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await outbound_trunk(lkapi)
    info = await lkapi.sip.create_sip_participant(
        dial(trunk.sip_trunk_id, wait_until_answered=True)
    )
    ended = await lk.control.hangup(info.sip_call_id)
    assert ended["status"] == "hangup"
    assert await participants(lk) == []


async def test_removing_the_participant_hangs_up_the_call(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await outbound_trunk(lkapi)
    info = await lkapi.sip.create_sip_participant(
        dial(trunk.sip_trunk_id, wait_until_answered=True)
    )
    await lkapi.room.remove_participant(
        room_pb.RoomParticipantIdentity(room="call-room", identity=info.participant_identity)
    )
    call = (await lk.control.state())["calls"][0]
    assert call["status"] == "hangup" and call["ended_at_ms"] is not None


async def test_sip_number_overrides_the_trunk_number_and_identity_can_be_chosen(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await outbound_trunk(lkapi, "+15550100")
    await lkapi.sip.create_sip_participant(
        dial(
            trunk.sip_trunk_id,
            sip_number="+15550142",
            participant_identity="callee",
            wait_until_answered=True,
        )
    )
    [p] = await participants(lk)
    assert p["identity"] == "callee"
    assert p["attributes"]["sip.trunkPhoneNumber"] == "+15550142"


async def test_transfer_needs_room_and_identity_first(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.transfer_sip_participant(
            sip.TransferSIPParticipantRequest(transfer_to="tel:+1555")
        )
    assert (caught.value.code, caught.value.message) == (
        "invalid_argument",
        "twirp error unknown: Missing room name",
    )


async def test_successful_transfer_ends_the_call_in_livekit(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await outbound_trunk(lkapi)
    info = await lkapi.sip.create_sip_participant(
        dial(trunk.sip_trunk_id, wait_until_answered=True)
    )
    result = await lkapi.sip.transfer_sip_participant(
        sip.TransferSIPParticipantRequest(
            room_name="call-room",
            participant_identity=info.participant_identity,
            transfer_to="tel:+15550177",
        )
    )
    assert result.status == sip.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL
    assert result.transfer_id.startswith("STR_")
    assert await participants(lk) == []


async def test_transfer_target_must_be_a_sip_or_tel_uri(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.transfer_sip_participant(
            sip.TransferSIPParticipantRequest(
                room_name="r", participant_identity="p", transfer_to="+15550177"
            )
        )
    assert (
        caught.value.message
        == "transfer_to must be a valid SIP(s) or TEL URI (sip:, sips: or tel:)"
    )
