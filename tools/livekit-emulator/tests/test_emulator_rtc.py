"""`/rtc` judged by the unmodified LiveKit rtc SDK (the Rust core behind `livekit.rtc`).

Two SDK participants join through the emulator: one publishes a tone and sends data, the other
hears the tone (its pitch checked) and receives the data stamped with its sender; RoomService and
webhooks see the same room. Joins with bad tokens are refused as livekit-server refuses them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from livekit import api, rtc
from livekit.protocol import room as room_proto

from livekit_emulator.rtc import forward_without_delay
from livekit_emulator.testing import RunningEmulator
from tests.support.audio import dominant_frequency, publish_tone, record, rms
from tests.support.emulator import WAIT_S, WebhookSink
from tests.support.sdk import JOIN_TIMEOUT_S, join, ws_url


async def connect(
    lk: RunningEmulator,
    rooms: list[rtc.Room],
    identity: str,
    attributes: dict[str, str] | None = None,
) -> rtc.Room:
    return await join(lk, rooms, identity, "media", attributes=attributes)


def first(room: rtc.Room, event: Any) -> asyncio.Future[tuple[object, ...]]:
    """A future of the next `event` on `room`, with the event's arguments."""
    future: asyncio.Future[tuple[object, ...]] = asyncio.get_running_loop().create_future()

    def handler(*args: object) -> None:
        if not future.done():
            future.set_result(args)

    room.on(event, handler)
    return future


async def test_a_participant_hears_anothers_tone_and_gets_its_data(
    lk_hooks: RunningEmulator, sink: WebhookSink, rooms: list[rtc.Room]
) -> None:
    alice = await connect(lk_hooks, rooms, "alice")
    bob = await connect(lk_hooks, rooms, "bob")
    assert set(bob.remote_participants) == {"alice"}
    subscribed = first(bob, "track_subscribed")
    received = first(bob, "data_received")

    player = await publish_tone(alice, 440.0)
    try:
        await alice.local_participant.publish_data(b"hello bob", reliable=True, topic="greeting")
        (packet,) = await asyncio.wait_for(received, JOIN_TIMEOUT_S)
        assert isinstance(packet, rtc.DataPacket)
        assert packet.data == b"hello bob"
        assert packet.topic == "greeting"
        assert packet.participant is not None and packet.participant.identity == "alice"

        track, publication, participant = await asyncio.wait_for(subscribed, JOIN_TIMEOUT_S)
        assert isinstance(participant, rtc.RemoteParticipant) and participant.identity == "alice"
        assert isinstance(publication, rtc.RemoteTrackPublication)
        assert publication.sid.startswith("TR_")
        assert isinstance(track, rtc.RemoteAudioTrack)
        heard = await record(track, 1.0)
    finally:
        player.cancel()
    tail = heard[len(heard) // 2 :]
    assert abs(dominant_frequency(tail) - 440.0) <= 5.0
    assert rms(tail) > 4_000  # a 12,000-amplitude sine is 8,485 RMS; silence is 0

    lkapi = api.LiveKitAPI(lk_hooks.url, lk_hooks.api_key, lk_hooks.api_secret)
    try:
        listed = await lkapi.room.list_participants(
            room_proto.ListParticipantsRequest(room="media")
        )
    finally:
        await lkapi.aclose()
    by_identity = {p.identity: p for p in listed.participants}
    assert set(by_identity) == {"alice", "bob"}
    assert [t.sid for t in by_identity["alice"].tracks] == [publication.sid]

    deliveries = await sink.wait_for(lambda ds: any('"track_published"' in d.body for d in ds))
    events = [json.loads(d.body) for d in deliveries]
    joined = [e["participant"]["identity"] for e in events if e["event"] == "participant_joined"]
    assert joined == ["alice", "bob"]
    published = next(e for e in events if e["event"] == "track_published")
    assert published["participant"]["identity"] == "alice"
    assert published["track"]["sid"] == publication.sid


async def test_attributes_travel_both_ways(lk: RunningEmulator, rooms: list[rtc.Room]) -> None:
    alice = await connect(lk, rooms, "alice", attributes={"role": "caller"})
    bob = await connect(lk, rooms, "bob")
    assert bob.remote_participants["alice"].attributes == {"role": "caller"}

    changed = first(bob, "participant_attributes_changed")
    await alice.local_participant.set_attributes({"mood": "calm"})
    changes, participant = await asyncio.wait_for(changed, JOIN_TIMEOUT_S)
    assert changes == {"mood": "calm"}
    assert isinstance(participant, rtc.Participant) and participant.identity == "alice"

    lkapi = api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
    try:
        seen = await lkapi.room.get_participant(
            room_proto.RoomParticipantIdentity(room="media", identity="alice")
        )
        assert dict(seen.attributes) == {"role": "caller", "mood": "calm"}
        changed_for_alice = first(alice, "participant_attributes_changed")
        await lkapi.room.update_participant(
            room_proto.UpdateParticipantRequest(
                room="media", identity="alice", attributes={"sip.callStatus": "active"}
            )
        )
    finally:
        await lkapi.aclose()
    changes, _ = await asyncio.wait_for(changed_for_alice, JOIN_TIMEOUT_S)
    assert changes == {"sip.callStatus": "active"}


async def test_removing_a_participant_disconnects_its_client(
    lk: RunningEmulator, rooms: list[rtc.Room]
) -> None:
    alice = await connect(lk, rooms, "alice")
    bob = await connect(lk, rooms, "bob")
    disconnected = first(alice, "disconnected")
    gone = first(bob, "participant_disconnected")
    lkapi = api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
    try:
        await lkapi.room.remove_participant(
            room_proto.RoomParticipantIdentity(room="media", identity="alice")
        )
    finally:
        await lkapi.aclose()
    (reason,) = await asyncio.wait_for(disconnected, WAIT_S)
    assert reason == rtc.DisconnectReason.PARTICIPANT_REMOVED
    (participant,) = await asyncio.wait_for(gone, WAIT_S)
    assert isinstance(participant, rtc.RemoteParticipant) and participant.identity == "alice"


async def test_a_client_leaving_is_seen_by_the_room(
    lk: RunningEmulator, rooms: list[rtc.Room]
) -> None:
    alice = await connect(lk, rooms, "alice")
    bob = await connect(lk, rooms, "bob")
    gone = first(bob, "participant_disconnected")
    await alice.disconnect()
    await asyncio.wait_for(gone, WAIT_S)
    state = await lk.control.state()
    assert [p["identity"] for p in state["participants"]] == ["bob"]


async def test_joins_are_refused_without_a_valid_token(lk: RunningEmulator) -> None:
    async with __import__("httpx").AsyncClient(base_url=lk.url) as client:
        bad = await client.get("/rtc/validate", params={"access_token": "not-a-jwt"})
        assert bad.status_code == 401
        no_join = (
            api.AccessToken(lk.api_key, lk.api_secret)
            .with_identity("x")
            .with_grants(api.VideoGrants(room_list=True))
        )
        refused = await client.get("/rtc/validate", params={"access_token": no_join.to_jwt()})
        assert (refused.status_code, refused.text) == (401, "permissions denied")
        joiner = (
            api.AccessToken(lk.api_key, lk.api_secret)
            .with_identity("alice")
            .with_grants(api.VideoGrants(room_join=True, room="media"))
        )
        good = await client.get("/rtc/validate", params={"access_token": joiner.to_jwt()})
        assert (good.status_code, good.text) == (200, "success")
        plain = await client.get("/rtc")
        assert plain.status_code == 404

    room = rtc.Room()
    with pytest.raises(rtc.ConnectError):
        await asyncio.wait_for(
            room.connect(ws_url(lk), "not-a-jwt", rtc.RoomOptions(connect_timeout=5.0)),
            JOIN_TIMEOUT_S,
        )
    state = await lk.control.state()
    assert state["participants"] == []


@pytest.mark.unit
async def test_received_audio_is_forwarded_without_a_prefetch_delay() -> None:
    # A guard on the installed aiortc: the attribute forward_without_delay replaces exists, so
    # the emulator does not hold four packets (80 ms) before forwarding each one.
    pc = RTCPeerConnection()
    receiver = pc.addTransceiver("audio", direction="recvonly").receiver
    forward_without_delay(receiver)
    await pc.close()
    buffer = getattr(receiver, "_RTCRtpReceiver__jitter_buffer")  # noqa: B009
    assert buffer._prefetch == 0
