"""The call store writes a state change, its event, its webhook and the live-call slot at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from call_orchestrator.adapters.postgres import (
    CallChanges,
    CallInProgress,
    Stores,
    TooManyCalls,
    utcnow,
)
from talkifai_common.db import create_pool
from talkifai_common.events import CallStatus
from tests.support.call_orchestrator import new_call


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Stores]:
    pool = await create_pool(database_url)
    try:
        yield Stores.create(pool)
    finally:
        await pool.close()


async def outbox(store: Stores) -> list[dict[str, object]]:
    rows = await store.pool.fetch("SELECT subject, payload FROM outbox ORDER BY seq")
    return [{"subject": r["subject"], **json.loads(r["payload"])} for r in rows]


async def live(store: Stores) -> int:
    value = await store.pool.fetchval("SELECT live FROM org_live_calls WHERE org_id = 'org_a'")
    return int(value or 0)


async def test_advancing_a_stale_snapshot_applies_the_change_to_the_stored_call(
    store: Stores,
) -> None:
    created = await store.calls.create_call(
        new_call("call_1", "room_1", webhook_url="https://hooks.example.com/x"), max_live_per_org=5
    )
    left_at = utcnow()
    await store.calls.update(
        "call_1", CallChanges(participant_left_at=left_at)
    )  # the stored call moved on

    answered = await store.calls.advance(
        created, CallStatus.ANSWERED, CallChanges(sip_call_id="SCL_1")
    )

    assert answered is not None
    assert answered.participant_left_at == left_at  # read back, not the stale snapshot's None
    assert answered.data.sip_call_id == "SCL_1"
    stored = await store.calls.get_call("call_1")
    assert stored is not None and stored.rev == answered.rev
    assert stored.data == answered.data
    events = await outbox(store)
    assert [e["data"]["status"] for e in events] == ["initiated", "answered"]  # type: ignore[index]
    assert events[1]["data"] == json.loads(answered.data.model_dump_json())
    deliveries = await store.deliveries.for_call("call_1")
    assert [d["event_id"] for d in deliveries] == [e["id"] for e in events]


async def test_a_final_state_is_written_once_and_frees_the_slot_once(store: Stores) -> None:
    created = await store.calls.create_call(new_call("call_1", "room_1"), max_live_per_org=5)
    assert await live(store) == 1

    results = await asyncio.gather(
        store.calls.advance(
            created, CallStatus.FAILED, CallChanges(failure_reason="busy", sip_status_code=486)
        ),
        store.calls.advance(created, CallStatus.COMPLETED),
        store.calls.transition(
            "call_1", CallStatus.FAILED, CallChanges(failure_reason="no_answer")
        ),
    )

    assert sum(r is not None for r in results) == 1
    assert await live(store) == 0
    statuses = [e["data"]["status"] for e in await outbox(store)]  # type: ignore[index]
    assert statuses[0] == "initiated" and len(statuses) == 2
    stored = await store.calls.get_call("call_1")
    assert stored is not None and stored.data.status.value == statuses[1]
    assert stored.data.total_duration_s is not None


async def test_the_cap_and_the_live_room_refuse_a_call_without_leaving_anything(
    store: Stores,
) -> None:
    await store.calls.create_call(new_call("call_1", "room_1"), max_live_per_org=2)

    with pytest.raises(CallInProgress):
        await store.calls.create_call(new_call("call_2", "room_1"), max_live_per_org=2)
    await store.calls.create_call(new_call("call_3", "room_3"), max_live_per_org=2)
    with pytest.raises(TooManyCalls):
        await store.calls.create_call(new_call("call_4", "room_4"), max_live_per_org=2)

    assert await live(store) == 2
    ids = [r["id"] for r in await store.pool.fetch("SELECT id FROM calls ORDER BY id")]
    assert ids == ["call_1", "call_3"]
    assert len(await outbox(store)) == 2


async def test_an_inbound_call_is_recorded_answered_with_both_events(store: Stores) -> None:
    call = await store.calls.create_call(
        new_call("call_1", "room_1"), max_live_per_org=None, then=CallStatus.ANSWERED
    )

    assert call.data.status is CallStatus.ANSWERED and call.data.answered_at is not None
    stored = await store.calls.get_call("call_1")
    assert stored is not None and stored.data == call.data and stored.rev == call.rev
    statuses = [e["data"]["status"] for e in await outbox(store)]  # type: ignore[index]
    assert statuses == ["initiated", "answered"]


async def test_live_calls_are_paged_oldest_first_and_exclude_ended_ones(store: Stores) -> None:
    rows = [
        await store.calls.create_call(new_call(f"call_{i}", f"room_{i}"), max_live_per_org=9)
        for i in range(4)
    ]
    await store.calls.advance(rows[1], CallStatus.FAILED, CallChanges(failure_reason="busy"))

    first = await store.live_calls.started_before(utcnow(), 2)
    last = first[-1].data
    second = await store.live_calls.started_before(utcnow(), 2, (last.started_at, last.id))

    assert [c.data.id for c in first + second] == ["call_0", "call_2", "call_3"]
    assert await store.live_calls.started_before(rows[0].data.started_at, 2) == []
