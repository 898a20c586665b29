"""trunk-sync end to end: a real numbers-api, real NATS and PostgreSQL, the LiveKit emulator."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from livekit import api as lkapi
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from livekit_emulator.testing import RunningEmulator, running_emulator
from talkifai_common.bus import create_broker, ensure_stream
from tests.support.databases import DatabaseFactory
from tests.support.numbers_api import Api, BusRecorder
from tests.support.servers import serve_asgi
from tests.support.trunk_sync import (
    StartSync,
    TrunkSync,
    running_numbers_api,
    sync_settings,
    wait_ready,
)
from trunk_sync.adapters.bus import LEASE_BUCKET
from trunk_sync.main import create_app

LIVEKIT_KEY = "trunk-sync-test-key"
LIVEKIT_SECRET = "trunk-sync-test-livekit-secret-0123456789"


@pytest.fixture(autouse=True)
async def no_reconcile_lease(request: pytest.FixtureRequest) -> None:
    """No replica of an earlier test holds the full-reconcile lease (a killed one would keep it
    for its TTL, and this test's replicas would skip their reconcile). Unit tests start no
    nats-server."""
    if request.node.get_closest_marker("unit"):
        return
    nats_url: str = request.getfixturevalue("nats_url")
    nc = await nats.connect(nats_url)
    try:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_key_value(LEASE_BUCKET)
    finally:
        await nc.close()


@pytest.fixture(scope="session")
async def emulator() -> AsyncIterator[RunningEmulator]:
    """One LiveKit emulator for the session (reset before each test)."""
    async with running_emulator(api_key=LIVEKIT_KEY, api_secret=LIVEKIT_SECRET) as lk:
        yield lk


@pytest.fixture
async def lk(emulator: RunningEmulator) -> AsyncIterator[RunningEmulator]:
    """The emulator, emptied and without faults."""
    await emulator.control.reset()
    yield emulator
    await emulator.control.set_faults(unavailable=False)


@pytest.fixture
async def livekit(lk: RunningEmulator) -> AsyncIterator[lkapi.LiveKitAPI]:
    """A livekit-api client of the emulator, for changes made "by hand"."""
    client = lkapi.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
    yield client
    await client.aclose()


@pytest.fixture
async def api(database_factory: DatabaseFactory, clean_stream: str) -> AsyncIterator[Api]:
    """numbers-api served by uvicorn on a free port."""
    async with running_numbers_api(database_factory, clean_stream) as client:
        yield client


@pytest.fixture
async def start_sync(api: Api, clean_stream: str, lk: RunningEmulator) -> AsyncIterator[StartSync]:
    """Start trunk-sync replicas (stopped at the end); overrides go to its settings."""
    stack: list[Any] = []

    async def start(**overrides: Any) -> TrunkSync:
        settings = sync_settings(api.base_url, clean_stream, lk, **overrides)
        app = create_app(settings)
        server = serve_asgi(app)
        base_url = await server.__aenter__()
        stack.append(server)
        await wait_ready(base_url)
        return TrunkSync(base_url, app, settings)

    yield start
    for server in reversed(stack):
        await server.__aexit__(None, None, None)


@pytest.fixture
async def sync(start_sync: StartSync) -> TrunkSync:
    """One trunk-sync replica."""
    return await start_sync()


@pytest.fixture
async def bus(clean_stream: str) -> AsyncIterator[BusRecorder]:
    """Every event on the stream since the test began (an ephemeral JetStream consumer)."""
    broker = create_broker(clean_stream, name="test-recorder")
    await broker.connect()
    await ensure_stream(broker)
    await broker.stop()
    nc = await nats.connect(clean_stream)
    recorder = BusRecorder()

    async def on_message(msg: Any) -> None:
        recorder.messages.append(msg)
        await msg.ack()

    sub = await nc.jetstream().subscribe(
        "telephony.>", cb=on_message, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    yield recorder
    await sub.unsubscribe()
    await nc.close()
