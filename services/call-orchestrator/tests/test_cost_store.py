"""Pricing against the database alone: a call whose usage came before its end is priced by the
periodic pass, once; the first usage stands; usage without its call is retried, of another
organization refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from call_orchestrator.adapters.postgres import Stores, utcnow
from call_orchestrator.handlers.costs import (
    UsageCallUnknown,
    UsageOrgMismatch,
    cost_call,
    cost_ended_calls,
    on_usage_event,
)
from talkifai_common.db import create_pool
from talkifai_common.events import (
    CallStatus,
    CallUsageData,
    CloudEvent,
    EventName,
    new_event,
)
from talkifai_common.voice import Architecture
from tests.support.call_orchestrator import new_call


@pytest.fixture
async def stores(database_url: str) -> AsyncIterator[Stores]:
    pool = await create_pool(database_url)
    try:
        yield Stores.create(pool)
    finally:
        await pool.close()


def usage_event(
    call_id: str | None, room: str = "room-1", org_id: str = "org_a", tokens: int = 1_000_000
) -> CloudEvent[CallUsageData]:
    now = utcnow()
    data = CallUsageData(
        call_id=call_id,
        room_name=room,
        agent_id="agent_1",
        architecture=Architecture.PIPELINE,
        direction="outbound",
        phone_number="+12025550100",
        llm_input_tokens=tokens,
        llm_output_tokens=0,
        tts_characters=0,
        stt_seconds=0.0,
        duration_s=1.0,
        end_reason="agent_ended",
        started_at=now,
        ended_at=now,
    )
    return new_event(EventName.CALL_USAGE, source="tests", subject="x", orgid=org_id, data=data)


async def costed_events(stores: Stores) -> int:
    return int(
        await stores.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE subject = 'telephony.call.costed'"
        )
    )


async def test_usage_before_the_end_is_priced_by_the_periodic_pass_once(stores: Stores) -> None:
    await stores.calls.create_call(
        new_call("call_1", "room-1"), max_live_per_org=None, then=CallStatus.ANSWERED
    )

    early = await on_usage_event(stores, usage_event(None, room="room-1"))
    nothing_yet = await cost_ended_calls(stores)
    await stores.calls.transition("call_1", CallStatus.COMPLETED)
    priced = await cost_ended_calls(stores)
    again = await cost_ended_calls(stores)
    redelivered = await on_usage_event(stores, usage_event("call_1", tokens=5))
    call = await stores.calls.get_call("call_1")

    assert (early, nothing_yet, priced, again) == ("not_final", 0, 1, 0)
    assert redelivered == "already_costed"
    assert call is not None and call.data.cost is not None
    llm_input = call.data.cost.breakdown[1]
    assert llm_input.quantity == "1"  # the first usage (1M tokens), not the redelivered 5
    assert llm_input.amount == "0.400000"  # the default deck's default LLM input price
    assert await costed_events(stores) == 1
    assert await cost_call(stores, "call_1") == "already_costed"


async def test_usage_of_an_unknown_call_is_retried_and_of_another_org_refused(
    stores: Stores,
) -> None:
    await stores.calls.create_call(new_call("call_1", "room-1"), max_live_per_org=None)

    with pytest.raises(UsageCallUnknown) as unknown:
        await on_usage_event(stores, usage_event("call_missing"))
    with pytest.raises(UsageOrgMismatch) as foreign:
        await on_usage_event(stores, usage_event("call_1", org_id="org_b"))

    assert unknown.value.retryable is True
    assert foreign.value.retryable is False
    assert await stores.costs.usage_of("call_1") is None
