"""NATS for trunk-sync: sync results, the dead-letter stream and the full-reconcile lease.

Dead letters go to trunk-sync's stream `TRUNK_SYNC_DLQ` (subject `dlq.trunk_sync`) through
`talkifai_common.consumers.DeadLetters`, as every service's do.
"""

from __future__ import annotations

import contextlib
from typing import Any

from faststream.nats import NatsBroker
from nats.js.api import KeyValueConfig
from nats.js.errors import APIError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from talkifai_common.bus import JetStreamPublisher, encode_event
from talkifai_common.consumers import DeadLetters
from talkifai_common.events import CloudEvent, PhoneNumberSyncData

SERVICE = "trunk-sync"
DLQ_STREAM = "TRUNK_SYNC_DLQ"
DLQ_SUBJECT = "dlq.trunk_sync"
LEASE_BUCKET = "trunk_sync_leases"
LEASE_KEY = "full-reconcile"


class BusResults:
    """ResultSink over JetStream."""

    def __init__(self, broker: NatsBroker, *, consumer: str = SERVICE) -> None:
        self._publisher = JetStreamPublisher(broker)
        self._consumer = consumer
        self.dead_letters = DeadLetters(broker, SERVICE)

    async def ensure_dead_letter_stream(self) -> None:
        """Create the dead-letter stream if it is missing."""
        await self.dead_letters.ensure_stream()

    async def publish(self, event: CloudEvent[PhoneNumberSyncData]) -> None:
        """Publish a sync result on `TELEPHONY` (Nats-Msg-Id = its fresh event id)."""
        await self._publisher.publish_all([encode_event(event)])

    async def dead_letter(
        self, subject: str, payload: bytes, *, reason: str, error: str, deliveries: int
    ) -> None:
        """Keep a message that could not be processed, with why (logged and counted)."""
        await self.dead_letters.publish(
            subject,
            payload,
            consumer=self._consumer,
            reason=reason,
            error=error,
            deliveries=deliveries,
        )


class ReconcileLease:
    """Only one replica runs the periodic full reconcile: a NATS KV key with a TTL.

    The holder renews it every run; when it dies the key expires after `ttl_s` and another replica
    takes over. A lost lease costs at most one skipped or one doubled run, both harmless.
    """

    def __init__(self, broker: NatsBroker, holder: str, ttl_s: float) -> None:
        self._broker = broker
        self._holder = holder.encode()
        self._ttl_s = ttl_s
        self._kv: KeyValue | None = None
        self._revision: int | None = None

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            js: Any = self._broker.connection.jetstream()
            try:
                self._kv = await js.key_value(LEASE_BUCKET)
            except NotFoundError:
                self._kv = await js.create_key_value(
                    config=KeyValueConfig(bucket=LEASE_BUCKET, history=1, ttl=self._ttl_s)
                )
        assert self._kv is not None
        return self._kv

    async def acquire(self) -> bool:
        """Take or renew the lease; False when another replica holds it."""
        kv = await self._bucket()
        if self._revision is not None:
            try:
                self._revision = await kv.update(LEASE_KEY, self._holder, last=self._revision)
                return True
            except KeyWrongLastSequenceError:
                self._revision = None
        try:
            self._revision = await kv.create(LEASE_KEY, self._holder)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def release(self) -> None:
        """Give the lease up (graceful shutdown), so another replica need not wait for the TTL."""
        if self._revision is None or self._kv is None:
            return
        # Already expired and taken by another replica: nothing to give up.
        with contextlib.suppress(KeyWrongLastSequenceError, APIError):
            await self._kv.delete(LEASE_KEY, last=self._revision)
        self._revision = None
