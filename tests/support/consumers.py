"""Faults and probes for durable-consumer tests: a database outage, consumer progress, dead
letters and the consumer counters."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import nats
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint

from talkifai_common.events import STREAM_NAME


def database_name(database_url: str) -> str:
    """The database a URL names."""
    return database_url.partition("?")[0].rsplit("/", 1)[1]


@contextlib.asynccontextmanager
async def database_down(admin_url: str, database_url: str) -> AsyncIterator[None]:
    """The database refuses every connection and its open ones are cut, until the block ends:
    to its clients, PostgreSQL is down (other tests' databases on the same server are not)."""
    name = database_name(database_url)
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


async def publish(nats_url: str, subject: str, payload: bytes) -> int:
    """Publish to `TELEPHONY` and return the message's stream sequence."""
    nc = await nats.connect(nats_url)
    try:
        ack = await nc.jetstream().publish(subject, payload, stream=STREAM_NAME)
        return int(ack.seq)
    finally:
        await nc.close()


async def consumer_state(nats_url: str, durable: str) -> Any:
    """A durable consumer's info on `TELEPHONY` (None before it exists)."""
    nc = await nats.connect(nats_url)
    try:
        return await nc.jetstream().consumer_info(STREAM_NAME, durable)
    except NotFoundError:
        return None
    finally:
        await nc.close()


async def redelivered(nats_url: str, durable: str) -> bool:
    """Whether the consumer has handed a message back for redelivery (the fault was hit)."""
    info = await consumer_state(nats_url, durable)
    return bool(info and info.num_redelivered >= 1)


async def acked_through(nats_url: str, durable: str, stream_seq: int) -> bool:
    """Whether the consumer has acknowledged everything up to `stream_seq`."""
    info = await consumer_state(nats_url, durable)
    return bool(info and info.ack_floor.stream_seq >= stream_seq and not info.num_ack_pending)


async def dead_letters(nats_url: str, stream: str, naming: str) -> list[RawStreamMsg]:
    """The messages in a dead-letter stream whose body names `naming` (an entity id)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        try:
            last = (await js.stream_info(stream)).state.last_seq
        except NotFoundError:
            return []
        found = []
        for seq in range(1, last + 1):
            with contextlib.suppress(NotFoundError):
                message = await js.get_msg(stream, seq)
                if message.data and naming.encode() in message.data:
                    found.append(message)
        return found
    finally:
        await nc.close()


def counter_total(reader: InMemoryMetricReader, name: str, **attributes: str) -> int:
    """The sum of a counter's points whose attributes include `attributes`."""
    data = reader.get_metrics_data()
    total = 0
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    if not isinstance(point, NumberDataPoint):
                        continue
                    if attributes.items() <= dict(point.attributes or {}).items():
                        total += int(point.value)
    return total
