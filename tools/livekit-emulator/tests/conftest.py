"""Fixtures: an emulator on a free port, the real livekit-api client, a webhook sink."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import jwt  # noqa: F401  # the warning filter below names its class
import pytest
import uvicorn
from livekit import api, rtc
from starlette.applications import Starlette
from starlette.routing import Route

from livekit_emulator.main import bind
from livekit_emulator.testing import RunningEmulator, running_emulator, test_config
from tests.support.emulator import WebhookSink


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """LiveKit's dev secret is short on purpose; PyJWT's warning about it is noise here."""
    for item in items:
        if "livekit-emulator" in str(item.path):
            # The marker takes a warnings-filter string only (a `category=` keyword is ignored).
            item.add_marker(
                pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
            )


@pytest.fixture(scope="session")
async def _sink() -> AsyncIterator[WebhookSink]:
    receiver = WebhookSink()
    sock = bind("127.0.0.1", 0)
    receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}/livekit/webhook"
    app = Starlette(routes=[Route("/livekit/webhook", receiver.handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no startup event
        await asyncio.sleep(0.005)
    yield receiver
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task
    sock.close()


# One emulator per session (reset before each test): starting and stopping uvicorn per test
# would cost more than the tests themselves.
@pytest.fixture(scope="session")
async def _lk() -> AsyncIterator[RunningEmulator]:
    async with running_emulator(test_config(default_ringing_timeout_s=1.0)) as running:
        yield running


@pytest.fixture(scope="session")
async def _lk_hooks(_sink: WebhookSink) -> AsyncIterator[RunningEmulator]:
    async with running_emulator(test_config(webhook_urls=[_sink.url])) as running:
        yield running


@pytest.fixture
async def lk(_lk: RunningEmulator) -> RunningEmulator:
    """An emulator with a 1 s default ringing timeout and no webhooks, freshly reset."""
    await _lk.control.reset()
    return _lk


@pytest.fixture
async def sink(_sink: WebhookSink) -> WebhookSink:
    """The webhook receiver, emptied."""
    _sink.deliveries.clear()
    _sink.fail_next = 0
    _sink.attempts = 0
    return _sink


@pytest.fixture
async def lk_hooks(_lk_hooks: RunningEmulator, sink: WebhookSink) -> RunningEmulator:
    """An emulator that sends webhooks to `sink`, freshly reset."""
    await _lk_hooks.control.reset()
    return _lk_hooks


@pytest.fixture
async def rooms() -> AsyncIterator[list[rtc.Room]]:
    """SDK rooms (participants) opened by a test, disconnected after it."""
    opened: list[rtc.Room] = []
    yield opened
    for room in opened:
        await room.disconnect()


@pytest.fixture
async def lkapi(lk: RunningEmulator) -> AsyncIterator[api.LiveKitAPI]:
    """The real LiveKit API client pointed at the emulator."""
    client = api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
    yield client
    await client.aclose()


@pytest.fixture
async def hooks_api(lk_hooks: RunningEmulator) -> AsyncIterator[api.LiveKitAPI]:
    """The real LiveKit API client pointed at the emulator that sends webhooks."""
    client = api.LiveKitAPI(lk_hooks.url, lk_hooks.api_key, lk_hooks.api_secret)
    yield client
    await client.aclose()
