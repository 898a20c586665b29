"""Fixtures: an emulator on a free port, the real livekit-api client, a webhook sink."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import jwt
import pytest
import uvicorn
from livekit import api
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from livekit_emulator.main import bind
from livekit_emulator.testing import RunningEmulator, running_emulator, test_config

WAIT_S = 5.0  # a guard against hanging, never an expectation of speed


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """LiveKit's dev secret is short on purpose; PyJWT's warning about it is noise here."""
    for item in items:
        if "livekit-emulator" in str(item.path):
            item.add_marker(
                pytest.mark.filterwarnings("ignore", category=jwt.warnings.InsecureKeyLengthWarning)
            )


@dataclass
class Delivery:
    """One webhook request as received."""

    body: str
    authorization: str
    content_type: str


@dataclass
class WebhookSink:
    """A tiny HTTP server that records webhook requests (optionally failing the first ones)."""

    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    fail_next: int = 0
    attempts: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: Request) -> Response:
        """Record a delivery, or fail it on purpose."""
        self.attempts += 1
        if self.fail_next > 0:
            self.fail_next -= 1
            return PlainTextResponse("try later", status_code=503)
        self.deliveries.append(
            Delivery(
                body=(await request.body()).decode(),
                authorization=request.headers.get("authorization", ""),
                content_type=request.headers.get("content-type", ""),
            )
        )
        self._arrived.set()
        return PlainTextResponse("ok")

    async def wait_for(self, predicate: Callable[[list[Delivery]], bool]) -> list[Delivery]:
        """Wait until the deliveries satisfy `predicate`."""
        async with asyncio.timeout(WAIT_S):
            while not predicate(self.deliveries):
                self._arrived.clear()
                await self._arrived.wait()
        return self.deliveries


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
