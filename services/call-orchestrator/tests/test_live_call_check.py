"""Calls whose end LiveKit never reported (lost webhooks) are ended once their room is gone."""

from __future__ import annotations

from typing import Any

import pytest
from livekit import api as lkapi

from call_orchestrator.adapters.postgres import CallStore
from talkifai_common.db import create_pool
from talkifai_common.events import CallDirection, CallStatus
from tests.support.call_orchestrator import Harness, eventually, new_call

TO = "+12025550123"


@pytest.fixture
def overrides() -> dict[str, Any]:
    return {"live_call_check_interval_s": 0.05, "live_call_check_after_s": 0}


async def test_calls_whose_room_is_gone_end_and_free_their_slots(harness: Harness) -> None:
    seeded = await harness.seed()
    live = (await harness.call(TO, seeded.phone_number)).json()["call_id"]  # its room exists
    pool = await create_pool(harness.database_url, min_size=1, max_size=2)
    try:
        store = CallStore(pool)
        # Calls whose room_finished never reached us.
        await store.create_call(
            new_call("call_lost_answered", "room_gone_1", direction=CallDirection.INBOUND),
            max_live_per_org=None,
            then=CallStatus.ANSWERED,
        )
        await store.create_call(
            new_call("call_lost_ringing", "room_gone_2", direction=CallDirection.INBOUND),
            max_live_per_org=None,
        )
    finally:
        await pool.close()

    async def lost() -> dict[str, Any]:
        ids = ("call_lost_answered", "call_lost_ringing")
        return {c: (await harness.get_call(c)).json() for c in ids}

    calls = await eventually(lost, lambda calls: all(c["ended_at"] for c in calls.values()))
    assert calls["call_lost_answered"]["status"] == "completed"
    assert calls["call_lost_ringing"]["status"] == "failed"
    assert calls["call_lost_ringing"]["failure_reason"] == "abandoned"
    assert (await harness.get_call(live)).json()["status"] == "answered"
    conn = await harness.db()
    assert await conn.fetchval("SELECT live FROM org_live_calls WHERE org_id = 'org_a'") == 1
    events = await harness.events_for("call_lost_answered", 3)
    assert [e["data"]["status"] for e in events] == ["initiated", "answered", "completed"]


async def test_an_outbound_call_its_dialer_never_dialed_ends_and_its_room_goes(
    harness: Harness,
) -> None:
    """A dialer that stopped after recording the call and dispatching its agent (which made the
    room) but before dialing: no SIP participant ever joins, nobody was rung."""
    room = "outbound_never_dialed"
    await harness.livekit.room.create_room(lkapi.CreateRoomRequest(name=room))
    pool = await create_pool(harness.database_url, min_size=1, max_size=2)
    try:
        call = new_call("call_never_dialed", room, direction=CallDirection.OUTBOUND)
        await CallStore(pool).create_call(call, max_live_per_org=None)
        # Older than any ringing window.
        await pool.execute(
            "UPDATE calls SET started_at = now() - interval '1 hour' WHERE id = $1",
            "call_never_dialed",
        )
    finally:
        await pool.close()

    ended = await eventually(
        lambda: harness.get_call("call_never_dialed"), lambda r: r.json()["ended_at"] is not None
    )

    assert (ended.json()["status"], ended.json()["failure_reason"]) == ("failed", "abandoned")
    rooms = await harness.livekit.room.list_rooms(lkapi.ListRoomsRequest(names=[room]))
    assert list(rooms.rooms) == []
