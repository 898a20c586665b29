"""numbers-api test fixtures: a fresh migrated database per test, a real server, real NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from numbers_api.config import Settings
from numbers_api.main import MIGRATIONS, create_app
from talkifai_common.auth import Role, issue_hs256_token
from talkifai_common.bus import create_broker, ensure_stream
from talkifai_common.crypto import generate_key
from tests.support.databases import DatabaseFactory
from tests.support.numbers_api import INTERNAL_TOKEN, Api, BusRecorder, TokenFactory
from tests.support.servers import serve_asgi

JWT_SECRET = "test-jwt-secret-0123456789-abcdefghijklmnop"


@pytest.fixture
async def database_url(database_factory: DatabaseFactory) -> str:
    """A fresh database with numbers-api's schema."""
    return await database_factory(MIGRATIONS)


@pytest.fixture
def fernet_keys() -> list[str]:
    """The Fernet keys the service starts with (newest first)."""
    return [generate_key()]


@pytest.fixture
def settings(database_url: str, clean_stream: str, fernet_keys: list[str]) -> Settings:
    """Production-like settings (not dev mode) against the test database and bus."""
    return Settings(
        dev_mode=False,
        database_url=database_url,
        nats_url=clean_stream,
        auth_jwt_secret=JWT_SECRET,
        fernet_keys=",".join(fernet_keys),
        internal_api_token=INTERNAL_TOKEN,
        log_format="console",
    )


@pytest.fixture
def token() -> TokenFactory:
    """Sign a user token: `token("org_a", Role.OWNER)`."""

    def make(org_id: str = "org_a", role: Role = Role.OWNER, sub: str = "user-1") -> str:
        return issue_hs256_token(JWT_SECRET, sub=sub, org_id=org_id, role=role)

    return make


@pytest.fixture
async def api(settings: Settings, token: TokenFactory) -> AsyncIterator[Api]:
    """numbers-api served by uvicorn on a free port."""
    app = create_app(settings)
    async with (
        serve_asgi(app) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as http,
    ):
        client = Api(base_url=base_url, http=http, token=token, app=app)
        await client.wait_bus_ready()
        yield client


@pytest.fixture
async def bus(clean_stream: str) -> AsyncIterator[BusRecorder]:
    """Record the stream through an ephemeral JetStream consumer (real NATS)."""
    broker = create_broker(clean_stream, name="test-recorder")
    await broker.connect()
    await ensure_stream(broker)
    await broker.stop()
    nc = await nats.connect(clean_stream)
    js = nc.jetstream()
    recorder = BusRecorder()

    async def on_message(msg: Any) -> None:
        recorder.messages.append(msg)
        await msg.ack()

    sub = await js.subscribe(
        "telephony.>",
        cb=on_message,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    yield recorder
    await sub.unsubscribe()
    await nc.close()
