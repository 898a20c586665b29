"""NATS JetStream through FastStream: the broker, the `TELEPHONY` stream, and publishing events.

Publishing sets `Nats-Msg-Id` to the event id, so JetStream drops a republished copy of the same
event inside its duplicate window (ids are fresh per event: see `events.new_event`), and carries the
W3C trace context in the headers. Durable consumers are in `talkifai_common.consumers`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import structlog
from faststream.nats import NatsBroker, NatsMessage
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from opentelemetry import context, propagate

from talkifai_common.events import STREAM_NAME, STREAM_SUBJECTS, CloudEvent
from talkifai_common.telemetry import tracing_enabled

log = structlog.get_logger(__name__)

DUPLICATE_WINDOW = timedelta(minutes=10)
JSON_CONTENT_TYPE = "application/json"


def create_broker(
    nats_url: str,
    *,
    name: str,
    on_reconnected: Callable[[], Awaitable[None]] | None = None,
) -> NatsBroker:
    """A FastStream broker that reconnects for ever; subscribers are added by the service.

    `on_reconnected` runs after each reconnection (core NATS subscribers use it to catch up on
    what they missed while disconnected). With tracing on, FastStream's telemetry middleware makes
    a span per publish and per consumed message, continuing the trace carried in the message
    headers.
    """
    return NatsBroker(
        nats_url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=5,
        reconnected_cb=on_reconnected,
        logger=None,
        middlewares=(NatsTelemetryMiddleware(),) if tracing_enabled() else (),
    )


def current_message(broker: NatsBroker) -> NatsMessage:
    """The message the running subscriber handles.

    Handlers call this instead of declaring a `NatsMessage` parameter: FastStream resolves such a
    parameter through a synchronous context lookup that fast_depends runs in a worker thread, a
    thread hop per message (it was a few percent of trunk-sync's and numbers-api's time).
    """
    message: NatsMessage = broker.context.get_local("message")
    return message


def stream_config(max_age: timedelta = timedelta(days=7)) -> StreamConfig:
    """The `TELEPHONY` stream: every `telephony.>` subject, on disk, deduplicated by message id."""
    return StreamConfig(
        name=STREAM_NAME,
        subjects=list(STREAM_SUBJECTS),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=max_age.total_seconds(),
        duplicate_window=DUPLICATE_WINDOW.total_seconds(),
    )


async def ensure_stream(broker: NatsBroker) -> None:
    """Create the stream if it is missing (idempotent; every publisher calls it at start)."""
    js = broker.connection.jetstream()
    try:
        await js.stream_info(STREAM_NAME)
    except NotFoundError:
        await js.add_stream(config=stream_config())


async def start_when_reachable(
    broker: NatsBroker,
    started: asyncio.Event,
    *,
    prepare: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Connect, make sure the stream exists (then run `prepare`), start the subscribers and set
    `started`; until NATS answers, retry with backoff, so a service serves while the bus is down."""
    delay = 0.2
    while True:
        try:
            await broker.connect()
            await ensure_stream(broker)
            if prepare is not None:
                await prepare()
            await broker.start()
        except Exception as exc:
            log.warning("bus.connect_failed", error=str(exc), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)
            continue
        started.set()
        log.info("bus.connected")
        return


@dataclass(frozen=True)
class OutgoingMessage:
    """An encoded event ready for the bus."""

    event_id: str
    subject: str
    payload: bytes
    headers: Mapping[str, str]


def encode_event(event: CloudEvent[Any]) -> OutgoingMessage:
    """Encode an event with its dedup id and the current trace context."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return OutgoingMessage(
        event_id=event.id,
        subject=event.name.subject,
        payload=event.model_dump_json().encode(),
        headers=headers,
    )


class EventPublisher(Protocol):
    """Publishes messages to JetStream and returns once every one is stored."""

    async def publish_all(self, messages: Sequence[OutgoingMessage]) -> None: ...


class JetStreamPublisher:
    """EventPublisher over a FastStream NATS broker."""

    def __init__(self, broker: NatsBroker, *, timeout_s: float = 5.0) -> None:
        self._broker = broker
        self._timeout_s = timeout_s

    async def publish_all(self, messages: Sequence[OutgoingMessage]) -> None:
        """Send in order, then wait for every acknowledgement (raises if any fails)."""
        # Each publish writes to the socket before awaiting its ack, so creating the tasks in order
        # keeps the order on the stream while the acks are awaited together.
        tasks = []
        for message in messages:
            # Publish inside the trace the event was written in, not the relay's own.
            token = context.attach(propagate.extract(message.headers))
            try:
                tasks.append(
                    asyncio.ensure_future(
                        self._broker.publish(
                            message.payload,
                            message.subject,
                            headers={
                                **message.headers,
                                "content-type": JSON_CONTENT_TYPE,
                                "Nats-Msg-Id": message.event_id,
                            },
                            stream=STREAM_NAME,
                            timeout=self._timeout_s,
                        )
                    )
                )
            finally:
                context.detach(token)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
