"""trunk-sync's events under faults: fresh result ids, a database outage, poison messages."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from livekit_emulator.testing import RunningEmulator
from talkifai_common.events import EventName
from tests.support.consumers import counter_total, database_down, dead_letters, publish, redelivered
from tests.support.numbers_api import Api, BusRecorder
from tests.support.trunk_sync import (
    StartSync,
    TrunkSync,
    converged,
    create_number,
    eventually,
    sync_of,
    synced_at_version,
)
from trunk_sync.adapters.bus import DLQ_STREAM
from trunk_sync.handlers import full_reconcile


async def test_a_reconciles_corrective_synced_event_is_delivered_after_an_equal_earlier_one(
    api: Api, sync: TrunkSync, lk: RunningEmulator, bus: BusRecorder
) -> None:
    number = await create_number(api)
    await synced_at_version(api, number["id"])
    # numbers-api's state went wrong (as redeliveries left from an outage once made it).
    async with api.app.state.context.store.reader() as tx:
        await tx.conn.execute(
            "UPDATE phone_numbers SET sync_state = 'failed', sync_error = 'stale' WHERE id = $1",
            number["id"],
        )
    assert (await sync_of(api, number["id"]))["state"] == "failed"

    await full_reconcile(sync.app.state.context)
    # The corrective `synced` says what the first one said; it still reaches numbers-api.
    await synced_at_version(api, number["id"])
    results = [
        e for e in bus.events(EventName.PHONE_NUMBER_SYNCED.subject) if e["subject"] == number["id"]
    ]
    assert len(results) >= 2
    assert len({e["id"] for e in results}) == len(results)
    assert {e["data"]["version"] for e in results} == {number["version"]}


async def test_a_number_event_survives_a_numbers_api_database_outage(
    api: Api,
    start_sync: StartSync,
    lk: RunningEmulator,
    bus: BusRecorder,
    postgres_url: str,
    metrics: InMemoryMetricReader,
) -> None:
    number = await create_number(api)
    await bus.wait_for(1, EventName.PHONE_NUMBER_CREATED.subject)
    database_url = api.app.state.context.settings.database_url
    durable = "trunk-sync"
    naks_before = counter_total(metrics, "talkifai.consumer.naks", consumer=durable)
    async with database_down(postgres_url, database_url):
        sync = await start_sync(
            max_deliveries=1000, numbers_api_timeout_s=1.0, consumer_durable=durable
        )
        # trunk-sync could not read the number (numbers-api's database refused) and naked it.
        await eventually(lambda: redelivered(sync.settings.nats_url, durable), within_s=30)
        assert counter_total(metrics, "talkifai.consumer.naks", consumer=durable) > naks_before
    await converged(lk, 1, 1, 0)
    await synced_at_version(api, number["id"])


async def test_a_malformed_number_event_is_dead_lettered_at_once(
    sync: TrunkSync, metrics: InMemoryMetricReader
) -> None:
    durable = sync.settings.consumer_durable
    before = counter_total(
        metrics, "talkifai.consumer.dead_letters", consumer=durable, reason="malformed"
    )
    body = b'{"id": "e1", "subject": "pn_malformed_event", "data": {"version": "x"}}'
    await publish(sync.settings.nats_url, EventName.PHONE_NUMBER_UPDATED.subject, body)

    [letter] = await eventually(
        lambda: dead_letters(sync.settings.nats_url, DLQ_STREAM, "pn_malformed_event")
    )
    assert letter.headers is not None
    assert letter.headers["Dead-Letter-Reason"] == "malformed"
    assert letter.headers["Dead-Letter-Deliveries"] == "1"
    assert (
        counter_total(
            metrics, "talkifai.consumer.dead_letters", consumer=durable, reason="malformed"
        )
        == before + 1
    )
