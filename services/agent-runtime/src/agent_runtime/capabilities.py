"""Advertise what this process can run (the provider keys it has) for call-orchestrator's
check before dialling; see `talkifai_common.agent_capabilities`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime

from faststream.nats import NatsBroker

from talkifai_common.agent_capabilities import RuntimeCapabilities, advertise, present_keys
from talkifai_common.ids import random_id


def capabilities_of(
    instance_id: str, agent_name: str, env: Mapping[str, str]
) -> RuntimeCapabilities:
    """This process as it advertises itself now."""
    return RuntimeCapabilities(
        instance_id=instance_id,
        agent_name=agent_name,
        key_variables=present_keys(env),
        at=datetime.now(UTC),
    )


async def advertise_when_ready(
    broker: NatsBroker,
    agent_name: str,
    env: Mapping[str, str],
    *ready: asyncio.Event,
) -> None:
    """Once registered with LiveKit and connected to NATS (`ready`), advertise until cancelled:
    a process that cannot take jobs yet does not count as one that can run the agent."""
    for event in ready:
        await event.wait()
    instance_id = random_id("art")
    await advertise(
        broker.connection.jetstream(), lambda: capabilities_of(instance_id, agent_name, env)
    )
