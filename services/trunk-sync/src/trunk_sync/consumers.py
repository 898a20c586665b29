"""The JetStream subscriber: one durable pull consumer of phone number events, shared by replicas.

FastStream decodes each message into a `CloudEvent[PhoneNumberData]`; one it cannot decode goes to
the dead letters at once (`UndecodableMessages`). The handler decides the rest (ack, retry after a
delay, dead-letter); naks, dead letters and the consumer's bounds go through
`talkifai_common.consumers`, as in every service.
"""

from __future__ import annotations

from functools import partial

import structlog
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsRouter, PullSub
from nats.aio.msg import Msg

from talkifai_common.bus import current_message
from talkifai_common.consumers import RetryPolicy, UndecodableMessages, consumer_config, nak
from talkifai_common.events import STREAM_NAME, CloudEvent, EventName, PhoneNumberData
from trunk_sync import handlers
from trunk_sync.handlers import Context, Retry

log = structlog.get_logger(__name__)

SUBJECTS = (
    EventName.PHONE_NUMBER_CREATED.subject,
    EventName.PHONE_NUMBER_UPDATED.subject,
    EventName.PHONE_NUMBER_DELETED.subject,
)
# Agent events are not needed: an assigned agent can be neither deleted nor turned text-only
# (numbers-api answers 409), and a rename changes nothing in LiveKit (metadata names the id).


def register_consumers(
    broker: NatsBroker,
    ctx: Context,
    policy: RetryPolicy,
    *,
    durable: str,
    batch: int,
    ack_wait_s: float,
) -> None:
    """Attach trunk-sync's subscriber to the broker (before it starts)."""

    async def on_number_event(event: CloudEvent[PhoneNumberData]) -> None:
        message = current_message(broker)
        raw = message.raw_message
        delivered = raw.metadata.num_delivered or 1
        disposition = await handlers.on_number_event(
            ctx,
            policy,
            event,
            subject=raw.subject,
            payload=message.body,
            delivered=delivered,
            ticket=ctx.locks.ticket(),
        )
        if isinstance(disposition, Retry):
            await nak(
                message,
                consumer=durable,
                delay_s=disposition.delay_s,
                delivered=delivered,
                error=disposition.error,
            )
        else:
            await message.ack()

    async def on_malformed_event(raw: Msg, error: str) -> None:
        await handlers.on_malformed_event(
            ctx,
            subject=raw.subject,
            payload=raw.data,
            delivered=raw.metadata.num_delivered or 1,
            error=error,
        )
        await raw.ack()

    undecodable = partial(UndecodableMessages, on_undecodable=on_malformed_event)
    router = NatsRouter(middlewares=(undecodable,))
    router.subscriber(
        stream=JStream(STREAM_NAME, declare=False),
        durable=durable,
        config=consumer_config(durable, SUBJECTS, policy, ack_wait_s=ack_wait_s),
        pull_sub=PullSub(batch_size=batch, timeout=0.5),
        # Up to `batch` messages in flight at any time: a slow message never holds back the
        # next fetch (the plain pull subscriber waits for its whole batch before fetching again).
        max_workers=batch,
        ack_policy=AckPolicy.MANUAL,
        no_reply=True,
        title="trunk-sync syncs telephony.phone_number.created|updated|deleted",
    )(on_number_event)
    broker.include_router(router)
