"""trunk-sync end to end: a real numbers-api, real NATS and PostgreSQL, the LiveKit emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest
from livekit import api as lkapi
from nats.js.api import ConsumerConfig, DeliverPolicy

from conftest import DatabaseFactory
from livekit_emulator.testing import RunningEmulator, running_emulator
from numbers_api.config import Settings as NumbersSettings
from numbers_api.main import MIGRATIONS
from numbers_api.main import create_app as create_numbers_app
from talkifai_common.auth import Role, issue_hs256_token
from talkifai_common.bus import create_broker, ensure_stream
from talkifai_common.crypto import generate_key
from tests.support.numbers_api import Api, BusRecorder, TokenFactory
from tests.support.servers import serve_asgi
from tests.support.trunk_sync import StartSync, TrunkSync
from trunk_sync.config import Settings
from trunk_sync.main import create_app

JWT_SECRET = "test-jwt-secret-0123456789-abcdefghijklmnop"
INTERNAL_TOKEN = "test-internal-token-0123456789abcdef"
LIVEKIT_KEY = "trunk-sync-test-key"
LIVEKIT_SECRET = "trunk-sync-test-livekit-secret-0123456789"


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


def numbers_settings(database_url: str, nats_url: str) -> NumbersSettings:
    """numbers-api in production mode against the test database and bus."""
    return NumbersSettings(
        dev_mode=False,
        database_url=database_url,
        nats_url=nats_url,
        auth_jwt_secret=JWT_SECRET,
        fernet_keys=generate_key(),
        internal_api_token=INTERNAL_TOKEN,
        log_format="console",
    )


def sync_settings(api_url: str, nats_url: str, lk: RunningEmulator, **overrides: Any) -> Settings:
    """trunk-sync in production mode; the periodic reconcile is left to the tests to call."""
    values: dict[str, Any] = {
        "dev_mode": False,
        "nats_url": nats_url,
        "numbers_api_url": api_url,
        "internal_api_token": INTERNAL_TOKEN,
        "livekit_url": lk.url,
        "livekit_api_key": lk.api_key,
        "livekit_api_secret": lk.api_secret,
        "reconcile_interval_s": 60,
        "retry_base_s": 0.05,
        "retry_max_s": 0.2,
        "max_deliveries": 4,
        "log_format": "console",
    }
    values.update(overrides)
    return Settings(**values)


def token_factory() -> TokenFactory:
    """Sign a user token: `token("org_a", Role.OWNER)`."""

    def make(org_id: str = "org_a", role: Role = Role.OWNER, sub: str = "user-1") -> str:
        return issue_hs256_token(JWT_SECRET, sub=sub, org_id=org_id, role=role)

    return make


async def wait_ready(base_url: str) -> None:
    """Until `/readyz` answers 200."""
    async with httpx.AsyncClient(base_url=base_url) as http:
        for _ in range(500):
            response = await http.get("/readyz")
            if response.status_code == 200:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"{base_url} never became ready: {response.text}")


@pytest.fixture
async def api(database_factory: DatabaseFactory, clean_stream: str) -> AsyncIterator[Api]:
    """numbers-api served by uvicorn on a free port."""
    app = create_numbers_app(numbers_settings(await database_factory(MIGRATIONS), clean_stream))
    async with (
        serve_asgi(app) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as http,
    ):
        client = Api(base_url=base_url, http=http, token=token_factory(), app=app)
        await client.wait_bus_ready()
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
