"""Bus checks shared by the services' tests."""

from __future__ import annotations

import asyncio

import nats
from nats.aio.msg import Msg


async def replies_to_a_jetstream_publish(
    nats_url: str, subject: str, payload: bytes, *, wait_s: float = 0.5
) -> list[bytes]:
    """Publish as a JetStream publisher does (a request whose reply is the stream's PubAck) and
    return every reply received within `wait_s`: only the PubAck unless a subscriber answers too."""
    nc = await nats.connect(nats_url)
    try:
        inbox = nc.new_inbox()
        replies: list[bytes] = []

        async def on_reply(msg: Msg) -> None:
            replies.append(msg.data)

        await nc.subscribe(inbox, cb=on_reply)
        await nc.publish(subject, payload, reply=inbox)
        await nc.flush()
        await asyncio.sleep(wait_s)
        return replies
    finally:
        await nc.close()
