"""Events through the outbox, trunk-sync's results, the live SSE feed, internal requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import pytest

from numbers_api.adapters.postgres import Store
from numbers_api.config import Settings
from talkifai_common.bus import JetStreamPublisher, create_broker, ensure_stream
from talkifai_common.events import (
    STREAM_NAME,
    EventName,
    LiveKitResources,
    PhoneNumberSyncData,
    SyncState,
    new_event,
)
from talkifai_common.outbox import OutboxRelay
from tests.support.bus import replies_to_a_jetstream_publish
from tests.support.numbers_api import INTERNAL_TOKEN, Api, BusRecorder

NO_RESOURCES = {"inbound_trunk_id": None, "outbound_trunk_id": None, "dispatch_rule_id": None}


async def test_number_events_carry_the_public_representation_and_no_secret(
    api: Api, bus: BusRecorder
) -> None:
    number = await api.number(sip_username="trunk-user", sip_password="pa55word-secret")
    # The creation's answer and event are computed before the row is written: they must be
    # what the stored row reads back as.
    stored = await api.request("GET", f"/phone-numbers/{number['id']}")
    assert stored.json() == number
    await api.request(
        "PATCH", f"/phone-numbers/{number['id']}", json={"sip_password": "n3w-secret"}
    )
    await api.request("DELETE", f"/phone-numbers/{number['id']}")
    events = await bus.wait_for(3, "telephony.phone_number.")
    assert [e["type"].split(".")[-2] for e in events] == ["created", "updated", "deleted"]
    assert events[0]["data"] == number
    for message in bus.messages:
        assert b"pa55word-secret" not in message.data and b"n3w-secret" not in message.data
        assert b"gAAAA" not in message.data  # nor any Fernet token
        assert message.headers["Nats-Msg-Id"] == json.loads(message.data)["id"]


async def test_committed_changes_are_published_even_if_the_relay_was_down(
    settings: Settings, database_url: str, bus: BusRecorder
) -> None:
    """The outbox holds events until a relay runs, and a republished batch is deduplicated."""
    from numbers_api import handlers
    from numbers_api.schemas import AgentCreate
    from talkifai_common.auth import Principal, Role
    from talkifai_common.db import create_pool

    pool = await create_pool(database_url, min_size=1, max_size=4)
    store = Store(pool)
    owner = Principal(sub="u", org_id="org_a", role=Role.OWNER)
    for i in range(3):
        await handlers.create_agent(
            store, owner, AgentCreate.model_validate({"name": f"A{i}", "architecture": "pipeline"})
        )
    assert bus.events() == []  # nothing relays yet: the events wait in the outbox

    broker = create_broker(settings.nats_url, name="relay-test")
    await broker.connect()
    await ensure_stream(broker)
    publisher = JetStreamPublisher(broker)
    # A relay that publishes and then dies before deleting the rows...
    rows = await pool.fetch("SELECT event_id, subject, payload, headers FROM outbox ORDER BY seq")
    from talkifai_common.bus import OutgoingMessage

    await publisher.publish_all(
        [OutgoingMessage(r["event_id"], r["subject"], r["payload"].encode(), {}) for r in rows]
    )
    # ...and the next relay publishes them again: JetStream keeps one copy of each.
    relay = OutboxRelay(database_url, publisher)
    assert await relay.flush_once() == 3
    await relay.aclose()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    events = await bus.wait_for(3)
    assert len(await bus.settled(settings.nats_url)) == 3
    assert [e["data"]["name"] for e in events] == ["A0", "A1", "A2"]
    await broker.stop()
    await pool.close()


async def _publish_sync(nats_url: str, data: PhoneNumberSyncData, name: EventName) -> None:
    nc = await nats.connect(nats_url)
    event = new_event(
        name, source="/talkifai/trunk-sync", subject=data.phone_number_id, orgid="org_a", data=data
    )
    await nc.jetstream().publish(
        name.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id}
    )
    await nc.close()


async def _sync_state(api: Api, number_id: str, want: str) -> dict[str, Any]:
    for _ in range(300):
        sync = (await api.request("GET", f"/phone-numbers/{number_id}")).json()["sync"]
        if sync["state"] == want:
            return dict(sync)
        await asyncio.sleep(0.02)
    raise AssertionError(f"sync state never became {want}: {sync}")


async def test_sync_results_update_the_numbers_sync_state(api: Api, settings: Settings) -> None:
    number = await api.number()
    at = datetime.now(UTC)
    failed = PhoneNumberSyncData(
        phone_number_id=number["id"],
        phone_number=number["phone_number"],
        version=number["version"],
        state=SyncState.FAILED,
        error="LiveKit refused the trunk: no trunk numbers specified",
        at=at,
    )
    await _publish_sync(settings.nats_url, failed, EventName.PHONE_NUMBER_SYNC_FAILED)
    sync = await _sync_state(api, number["id"], "failed")
    assert sync["error"] == "LiveKit refused the trunk: no trunk numbers specified"

    synced = failed.model_copy(update={"state": SyncState.SYNCED, "error": None})
    await _publish_sync(settings.nats_url, synced, EventName.PHONE_NUMBER_SYNCED)
    sync = await _sync_state(api, number["id"], "synced")
    assert sync["error"] is None and sync["synced_at"] is not None


async def test_internal_callers_see_the_livekit_resources_of_the_last_sync(
    api: Api, settings: Settings
) -> None:
    number = await api.number()
    synced = PhoneNumberSyncData(
        phone_number_id=number["id"],
        phone_number=number["phone_number"],
        version=number["version"],
        state=SyncState.SYNCED,
        resources=LiveKitResources(inbound_trunk_id="ST_in", outbound_trunk_id="ST_out"),
        at=datetime.now(UTC),
    )
    await _publish_sync(settings.nats_url, synced, EventName.PHONE_NUMBER_SYNCED)
    await _sync_state(api, number["id"], "synced")
    internal = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    path = f"/internal/phone-numbers/{number['id']}"
    expected = {
        "inbound_trunk_id": "ST_in",
        "outbound_trunk_id": "ST_out",
        "dispatch_rule_id": None,
    }
    assert (await api.http.get(path, headers=internal)).json()["livekit"] == expected
    # Not in the public representation.
    assert "livekit" not in (await api.request("GET", f"/phone-numbers/{number['id']}")).json()

    # A failure (of the next version: one of the same version is stale) that names no
    # resources keeps the last good ones.
    await api.request(
        "PATCH", f"/phone-numbers/{number['id']}", json={"termination_uri": "t.example.com"}
    )
    failed = synced.model_copy(
        update={
            "version": number["version"] + 1,
            "state": SyncState.FAILED,
            "error": "x",
            "resources": LiveKitResources(),
        }
    )
    await _publish_sync(settings.nats_url, failed, EventName.PHONE_NUMBER_SYNC_FAILED)
    await _sync_state(api, number["id"], "failed")
    listed = (await api.http.get("/internal/phone-numbers", headers=internal)).json()["items"]
    assert [n["livekit"] for n in listed if n["id"] == number["id"]] == [expected]


async def test_a_result_about_an_older_version_is_ignored(api: Api, settings: Settings) -> None:
    number = await api.number()
    await api.request(
        "PATCH", f"/phone-numbers/{number['id']}", json={"termination_uri": "t.example.com"}
    )
    stale = PhoneNumberSyncData(
        phone_number_id=number["id"],
        phone_number=number["phone_number"],
        version=number["version"],
        state=SyncState.SYNCED,
        at=datetime.now(UTC),
    )
    await _publish_sync(settings.nats_url, stale, EventName.PHONE_NUMBER_SYNCED)
    current = stale.model_copy(
        update={"version": number["version"] + 1, "state": SyncState.FAILED, "error": "x"}
    )
    await _publish_sync(settings.nats_url, current, EventName.PHONE_NUMBER_SYNC_FAILED)
    sync = await _sync_state(api, number["id"], "failed")
    assert sync["error"] == "x"


async def test_changing_a_number_makes_its_sync_pending_again(api: Api, settings: Settings) -> None:
    number = await api.number()
    synced = PhoneNumberSyncData(
        phone_number_id=number["id"],
        phone_number=number["phone_number"],
        version=number["version"],
        state=SyncState.SYNCED,
        at=datetime.now(UTC),
    )
    await _publish_sync(settings.nats_url, synced, EventName.PHONE_NUMBER_SYNCED)
    await _sync_state(api, number["id"], "synced")
    await api.request("PATCH", f"/phone-numbers/{number['id']}", json={"recording_mode": "all"})
    assert (await api.request("GET", f"/phone-numbers/{number['id']}")).json()["sync"][
        "state"
    ] == "pending"


async def test_internal_credentials_need_the_internal_token_and_never_a_user_token(
    api: Api,
) -> None:
    number = await api.number(
        termination_uri="sip:trunk.example.com", sip_username="u1", sip_password="pw-1"
    )
    path = f"/internal/phone-numbers/{number['id']}/trunk-credentials"
    assert (await api.http.get(path)).status_code == 401
    assert (await api.http.get(path, headers=api.as_())).status_code == 401
    response = await api.http.get(path, headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"})
    assert response.status_code == 200
    assert response.json() == {
        "phone_number_id": number["id"],
        "phone_number": "+12025550123",
        "org_id": "org_a",
        "version": number["version"],
        "termination_uri": "trunk.example.com",
        "sip_username": "u1",
        "sip_password": "pw-1",
        "sip_transport": "tls",
        "media_encryption": "require",
        "inbound_auth_password": None,
    }
    missing = await api.http.get(
        "/internal/phone-numbers/pn_missing/trunk-credentials",
        headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"},
    )
    assert missing.status_code == 404


async def test_a_number_for_sync_comes_with_its_credentials_in_one_read(api: Api) -> None:
    agent = await api.agent("Dialer")
    number = await api.number(
        org_id="org_a", termination_uri="trunk.example.com", sip_username="u", sip_password="pw-9"
    )
    await api.request(
        "PUT",
        "/phone-numbers/agent-assignments",
        json={"phone_number": number["phone_number"], "outbound_agent_id": agent["id"]},
    )
    current = (await api.request("GET", f"/phone-numbers/{number['id']}")).json()
    path = f"/internal/phone-numbers/{number['id']}/for-sync"
    internal = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}

    response = await api.http.get(path, headers=internal)

    assert response.status_code == 200
    body = response.json()
    assert body["number"] == {**current, "org_id": "org_a", "livekit": NO_RESOURCES}
    assert body["trunk_credentials"]["version"] == current["version"]
    assert body["trunk_credentials"]["sip_password"] == "pw-9"
    assert (await api.http.get(path, headers=api.as_())).status_code == 401
    missing = await api.http.get("/internal/phone-numbers/pn_missing/for-sync", headers=internal)
    assert missing.status_code == 404


async def test_many_numbers_for_sync_are_read_in_one_request(api: Api) -> None:
    first = await api.number(org_id="org_a", sip_username="u", sip_password="pw-a")
    second = await api.number("+12025550188", org_id="org_b")
    internal = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    ids = [first["id"], "pn_missing", second["id"], first["id"]]

    response = await api.http.post(
        "/internal/phone-numbers/for-sync", json={"ids": ids}, headers=internal
    )

    assert response.status_code == 200
    items = {item["number"]["id"]: item for item in response.json()["items"]}
    assert sorted(items) == sorted([first["id"], second["id"]])  # the missing one is left out
    assert items[first["id"]]["number"] == {**first, "org_id": "org_a", "livekit": NO_RESOURCES}
    assert items[first["id"]]["trunk_credentials"]["sip_password"] == "pw-a"
    assert items[second["id"]]["number"]["org_id"] == "org_b"
    user = await api.http.post(
        "/internal/phone-numbers/for-sync", json={"ids": ids}, headers=api.as_()
    )
    assert user.status_code == 401
    bad: dict[str, object]
    bad_bodies: list[dict[str, object]] = [
        {"ids": []},
        {"ids": ["x"] * 501},
        {"ids": [""]},
        {"ids": "x"},
        {},
    ]
    for bad in bad_bodies:
        refused = await api.http.post(
            "/internal/phone-numbers/for-sync", json=bad, headers=internal
        )
        assert refused.status_code == 422, bad
        assert "ids" in refused.text


async def test_internal_number_reads_any_organizations_number_without_secrets(api: Api) -> None:
    number = await api.number(org_id="org_b", sip_password="secret-b")
    headers = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    response = await api.http.get(f"/internal/phone-numbers/{number['id']}", headers=headers)
    assert response.status_code == 200
    assert response.json() == {**number, "org_id": "org_b", "livekit": NO_RESOURCES}
    assert "secret-b" not in response.text
    missing = await api.http.get("/internal/phone-numbers/pn_missing", headers=headers)
    assert missing.status_code == 404
    user = await api.http.get(f"/internal/phone-numbers/{number['id']}", headers=api.as_("org_b"))
    assert user.status_code == 401


async def test_internal_agent_reads_any_organizations_agent_for_agent_runtime(api: Api) -> None:
    agent = await api.agent("Support", org_id="org_b")
    headers = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    response = await api.http.get(f"/internal/agents/{agent['id']}", headers=headers)
    assert response.status_code == 200
    assert response.json() == {**agent, "org_id": "org_b"}
    missing = await api.http.get("/internal/agents/agent_missing", headers=headers)
    assert missing.status_code == 404
    user = await api.http.get(f"/internal/agents/{agent['id']}", headers=api.as_("org_b"))
    assert user.status_code == 401


async def test_internal_listing_covers_every_organization_without_secrets(api: Api) -> None:
    await api.number("+12025550001", sip_password="secret-a")
    await api.number("+12025550002", org_id="org_b")
    headers = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    seen: list[tuple[str, str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        response = await api.http.get("/internal/phone-numbers", headers=headers, params=params)
        assert "secret-a" not in response.text
        page = response.json()
        seen += [(n["org_id"], n["phone_number"]) for n in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [("org_a", "+12025550001"), ("org_b", "+12025550002")]
    assert (await api.http.get("/internal/phone-numbers", headers=api.as_())).status_code == 401


async def _read_sse(
    response: httpx.Response, count: int, connected: asyncio.Event | None = None
) -> list[dict[str, str]]:
    """The first `count` events; `connected` is set at the stream's `: connected` comment (sent
    once the feed is subscribed)."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
            continue
        if line.startswith(":"):
            if line == ": connected" and connected is not None:
                connected.set()
            continue
        key, _, value = line.partition(":")
        current[key] = value.removeprefix(" ")
    return events


async def test_live_feed_streams_the_organizations_changes_only(api: Api) -> None:
    token_a = api.token("org_a")
    async with (
        httpx.AsyncClient(base_url=api.base_url, timeout=10) as client,
        client.stream("GET", "/events", params={"access_token": token_a}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        subscribed = asyncio.Event()
        reader = asyncio.create_task(_read_sse(response, 2, subscribed))
        await asyncio.wait_for(subscribed.wait(), 5)
        await api.agent("Other org", org_id="org_b")
        agent = await api.agent("Mine")
        number = await api.number()
        events = await asyncio.wait_for(reader, 5)
    assert [e["event"] for e in events] == [
        "telephony.agent.created",
        "telephony.phone_number.created",
    ]
    assert json.loads(events[0]["data"])["data"]["id"] == agent["id"]
    assert json.loads(events[1]["data"])["subject"] == number["id"]
    assert events[1]["id"] == json.loads(events[1]["data"])["id"]


async def test_live_feed_needs_a_valid_token(api: Api) -> None:
    assert (await api.http.get("/events")).status_code == 401
    assert (await api.http.get("/events", params={"access_token": "bad"})).status_code == 401


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "nats": "ok"}


async def test_keys_rotate_without_losing_a_password(
    api: Api, database_url: str, fernet_keys: list[str]
) -> None:
    from numbers_api import handlers
    from talkifai_common.crypto import SecretBox, SecretBoxError, generate_key
    from talkifai_common.db import create_pool

    number = await api.number(sip_username="u", sip_password="before-rotation")
    new_key = generate_key()
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        rotated = await handlers.rotate_keys(Store(pool), SecretBox([new_key, *fernet_keys]))
        stored = await pool.fetchval(
            "SELECT sip_password_ciphertext FROM phone_numbers WHERE id = $1", number["id"]
        )
    finally:
        await pool.close()
    assert rotated == 1
    assert SecretBox([new_key]).decrypt(stored) == "before-rotation"
    with pytest.raises(SecretBoxError):
        SecretBox(fernet_keys).decrypt(stored)


async def test_the_live_feed_never_answers_a_jetstream_publish(api: Api, clean_stream: str) -> None:
    # Its core subscription hears every event; an automatic reply would race the PubAck and make
    # the outbox relay's publish fail (it then read an empty reply as the PubAck).
    payload = json.dumps({"id": "e1", "orgid": "org_a"}).encode()

    replies = await replies_to_a_jetstream_publish(
        clean_stream, "telephony.call.completed", payload
    )

    assert [json.loads(r)["stream"] for r in replies] == [STREAM_NAME]


async def test_an_event_committed_while_the_relay_publishes_is_relayed_at_once(
    database_url: str,
) -> None:
    """Its NOTIFY arrives during a flush; the relay must not forget it until its next poll."""
    from numbers_api import handlers
    from numbers_api.schemas import AgentCreate
    from talkifai_common.auth import Principal, Role
    from talkifai_common.bus import OutgoingMessage
    from talkifai_common.db import create_pool

    pool = await create_pool(database_url, min_size=1, max_size=4)
    store = Store(pool)
    owner = Principal(sub="u", org_id="org_a", role=Role.OWNER)

    async def create(name: str) -> None:
        body = AgentCreate.model_validate({"name": name, "architecture": "pipeline"})
        await handlers.create_agent(store, owner, body)

    published: list[str] = []
    second_published = asyncio.Event()

    class Publisher:
        async def publish_all(self, messages: Sequence[OutgoingMessage]) -> None:
            published.extend(json.loads(m.payload)["data"]["name"] for m in messages)
            if published == ["first"]:
                # Committed after the flush's SELECT; PostgreSQL delivers its NOTIFY to the relay
                # once the flush's transaction ends: that wake-up must not be lost.
                await create("second")
            if "second" in published:
                second_published.set()

    await create("first")
    relay = OutboxRelay(database_url, Publisher(), poll_interval_s=30)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(second_published.wait(), 5)  # not the 30 s poll
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pool.close()
    assert published == ["first", "second"]


async def _agents_in_outbox(database_url: str, *names: str) -> None:
    from numbers_api import handlers
    from numbers_api.schemas import AgentCreate
    from talkifai_common.auth import Principal, Role
    from talkifai_common.db import create_pool

    pool = await create_pool(database_url, min_size=1, max_size=2)
    owner = Principal(sub="u", org_id="org_a", role=Role.OWNER)
    try:
        for name in names:
            body = AgentCreate.model_validate({"name": name, "architecture": "pipeline"})
            await handlers.create_agent(Store(pool), owner, body)
    finally:
        await pool.close()


class _RecordingPublisher:
    """Records the agent names it publishes; can hold a batch open or fail it."""

    def __init__(self, *, hold: asyncio.Event | None = None, fail: bool = False) -> None:
        self.published: list[str] = []
        self.publishing = asyncio.Event()
        self._hold = hold
        self._fail = fail

    async def publish_all(self, messages: Any) -> None:
        self.publishing.set()
        if self._hold is not None:
            await self._hold.wait()
        if self._fail:
            raise ConnectionError("NATS went away")
        self.published.extend(json.loads(m.payload)["data"]["name"] for m in messages)


async def test_one_replica_relays_a_batch_at_a_time(database_url: str) -> None:
    """While one relay publishes a batch, another publishes nothing (events keep their order)."""
    await _agents_in_outbox(database_url, "first", "second")
    release = asyncio.Event()
    first, second = _RecordingPublisher(hold=release), _RecordingPublisher()
    relay_a, relay_b = OutboxRelay(database_url, first), OutboxRelay(database_url, second)
    try:
        batch = asyncio.create_task(relay_a.flush_once())
        await asyncio.wait_for(first.publishing.wait(), 5)
        assert await relay_b.flush_once() == 0  # the lock is held: no overtaking, no copies
        release.set()
        assert await batch == 2
        await _agents_in_outbox(database_url, "third")
        assert await relay_b.flush_once() == 1  # the lock was released with the batch
    finally:
        await relay_a.aclose()
        await relay_b.aclose()
    assert (first.published, second.published) == (["first", "second"], ["third"])


async def test_a_failed_publish_keeps_the_events_and_frees_the_lock(database_url: str) -> None:
    await _agents_in_outbox(database_url, "first", "second")
    broken, working = _RecordingPublisher(fail=True), _RecordingPublisher()
    relay_a, relay_b = OutboxRelay(database_url, broken), OutboxRelay(database_url, working)
    try:
        with pytest.raises(ConnectionError):
            await relay_a.flush_once()
        assert await relay_b.flush_once() == 2
        assert await relay_b.flush_once() == 0  # published rows are deleted
    finally:
        await relay_a.aclose()
        await relay_b.aclose()
    assert working.published == ["first", "second"]
