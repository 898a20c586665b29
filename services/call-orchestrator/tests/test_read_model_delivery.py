"""Read-model events under faults: a database outage, poison messages (nothing is dropped)."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from call_orchestrator.config import Settings
from talkifai_common.events import EventName
from tests.support.call_orchestrator import Harness, number_data
from tests.support.consumers import (
    acked_through,
    counter_total,
    database_down,
    dead_letters,
    publish,
    redelivered,
)
from tests.support.trunk_sync import eventually

DLQ_STREAM = "CALL_ORCHESTRATOR_DLQ"
CREATED_DURABLE = "call-orchestrator-phone-number-created"
AGENT_DURABLE = "call-orchestrator-agent-created"


async def _dead_letters_of(nats_url: str, entity_id: str) -> list[Any]:
    return await dead_letters(nats_url, DLQ_STREAM, entity_id)


@pytest.mark.parametrize(
    "overrides", [{"retry_base_s": 0.05, "retry_max_s": 0.2, "max_deliveries": 1000}]
)
async def test_a_number_event_survives_a_database_outage_and_is_applied_when_it_is_back(
    harness: Harness,
    settings: Settings,
    postgres_url: str,
    metrics: InMemoryMetricReader,
) -> None:
    naks_before = counter_total(metrics, "talkifai.consumer.naks", consumer=CREATED_DURABLE)
    number = number_data("pn_outage", "+12025550188", version=1)
    async with database_down(postgres_url, settings.database_url):
        await harness.publish(EventName.PHONE_NUMBER_CREATED, "org_a", number.id, number)
        # The handler failed for real (connections refused) and the event was handed back.
        await eventually(lambda: redelivered(settings.nats_url, CREATED_DURABLE))
    await harness.wait_number_version(number.id, 1)
    assert counter_total(metrics, "talkifai.consumer.naks", consumer=CREATED_DURABLE) > naks_before
    assert await _dead_letters_of(settings.nats_url, number.id) == []


@pytest.mark.parametrize(
    "overrides", [{"retry_base_s": 0.01, "retry_max_s": 0.02, "max_deliveries": 3}]
)
async def test_an_event_that_keeps_failing_is_dead_lettered_after_the_bound(
    harness: Harness, settings: Settings, postgres_url: str
) -> None:
    number = number_data("pn_poison", "+12025550189", version=1)
    async with database_down(postgres_url, settings.database_url):
        await harness.publish(EventName.PHONE_NUMBER_CREATED, "org_a", number.id, number)
        [dead] = await eventually(lambda: _dead_letters_of(settings.nats_url, number.id))
    assert dead.headers["Dead-Letter-Subject"] == EventName.PHONE_NUMBER_CREATED.subject
    assert dead.headers["Dead-Letter-Consumer"] == CREATED_DURABLE
    assert dead.headers["Dead-Letter-Reason"] == "exhausted"
    assert dead.headers["Dead-Letter-Deliveries"] == "3"
    # Replay: the body, as kept, back to its subject.
    await publish(settings.nats_url, dead.headers["Dead-Letter-Subject"], dead.data)
    await harness.wait_number_version(number.id, 1)


async def test_a_malformed_event_is_dead_lettered_at_once(
    harness: Harness, settings: Settings
) -> None:
    body = b'{"id": "e1", "subject": "agent_malformed", "data": {"name": 42}}'
    seq = await publish(settings.nats_url, EventName.AGENT_CREATED.subject, body)
    [dead] = await eventually(lambda: _dead_letters_of(settings.nats_url, "agent_malformed"))
    assert dead.data == body
    assert dead.headers["Dead-Letter-Reason"] == "malformed"
    assert dead.headers["Dead-Letter-Deliveries"] == "1"
    await eventually(lambda: acked_through(settings.nats_url, AGENT_DURABLE, seq))
