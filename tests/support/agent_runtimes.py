"""Stand-ins for agent-runtime's advertisement (`talkifai_common.agent_capabilities`)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import nats
from nats.js.errors import NotFoundError

from talkifai_common.agent_capabilities import ALL_KEYS, BUCKET, RuntimeCapabilities


def every_key_runtime(agent_name: str = "talkifai-agent") -> RuntimeCapabilities:
    """An agent-runtime that has every provider key."""
    return RuntimeCapabilities(
        instance_id="art_test",
        agent_name=agent_name,
        key_variables=tuple(sorted(ALL_KEYS)),
        at=datetime.now(UTC),
    )


async def forget_agent_runtimes(nats_url: str) -> None:
    """Delete the bucket and every advertisement in it: a test starts from no agent-runtime."""
    nc = await nats.connect(nats_url)
    try:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_key_value(BUCKET)
    finally:
        await nc.close()
