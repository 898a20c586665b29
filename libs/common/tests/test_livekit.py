"""One LiveKit client for every service: pre-signed tokens reused per room, errors read once."""

from __future__ import annotations

import aiohttp
import pytest
from livekit import api
from livekit.protocol.room import CreateRoomRequest, DeleteRoomRequest, ListRoomsRequest

from livekit_emulator.testing import running_emulator
from talkifai_common.livekit import (
    LiveKitClient,
    is_not_found,
    is_transient,
    is_unavailable,
    sip_status,
)
from talkifai_common.livekit_deadline import LiveKitDeadlineExceeded

pytestmark = pytest.mark.unit

KEY = "talkifai-common-test-key"
SECRET = "talkifai-common-test-livekit-secret-0123456789"


async def test_livekit_accepts_the_cached_tokens_for_server_and_room_scoped_calls() -> None:
    async with running_emulator(api_key=KEY, api_secret=SECRET) as lk:
        client = LiveKitClient(lk.url, KEY, SECRET, timeout_s=5.0)
        try:
            await client.ping()
            await client.api().room.create_room(CreateRoomRequest(name="room-a"))
            listed = await client.api().room.list_rooms(ListRoomsRequest(names=["room-a"]))
            # Room admin of exactly this room, as LiveKit checks it.
            await client.api("room-a").agent_dispatch.list_dispatch("room-a")
            await client.api("room-a").room.delete_room(DeleteRoomRequest(room="room-a"))
            left = await client.api().room.list_rooms(ListRoomsRequest(names=["room-a"]))
        finally:
            await client.aclose()
    assert [room.name for room in listed.rooms] == ["room-a"]
    assert list(left.rooms) == []


async def test_a_room_admin_token_of_another_room_is_refused() -> None:
    async with running_emulator(api_key=KEY, api_secret=SECRET) as lk:
        client = LiveKitClient(lk.url, KEY, SECRET, timeout_s=5.0)
        try:
            await client.api().room.create_room(CreateRoomRequest(name="room-a"))
            try:
                await client.api("room-b").agent_dispatch.list_dispatch("room-a")
            except api.TwirpError as exc:
                refused: api.TwirpError | None = exc
            else:
                refused = None
        finally:
            await client.aclose()
    assert refused is not None and refused.message == "permissions denied"


async def test_clients_are_reused_per_room_within_the_reuse_window() -> None:
    client = LiveKitClient("http://127.0.0.1:1", KEY, SECRET, timeout_s=1.0)
    try:
        assert client.api("a") is client.api("a")
        assert client.api("a") is not client.api("b")
        assert client.api() is client.api()
    finally:
        await client.aclose()


async def test_a_token_is_signed_again_after_the_reuse_window_and_the_cache_is_bounded() -> None:
    expired = LiveKitClient("http://127.0.0.1:1", KEY, SECRET, timeout_s=1.0, reuse_s=0.0)
    bounded = LiveKitClient("http://127.0.0.1:1", KEY, SECRET, timeout_s=1.0, size=2)
    try:
        assert expired.api("a") is not expired.api("a")
        first = bounded.api("a")
        bounded.api("b")
        bounded.api("c")
        assert bounded.api("a") is not first
    finally:
        await expired.aclose()
        await bounded.aclose()


def test_errors_are_classified_the_same_way_for_every_service() -> None:
    not_found = api.TwirpError("not_found", "no such room", status=404)
    busy = api.TwirpError("unavailable", "busy", status=503, metadata={"sip_status_code": "486"})
    refused_token = api.TwirpError("unauthenticated", "bad token", status=401)
    invalid = api.TwirpError("invalid_argument", "bad number", status=400)

    assert is_not_found(not_found) and not is_not_found(invalid)
    assert sip_status(busy) == 486 and sip_status(invalid) is None
    assert sip_status(ValueError("x")) is None
    assert is_unavailable(busy) and not is_unavailable(refused_token)
    assert is_unavailable(aiohttp.ClientConnectionError())
    assert is_unavailable(LiveKitDeadlineExceeded("DeleteRoom", 1.0))
    assert is_transient(refused_token) and not is_transient(invalid)
