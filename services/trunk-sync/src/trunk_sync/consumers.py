"""The JetStream subscriber: one durable pull consumer of phone number events, shared by replicas."""

from __future__ import annotations

from typing import Any

import structlog
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy

from talkifai_common.bus import current_message
from talkifai_common.events import STREAM_NAME, EventName
from trunk_sync import handlers
from trunk_sync.handlers import Ports, Retry, RetryPolicy

log = structlog.get_logger(__name__)

SUBJECTS = (
    EventName.PHONE_NUMBER_CREATED.subject,
    EventName.PHONE_NUMBER_UPDATED.subject,
    EventName.PHONE_NUMBER_DELETED.subject,
)
# Agent events are not needed: an assigned agent can be neither deleted nor turned text-only
# (numbers-api answers 409), and a rename changes nothing in LiveKit (metadata names the id).


def consumer_config(durable: str, policy: RetryPolicy, ack_wait_s: float) -> ConsumerConfig:
    """The shared durable: every number event since the stream began, acked one by one.

    `max_deliver` is a safety net above our own bound (a process killed on the last try).
    """
    return ConsumerConfig(
        durable_name=durable,
        filter_subjects=list(SUBJECTS),
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=JsAckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        max_deliver=policy.max_deliveries + 3,
        max_ack_pending=10_000,
    )


def register_consumers(
    broker: NatsBroker,
    ports: Ports,
    policy: RetryPolicy,
    *,
    durable: str,
    batch: int,
    ack_wait_s: float,
) -> None:
    """Attach trunk-sync's subscriber to the broker (before it starts)."""

    async def on_number_event(_: Any) -> None:
        message = current_message(broker)
        raw = message.raw_message
        ticket = ports.locks.ticket()
        disposition = await handlers.on_number_event(
            ports,
            policy,
            subject=raw.subject,
            payload=message.body,
            delivered=raw.metadata.num_delivered or 1,
            ticket=ticket,
        )
        if isinstance(disposition, Retry):
            await message.nack(delay=disposition.delay_s)
        else:
            await message.ack()

    broker.subscriber(
        stream=JStream(STREAM_NAME, declare=False),
        durable=durable,
        config=consumer_config(durable, policy, ack_wait_s),
        pull_sub=PullSub(batch_size=batch, timeout=0.5),
        # Up to `batch` messages in flight at any time: a slow message never holds back the
        # next fetch (the plain pull subscriber waits for its whole batch before fetching again).
        max_workers=batch,
        ack_policy=AckPolicy.MANUAL,
        no_reply=True,
        title="trunk-sync syncs telephony.phone_number.created|updated|deleted",
    )(on_number_event)
