"""A durable subscriber against a real nats-server: typed events in, the policy on every outcome."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError
from pydantic import BaseModel

from talkifai_common.bus import create_broker, ensure_stream
from talkifai_common.consumers import DeadLetters, RetryPolicy, durable_subscriber
from talkifai_common.events import EventName
from tests.support.consumers import dead_letters, publish

SUBJECT = EventName.PHONE_NUMBER_UPDATED.subject
DURABLE = "common-durable-test"


class Ping(BaseModel):
    """The test's event model."""

    id: str
    count: int


@dataclass
class Subscriber:
    """A started broker with one durable subscriber whose handled events land in `handled`."""

    nats_url: str
    dead_letters: DeadLetters
    handled: asyncio.Queue[Ping]


@pytest.fixture
async def subscriber(clean_stream: str) -> AsyncIterator[Subscriber]:
    broker = create_broker(clean_stream, name="common-durable-test")
    dead = DeadLetters(broker, DURABLE)
    handled: asyncio.Queue[Ping] = asyncio.Queue()

    async def handle(event: Ping) -> None:
        await handled.put(event)

    durable_subscriber(
        broker,
        subjects=[SUBJECT],
        durable=DURABLE,
        model=Ping,
        handle=handle,
        dead_letters=dead,
        policy=RetryPolicy(),
        title="test subscriber",
    )
    await broker.connect()
    # Dead letters are deduplicated by stream sequence, which restarts with the clean stream.
    with contextlib.suppress(NotFoundError):
        await broker.connection.jetstream().delete_stream(dead.stream)
    await ensure_stream(broker)
    await dead.ensure_stream()
    await broker.start()
    try:
        yield Subscriber(clean_stream, dead, handled)
    finally:
        await broker.stop()


async def _dead_letter(nats_url: str, stream: str, naming: str) -> RawStreamMsg:
    while True:
        found = await dead_letters(nats_url, stream, naming)
        if found:
            [letter] = found
            return letter
        await asyncio.sleep(0.02)


async def test_the_handler_gets_the_payload_decoded_into_its_model(subscriber: Subscriber) -> None:
    await publish(subscriber.nats_url, SUBJECT, b'{"id": "p1", "count": 3}')

    event = await asyncio.wait_for(subscriber.handled.get(), timeout=10)

    assert event == Ping(id="p1", count=3)


@pytest.mark.parametrize(
    ("body", "naming"),
    [
        (b'{"id": "p_wrong_shape", "count": "many"}', "p_wrong_shape"),
        (b"not json at all: p_not_json", "p_not_json"),
    ],
)
async def test_a_payload_that_does_not_decode_is_dead_lettered_at_once(
    subscriber: Subscriber, body: bytes, naming: str
) -> None:
    await publish(subscriber.nats_url, SUBJECT, body)

    letter = await asyncio.wait_for(
        _dead_letter(subscriber.nats_url, subscriber.dead_letters.stream, naming), timeout=10
    )

    assert letter.data == body
    assert letter.headers is not None
    assert letter.headers["Dead-Letter-Reason"] == "malformed"
    assert letter.headers["Dead-Letter-Deliveries"] == "1"
    assert subscriber.handled.empty()
