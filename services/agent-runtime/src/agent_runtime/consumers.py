"""Bus subscribers that keep the agent and number read models current.

Core NATS subscriptions (not durable consumers): every worker replica holds its own read model and
must hear every change. What a replica misses while disconnected is caught up after each
reconnection (`main.resync_read_models`): the numbers are listed again and the held agents dropped,
to be fetched again when next needed.
"""

from __future__ import annotations

import structlog
from faststream.nats import NatsBroker

from agent_runtime.directory import AgentDirectory, NumberDirectory
from talkifai_common.events import AgentData, CloudEvent, EventName, PhoneNumberData

log = structlog.get_logger(__name__)

AGENT_EVENTS = (EventName.AGENT_CREATED, EventName.AGENT_UPDATED, EventName.AGENT_DELETED)
NUMBER_EVENTS = (
    EventName.PHONE_NUMBER_CREATED,
    EventName.PHONE_NUMBER_UPDATED,
    EventName.PHONE_NUMBER_DELETED,
)


async def apply_agent_event(agents: AgentDirectory, event: CloudEvent[AgentData]) -> bool:
    """Apply one agent event to the read model."""
    changed = agents.apply(event.orgid, event.data, deleted=event.name is EventName.AGENT_DELETED)
    log.debug("agent_event.applied", agent_id=event.data.id, changed=changed)
    return changed


async def apply_number_event(numbers: NumberDirectory, event: CloudEvent[PhoneNumberData]) -> bool:
    """Apply one phone number event to the read model."""
    deleted = event.name is EventName.PHONE_NUMBER_DELETED
    changed = numbers.apply(event.orgid, event.data, deleted=deleted)
    log.debug("number_event.applied", phone_number_id=event.data.id, changed=changed)
    return changed


def register_consumers(
    broker: NatsBroker, agents: AgentDirectory, numbers: NumberDirectory
) -> None:
    """Attach the read-model subscribers to the broker (before it starts)."""

    async def on_agent(event: CloudEvent[AgentData]) -> None:
        await apply_agent_event(agents, event)

    async def on_number(event: CloudEvent[PhoneNumberData]) -> None:
        await apply_number_event(numbers, event)

    # no_reply: these core subscribers hear JetStream publishes, which are requests answered by
    # the stream's PubAck; an automatic empty reply from here could reach the publisher first.
    for name in AGENT_EVENTS:
        broker.subscriber(
            name.subject, no_reply=True, title=f"agent-runtime read model: {name.subject}"
        )(on_agent)
    for name in NUMBER_EVENTS:
        broker.subscriber(
            name.subject, no_reply=True, title=f"agent-runtime read model: {name.subject}"
        )(on_number)
