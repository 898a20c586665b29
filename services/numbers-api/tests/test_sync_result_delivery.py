"""trunk-sync's results under faults: stale redeliveries, a database outage, poison messages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.js.api import RawStreamMsg
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from numbers_api.config import Settings
from numbers_api.main import create_app
from talkifai_common.events import (
    EventName,
    LiveKitResources,
    PhoneNumberSyncData,
    SyncState,
    new_event,
)
from tests.support.consumers import (
    acked_through,
    counter_total,
    database_down,
    dead_letters,
    publish,
    redelivered,
)
from tests.support.numbers_api import Api, TokenFactory
from tests.support.servers import serve_asgi
from tests.support.trunk_sync import eventually

DLQ_STREAM = "NUMBERS_API_DLQ"
SYNCED_DURABLE = "numbers-api-synced"
FAILED_DURABLE = "numbers-api-sync-failed"
StartApi = Callable[..., AbstractAsyncContextManager[Api]]


@pytest.fixture
def start_api(settings: Settings, token: TokenFactory) -> StartApi:
    """numbers-api with settings overridden (retry policy), served while the block runs."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Api]:
        app = create_app(settings.model_copy(update=overrides))
        async with (
            serve_asgi(app) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=10) as http,
        ):
            client = Api(base_url=base_url, http=http, token=token, app=app)
            await client.wait_bus_ready()
            yield client

    return start


def _result(number: dict[str, Any], state: SyncState, **fields: Any) -> bytes:
    name = (
        EventName.PHONE_NUMBER_SYNCED
        if state is SyncState.SYNCED
        else EventName.PHONE_NUMBER_SYNC_FAILED
    )
    data = PhoneNumberSyncData(
        phone_number_id=number["id"],
        phone_number=number["phone_number"],
        version=number["version"],
        state=state,
        **{"at": datetime.now(UTC), **fields},
    )
    event = new_event(name, source="trunk-sync", subject=number["id"], orgid="org_a", data=data)
    return event.model_dump_json().encode()


async def _sync_of(api: Api, number_id: str) -> dict[str, Any]:
    response = await api.request("GET", f"/phone-numbers/{number_id}")
    return dict(response.json()["sync"])


async def _sync_becomes(api: Api, number_id: str, state: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        sync = await _sync_of(api, number_id)
        return sync if sync["state"] == state else None

    result: dict[str, Any] = await eventually(reached)
    return result


async def _dead_letters_of(nats_url: str, number_id: str) -> list[RawStreamMsg]:
    return await dead_letters(nats_url, DLQ_STREAM, number_id)


async def test_a_stale_sync_failed_redelivery_does_not_flip_a_synced_number(
    start_api: StartApi, settings: Settings
) -> None:
    async with start_api() as api:
        number = await api.number()
        earlier = datetime.now(UTC) - timedelta(seconds=5)
        await publish(
            settings.nats_url,
            EventName.PHONE_NUMBER_SYNCED.subject,
            _result(number, SyncState.SYNCED, resources=LiveKitResources(inbound_trunk_id="ST_a")),
        )
        synced = await _sync_becomes(api, number["id"], "synced")
        # The failure an outage left behind, delivered after the success of the same version.
        seq = await publish(
            settings.nats_url,
            EventName.PHONE_NUMBER_SYNC_FAILED.subject,
            _result(number, SyncState.FAILED, error="LiveKit unavailable", at=earlier),
        )
        await eventually(lambda: acked_through(settings.nats_url, FAILED_DURABLE, seq))
        assert await _sync_of(api, number["id"]) == synced


async def test_an_older_synced_redelivery_keeps_the_newer_resources(
    start_api: StartApi, settings: Settings, database_url: str
) -> None:
    async with start_api() as api:
        number = await api.number()
        newer = LiveKitResources(inbound_trunk_id="ST_new")
        await publish(
            settings.nats_url,
            EventName.PHONE_NUMBER_SYNCED.subject,
            _result(number, SyncState.SYNCED, resources=newer),
        )
        await _sync_becomes(api, number["id"], "synced")
        seq = await publish(
            settings.nats_url,
            EventName.PHONE_NUMBER_SYNCED.subject,
            _result(
                number,
                SyncState.SYNCED,
                resources=LiveKitResources(inbound_trunk_id="ST_old"),
                at=datetime.now(UTC) - timedelta(minutes=1),
            ),
        )
        await eventually(lambda: acked_through(settings.nats_url, SYNCED_DURABLE, seq))
        store = api.app.state.context.store
        async with store.reader() as tx:
            row = await tx.number_view(number["id"])
        assert row is not None and row["inbound_trunk_id"] == "ST_new"


async def test_a_sync_result_survives_a_database_outage_and_is_applied_when_it_is_back(
    start_api: StartApi,
    settings: Settings,
    postgres_url: str,
    database_url: str,
    metrics: InMemoryMetricReader,
) -> None:
    naks_before = counter_total(metrics, "talkifai.consumer.naks", consumer=SYNCED_DURABLE)
    async with start_api(retry_base_s=0.05, retry_max_s=0.2, max_deliveries=1000) as api:
        number = await api.number()
        async with database_down(postgres_url, database_url):
            await publish(
                settings.nats_url,
                EventName.PHONE_NUMBER_SYNCED.subject,
                _result(number, SyncState.SYNCED),
            )
            # The handler failed for real (connections refused) and the result was handed back.
            await eventually(lambda: redelivered(settings.nats_url, SYNCED_DURABLE))
        await _sync_becomes(api, number["id"], "synced")
    assert counter_total(metrics, "talkifai.consumer.naks", consumer=SYNCED_DURABLE) > naks_before
    assert await _dead_letters_of(settings.nats_url, number["id"]) == []


async def test_a_result_that_keeps_failing_is_dead_lettered_after_the_bound_and_replayable(
    start_api: StartApi,
    settings: Settings,
    postgres_url: str,
    database_url: str,
    metrics: InMemoryMetricReader,
) -> None:
    dead_before = counter_total(
        metrics, "talkifai.consumer.dead_letters", consumer=SYNCED_DURABLE, reason="exhausted"
    )
    async with start_api(retry_base_s=0.01, retry_max_s=0.02, max_deliveries=3) as api:
        number = await api.number()
        async with database_down(postgres_url, database_url):
            await publish(
                settings.nats_url,
                EventName.PHONE_NUMBER_SYNCED.subject,
                _result(number, SyncState.SYNCED),
            )
            [dead] = await eventually(lambda: _dead_letters_of(settings.nats_url, number["id"]))
        assert dead.headers is not None
        assert dead.headers["Dead-Letter-Subject"] == EventName.PHONE_NUMBER_SYNCED.subject
        assert dead.headers["Dead-Letter-Consumer"] == SYNCED_DURABLE
        assert dead.headers["Dead-Letter-Reason"] == "exhausted"
        assert dead.headers["Dead-Letter-Deliveries"] == "3"
        assert dead.headers["Dead-Letter-Error"].startswith("gave up after 3 tries")
        assert (await _sync_of(api, number["id"]))["state"] == "pending"
        # Replay: the body, as kept, back to its subject.
        await publish(settings.nats_url, dead.headers["Dead-Letter-Subject"], dead.data)
        await _sync_becomes(api, number["id"], "synced")
    assert (
        counter_total(
            metrics, "talkifai.consumer.dead_letters", consumer=SYNCED_DURABLE, reason="exhausted"
        )
        == dead_before + 1
    )


async def test_a_malformed_result_is_dead_lettered_at_once(
    start_api: StartApi, settings: Settings
) -> None:
    async with start_api() as api:
        number = await api.number()
        body = b'{"id": "not-a-cloudevent", "subject": "' + number["id"].encode() + b'"}'
        seq = await publish(settings.nats_url, EventName.PHONE_NUMBER_SYNC_FAILED.subject, body)
        [dead] = await eventually(lambda: _dead_letters_of(settings.nats_url, number["id"]))
        assert dead.data == body
        assert dead.headers is not None
        assert dead.headers["Dead-Letter-Reason"] == "malformed"
        assert dead.headers["Dead-Letter-Deliveries"] == "1"
        await eventually(lambda: acked_through(settings.nats_url, FAILED_DURABLE, seq))
        assert (await _sync_of(api, number["id"]))["state"] == "pending"
