"""Bus subscribers: trunk-sync's results, and the live feed behind `GET /events`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from faststream.nats import NatsBroker

from numbers_api.adapters.postgres import Store, SyncRecorded
from numbers_api.handlers import record_sync_result
from talkifai_common.bus import current_message
from talkifai_common.consumers import DeadLetters, RetryPolicy, durable_subscriber
from talkifai_common.events import CloudEvent, EventName, PhoneNumberSyncData

log = structlog.get_logger(__name__)

# What reaches the Studio: agents, phone numbers and campaigns, and calls' state changes and costs
# (the Calls and Campaigns pages); never usage or transcripts (large, and read through their own
# routes).
LIVE_PREFIXES = ("telephony.agent.", "telephony.phone_number.", "telephony.campaign.")
LIVE_CALL_SUBJECTS = frozenset(
    name.subject
    for name in (
        EventName.CALL_INITIATED,
        EventName.CALL_RINGING,
        EventName.CALL_ANSWERED,
        EventName.CALL_COMPLETED,
        EventName.CALL_FAILED,
        EventName.CALL_AGENT_FAILED,
        EventName.CALL_COSTED,
    )
)


@dataclass(frozen=True)
class LiveEvent:
    """One event for an SSE client."""

    id: str
    subject: str
    data: str


@dataclass(eq=False)
class _Client:
    org_id: str
    queue: asyncio.Queue[LiveEvent | None] = field(default_factory=lambda: asyncio.Queue(256))

    def disconnect(self) -> None:
        """Tell the client to disconnect (None), even when its queue is full: what it has not
        read is dropped to make room (it refetches when it reconnects), since a disconnect lost
        to a full queue would leave its stream open with nothing but pings."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class LiveEvents:
    """Fans bus events out to the connected SSE clients of each organization."""

    def __init__(self) -> None:
        self._clients: set[_Client] = set()

    @contextlib.contextmanager
    def connect(self, org_id: str) -> Iterator[asyncio.Queue[LiveEvent | None]]:
        """A queue of the organization's events while the block runs; None means disconnect."""
        client = _Client(org_id)
        self._clients.add(client)
        try:
            yield client.queue
        finally:
            self._clients.discard(client)

    def deliver(self, subject: str, payload: bytes) -> None:
        """Queue an event for every client of its organization; a client too slow is dropped."""
        live = subject.startswith(LIVE_PREFIXES) or subject in LIVE_CALL_SUBJECTS
        if not live or not self._clients:
            return
        try:
            envelope = json.loads(payload)
            event = LiveEvent(id=str(envelope["id"]), subject=subject, data=payload.decode())
            org_id = str(envelope["orgid"])
        except (ValueError, KeyError, TypeError):
            log.warning("live_events.malformed", subject=subject)
            return
        for client in list(self._clients):
            if client.org_id != org_id:
                continue
            try:
                client.queue.put_nowait(event)
            except asyncio.QueueFull:
                # The client reconnects with Last-Event-ID semantics on its side and refetches.
                self._clients.discard(client)
                client.disconnect()

    def close_all(self) -> None:
        """Tell every client to disconnect (graceful shutdown)."""
        for client in list(self._clients):
            client.disconnect()
        self._clients.clear()


def register_consumers(
    broker: NatsBroker,
    store: Store,
    live: LiveEvents,
    dead_letters: DeadLetters,
    policy: RetryPolicy,
) -> None:
    """Attach numbers-api's subscribers to the broker (before it starts)."""

    async def on_sync_result(event: CloudEvent[PhoneNumberSyncData]) -> None:
        outcome = await record_sync_result(store, event)
        log.info(
            # A stale result (a redelivery left from an outage, say) is acked, not applied.
            "sync_result.stale" if outcome is SyncRecorded.STALE else "sync_result.received",
            event_id=event.id,
            phone_number_id=event.data.phone_number_id,
            version=event.data.version,
            state=event.data.state.value,
            outcome=outcome.value,
        )

    for name in (EventName.PHONE_NUMBER_SYNCED, EventName.PHONE_NUMBER_SYNC_FAILED):
        durable_subscriber(
            broker,
            subjects=[name.subject],
            durable=f"numbers-api-{name.subject.rsplit('.', 1)[1].replace('_', '-')}",
            model=CloudEvent[PhoneNumberSyncData],
            handle=on_sync_result,
            dead_letters=dead_letters,
            policy=policy,
            title=f"numbers-api records {name.subject}",
        )

    # Core NATS (not a durable consumer): every replica hears every event for its own SSE clients.
    # no_reply: a JetStream publish is a request whose reply is the stream's PubAck; a core
    # subscriber on the same subject must not answer it too (FastStream would, with an empty body
    # that the publisher can take for the PubAck and fail to parse).
    @broker.subscriber("telephony.>", no_reply=True, title="numbers-api live feed for GET /events")
    async def on_any_event(_: Any) -> None:
        message = current_message(broker)
        live.deliver(message.raw_message.subject, message.body)
