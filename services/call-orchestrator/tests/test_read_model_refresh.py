"""The read model filled from numbers-api's internal list: what the event stream no longer holds
(call-orchestrator deployed after the numbers, a restored database, recreated consumers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from numbers_api.main import MIGRATIONS as NUMBERS_MIGRATIONS
from numbers_api.main import create_app as create_numbers_app
from talkifai_common import devinfra
from talkifai_common.events import EventName, LiveKitResources, PhoneNumberData, SyncState
from tests.support.call_orchestrator import Harness, eventually
from tests.support.databases import DatabaseFactory
from tests.support.servers import serve_asgi
from tests.support.trunk_sync import INTERNAL_TOKEN, numbers_settings, token_factory


@dataclass
class NumbersApi:
    url: str
    app: Any
    http: httpx.AsyncClient


@pytest.fixture
async def numbers_api(database_factory: DatabaseFactory) -> AsyncIterator[NumbersApi]:
    """numbers-api whose events never reach the bus (its NATS URL answers nothing), so
    call-orchestrator can learn its numbers only from the internal list."""
    unreachable = f"nats://127.0.0.1:{devinfra.free_port()}"
    app = create_numbers_app(
        numbers_settings(await database_factory(NUMBERS_MIGRATIONS), unreachable)
    )
    token = token_factory()()
    async with (
        serve_asgi(app) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http,
    ):
        yield NumbersApi(url, app, http)


@pytest.fixture
def overrides(numbers_api: NumbersApi) -> dict[str, Any]:
    return {
        "numbers_api_url": numbers_api.url,
        "internal_api_token": INTERNAL_TOKEN,
        "read_model_refresh_interval_s": 0.2,
    }


async def test_a_number_known_only_to_numbers_api_can_place_calls(
    harness: Harness, numbers_api: NumbersApi
) -> None:
    agent = (
        await numbers_api.http.post("/agents", json={"name": "Dialer", "architecture": "pipeline"})
    ).json()
    number = (
        await numbers_api.http.post(
            "/phone-numbers",
            json={
                "phone_number": "+12025550142",
                "termination_uri": "t.example.com",
                "sip_username": "dialer",
                "sip_password": "s3cret-pass",
            },
        )
    ).json()
    assigned = await numbers_api.http.put(
        "/phone-numbers/agent-assignments",
        json={"phone_number": number["phone_number"], "outbound_agent_id": agent["id"]},
    )
    assert assigned.status_code == 200, assigned.text
    version = assigned.json()["version"]
    trunk_id = await harness.outbound_trunk(number["phone_number"])
    # trunk-sync's result, as numbers-api records it.
    async with numbers_api.app.state.context.store.transaction() as tx:
        await tx.record_sync(
            number["id"],
            version,
            SyncState.SYNCED,
            None,
            datetime.now(UTC),
            LiveKitResources(outbound_trunk_id=trunk_id),
        )
    assert not harness.bus.events("telephony.")  # nothing came through the stream

    conn = await harness.db()

    async def read_model() -> Any:
        row = await conn.fetchrow(
            "SELECT n.version, n.outbound_agent_id, s.outbound_trunk_id FROM phone_numbers n "
            "JOIN phone_number_sync s ON s.phone_number_id = n.id WHERE n.id = $1",
            number["id"],
        )
        return dict(row) if row else None

    filled = await eventually(read_model, lambda r: r is not None, within_s=10)
    assert filled == {
        "version": version,
        "outbound_agent_id": agent["id"],
        "outbound_trunk_id": trunk_id,
    }
    response = await harness.call("+14155550123", number["phone_number"])
    assert response.status_code == 200, response.text
    assert response.json()["agent"] == {"id": agent["id"], "name": "Dialer"}


async def test_a_number_held_from_before_statuses_were_kept_takes_its_status_from_the_list(
    harness: Harness, numbers_api: NumbersApi
) -> None:
    agent = (
        await numbers_api.http.post("/agents", json={"name": "Dialer", "architecture": "pipeline"})
    ).json()
    number = (
        await numbers_api.http.post(
            "/phone-numbers",
            json={"phone_number": "+12025550145", "termination_uri": "t.example.com"},
        )
    ).json()
    assigned = await numbers_api.http.put(
        "/phone-numbers/agent-assignments",
        json={"phone_number": number["phone_number"], "outbound_agent_id": agent["id"]},
    )
    assert assigned.json()["status"] == "inactive"  # an outbound agent but no SIP credentials
    version = assigned.json()["version"]
    await harness.wait_number_version(number["id"], version)
    conn = await harness.db()
    # As revision 0003 leaves a row written before it: same version, status unknown.
    await conn.execute("UPDATE phone_numbers SET status = NULL WHERE id = $1", number["id"])

    await eventually(
        lambda: conn.fetchval("SELECT status FROM phone_numbers WHERE id = $1", number["id"]),
        lambda status: status == "inactive",
        within_s=10,
    )
    response = await harness.call("+14155550123", number["phone_number"])
    assert response.status_code == 404
    assert response.json()["error"] == "phone_number_inactive"


async def test_the_list_never_moves_a_number_back_nor_revives_a_deleted_one(
    harness: Harness, numbers_api: NumbersApi
) -> None:
    number = (
        await numbers_api.http.post("/phone-numbers", json={"phone_number": "+12025550143"})
    ).json()
    await harness.wait_number_version(number["id"], 1)
    # Newer than the list: an event the list has not caught up with yet.
    newer = {**number, "version": 5}
    await harness.publish(
        EventName.PHONE_NUMBER_UPDATED, "org_a", number["id"], PhoneNumberData(**newer)
    )
    await harness.wait_number_version(number["id"], 5)
    other = (
        await numbers_api.http.post("/phone-numbers", json={"phone_number": "+12025550144"})
    ).json()
    await harness.wait_number_version(other["id"], 1)  # a later refresh ran
    conn = await harness.db()
    assert await conn.fetchval("SELECT version FROM phone_numbers WHERE id = $1", number["id"]) == 5
    await harness.publish(
        EventName.PHONE_NUMBER_DELETED,
        "org_a",
        number["id"],
        PhoneNumberData(**{**newer, "version": 6}),
    )
    await harness.wait_number_version(number["id"], None)
    third = (
        await numbers_api.http.post("/phone-numbers", json={"phone_number": "+12025550145"})
    ).json()
    await harness.wait_number_version(third["id"], 1)  # refreshes ran since the deletion
    assert await conn.fetchval("SELECT 1 FROM phone_numbers WHERE id = $1", number["id"]) is None


async def test_a_number_deleted_while_its_event_was_missed_is_removed(
    harness: Harness, numbers_api: NumbersApi
) -> None:
    kept = (
        await numbers_api.http.post("/phone-numbers", json={"phone_number": "+12025550146"})
    ).json()
    await harness.wait_number_version(kept["id"], 1)
    # In the read model (its creation came through the stream) but unknown to numbers-api: it
    # was deleted there and the deletion never arrived.
    gone = PhoneNumberData(**{**kept, "id": "pn_deleted_meanwhile", "phone_number": "+12025550147"})
    await harness.publish(EventName.PHONE_NUMBER_CREATED, "org_a", gone.id, gone)
    conn = await harness.db()

    async def tombstone() -> Any:
        return await conn.fetchval(
            "SELECT version FROM phone_number_tombstones WHERE id = $1", gone.id
        )

    # Applied from the stream, then removed by a refresh: only a removal leaves a tombstone.
    assert await eventually(tombstone, lambda v: v == 1, within_s=10) == 1
    assert await conn.fetchval("SELECT 1 FROM phone_numbers WHERE id = $1", gone.id) is None
    assert await conn.fetchval("SELECT version FROM phone_numbers WHERE id = $1", kept["id"]) == 1
