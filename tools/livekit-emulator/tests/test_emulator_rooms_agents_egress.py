"""RoomService, AgentDispatchService and Egress as far as the platform uses them."""

from __future__ import annotations

import asyncio

import pytest
from livekit import api
from livekit.protocol import egress as egress_pb

from livekit_emulator.testing import RunningEmulator
from tests.support.emulator import WAIT_S


async def test_create_dispatch_creates_the_room_and_lists_it(lkapi: api.LiveKitAPI) -> None:
    dispatch = await lkapi.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(
            agent_name="talkifai-agent", room="outbound_1", metadata="{}"
        )
    )
    assert dispatch.id.startswith("AD_")
    listed = await lkapi.agent_dispatch.list_dispatch("outbound_1")
    # A room created without agents also gets LiveKit's unnamed (automatic) dispatch.
    assert sorted(d.agent_name for d in listed) == ["", "talkifai-agent"]
    assert [r.name for r in (await lkapi.room.list_rooms(api.ListRoomsRequest())).rooms] == [
        "outbound_1"
    ]


async def test_deleting_an_unknown_dispatch_is_not_found(lkapi: api.LiveKitAPI) -> None:
    await lkapi.room.create_room(api.CreateRoomRequest(name="r"))
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.agent_dispatch.delete_dispatch("AD_missing", "r")
    assert (caught.value.code, caught.value.message) == (
        "not_found",
        "twirp error unknown: dispatch ID not found",
    )


async def test_deleted_dispatch_leaves_the_room_list(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    dispatch = await lkapi.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(agent_name="a", room="r")
    )
    await lkapi.agent_dispatch.delete_dispatch(dispatch.id, "r")
    assert [d.agent_name for d in await lkapi.agent_dispatch.list_dispatch("r")] == [""]
    kept = {d["id"]: d for d in (await lk.control.state())["agent_dispatches"]}
    assert kept[dispatch.id]["state"]["deleted_at"] != "0"


async def test_room_lifecycle(lkapi: api.LiveKitAPI) -> None:
    room = await lkapi.room.create_room(api.CreateRoomRequest(name="meeting", metadata="m"))
    assert room.sid.startswith("RM_") and room.metadata == "m"
    again = await lkapi.room.create_room(api.CreateRoomRequest(name="meeting"))
    assert again.sid == room.sid
    listed = await lkapi.room.list_rooms(api.ListRoomsRequest(names=["meeting", "other"]))
    assert [r.sid for r in listed.rooms] == [room.sid]
    assert (
        await lkapi.room.list_participants(api.ListParticipantsRequest(room="meeting"))
    ).participants == []
    await lkapi.room.delete_room(api.DeleteRoomRequest(room="meeting"))
    assert (await lkapi.room.list_rooms(api.ListRoomsRequest())).rooms == []


async def test_deleting_an_unknown_room_is_not_found(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.room.delete_room(api.DeleteRoomRequest(room="nope"))
    assert (caught.value.code, caught.value.message) == (
        "not_found",
        "twirp error unknown: requested room does not exist",
    )


async def test_unknown_participant_is_not_found(lkapi: api.LiveKitAPI) -> None:
    await lkapi.room.create_room(api.CreateRoomRequest(name="r"))
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.room.get_participant(api.RoomParticipantIdentity(room="r", identity="ghost"))
    assert (caught.value.code, caught.value.message) == (
        "not_found",
        "twirp error unknown: participant does not exist",
    )


async def test_egress_needs_an_existing_room(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.egress.start_room_composite_egress(
            api.RoomCompositeEgressRequest(room_name="nope")
        )
    assert caught.value.code == "not_found"


async def test_egress_starts_lists_and_stops_once(lkapi: api.LiveKitAPI) -> None:
    await lkapi.room.create_room(api.CreateRoomRequest(name="rec"))
    started = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(room_name="rec", audio_only=True)
    )
    assert started.egress_id.startswith("EG_")
    active = await lkapi.egress.list_egress(api.ListEgressRequest(room_name="rec", active=True))
    assert [e.egress_id for e in active.items] == [started.egress_id]
    stopped = await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    assert stopped.status == egress_pb.EgressStatus.EGRESS_ENDING

    async def written() -> bool:
        listed = await lkapi.egress.list_egress(api.ListEgressRequest(room_name="rec"))
        return bool(listed.items[0].file_results)

    async with asyncio.timeout(WAIT_S):
        while not await written():  # noqa: ASYNC110 - polled over Twirp
            await asyncio.sleep(0.02)
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    assert (caught.value.code, caught.value.message) == (
        "failed_precondition",
        "egress with status EGRESS_COMPLETE cannot be stopped",
    )
    with pytest.raises(api.TwirpError) as unknown:
        await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id="EG_missing"))
    assert unknown.value.message == "twirp error unknown: egress does not exist"
