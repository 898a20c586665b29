"""call-orchestrator fixtures: a fresh database per test, real NATS, one LiveKit emulator.

The emulator is shared by the session and posts its webhooks to a fixed port, where each test
serves its own call-orchestrator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest
from livekit import api as lkapi
from nats.js.api import ConsumerConfig, DeliverPolicy

from call_orchestrator.config import Settings
from call_orchestrator.main import MIGRATIONS, create_app
from livekit_emulator.testing import RunningEmulator, running_emulator, test_config
from talkifai_common import devinfra
from talkifai_common.agent_capabilities import advertise
from tests.support.agent_runtimes import every_key_runtime, forget_agent_runtimes
from tests.support.call_orchestrator import (
    INTERNAL_TOKEN,
    JWT_SECRET,
    SIGNING_SECRET,
    Harness,
    eventually,
)
from tests.support.databases import DatabaseFactory
from tests.support.numbers_api import BusRecorder
from tests.support.servers import serve_asgi


@pytest.fixture(scope="session")
def service_port() -> int:
    """The port every test's call-orchestrator listens on (the emulator's webhook target)."""
    return devinfra.free_port()


@pytest.fixture(scope="session")
async def emulator(service_port: int) -> AsyncIterator[RunningEmulator]:
    """One LiveKit emulator for the session, sending webhooks to the service port."""
    config = test_config(
        api_key="testkey",
        api_secret="test-livekit-secret-0123456789abcdef",
        webhook_urls=[f"http://127.0.0.1:{service_port}/livekit/webhook"],
    )
    async with running_emulator(config) as lk:
        yield lk


@pytest.fixture
async def lk(emulator: RunningEmulator) -> RunningEmulator:
    """The emulator, reset for this test."""
    await emulator.control.reset()
    return emulator


@pytest.fixture
async def database_url(database_factory: DatabaseFactory) -> str:
    """A fresh database with call-orchestrator's schema."""
    return await database_factory(MIGRATIONS)


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Settings a test changes (override this fixture or parametrize it indirectly)."""
    return {}


@pytest.fixture
def settings(
    database_url: str, clean_stream: str, lk: RunningEmulator, overrides: dict[str, Any]
) -> Settings:
    """Production-like settings (not dev mode) against the test database, bus and emulator."""
    values: dict[str, Any] = {
        "dev_mode": False,
        "database_url": database_url,
        "nats_url": clean_stream,
        "auth_jwt_secret": JWT_SECRET,
        "internal_api_token": INTERNAL_TOKEN,
        "webhook_signing_secret": SIGNING_SECRET,
        "livekit_url": lk.url,
        "livekit_api_key": lk.api_key,
        "livekit_api_secret": lk.api_secret,
        "allow_private_webhooks": True,
        "webhook_retry_base_s": 0.05,
        "webhook_poll_interval_s": 0.05,
        "answer_poll_interval_s": 0.05,
        "log_format": "console",
        "shutdown_grace_s": 0.3,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def bus(clean_stream: str) -> AsyncIterator[BusRecorder]:
    """Every event on the stream during the test (an ephemeral JetStream consumer)."""
    nc = await nats.connect(clean_stream)
    js = nc.jetstream()
    from talkifai_common.bus import stream_config

    await js.add_stream(config=stream_config())
    recorder = BusRecorder()

    async def on_message(msg: Any) -> None:
        recorder.messages.append(msg)
        await msg.ack()

    sub = await js.subscribe(
        "telephony.>", cb=on_message, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    yield recorder
    await sub.unsubscribe()
    await nc.close()


@pytest.fixture
async def harness(
    settings: Settings, service_port: int, lk: RunningEmulator, bus: BusRecorder
) -> AsyncIterator[Harness]:
    """call-orchestrator served on the service port, with clients for it, the bus and LiveKit."""
    await forget_agent_runtimes(settings.nats_url)
    app = create_app(settings)
    async with (
        serve_asgi(app, port=service_port) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        nc = await nats.connect(settings.nats_url)
        livekit = lkapi.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
        h = Harness(
            http=http,
            nc=nc,
            lk=lk,
            livekit=livekit,
            bus=bus,
            database_url=settings.database_url,
        )
        await h.wait_ready()
        # A stand-in agent-runtime with every provider key: calls are not refused for want of one.
        h.runtime_advertiser = asyncio.create_task(
            advertise(nc.jetstream(), lambda: every_key_runtime(settings.agent_name))
        )
        h.runtimes = app.state.context.runtimes
        h.context = app.state.context
        await eventually(h.runtimes_live, bool)
        try:
            yield h
        finally:
            await h.stop_agent_runtime()
            await livekit.aclose()
            await nc.close()
