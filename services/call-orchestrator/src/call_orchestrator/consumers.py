"""Bus subscribers: the read models of agents, numbers and their LiveKit trunks."""

from __future__ import annotations

from typing import Any

import structlog
from faststream.nats import JStream, NatsBroker, PullSub

from call_orchestrator import handlers
from call_orchestrator.adapters.postgres import Store
from talkifai_common.events import (
    STREAM_NAME,
    AgentData,
    CloudEvent,
    EventName,
    PhoneNumberData,
    PhoneNumberSyncData,
)

log = structlog.get_logger(__name__)


def _durable(name: EventName) -> str:
    entity, action = name.subject.split(".")[1:]
    return f"call-orchestrator-{entity}-{action}".replace("_", "-")


def register_consumers(broker: NatsBroker, store: Store) -> None:
    """Attach call-orchestrator's subscribers to the broker (before it starts)."""
    stream = JStream(STREAM_NAME, declare=False)

    async def on_agent(event: CloudEvent[AgentData]) -> None:
        applied = await handlers.on_agent_event(store, event)
        log.info("read_model.agent", agent_id=event.data.id, kind=event.type, applied=applied)

    async def on_number(event: CloudEvent[PhoneNumberData]) -> None:
        applied = await handlers.on_number_event(store, event)
        log.info(
            "read_model.phone_number",
            phone_number_id=event.data.id,
            version=event.data.version,
            kind=event.type,
            applied=applied,
        )

    async def on_sync(event: CloudEvent[PhoneNumberSyncData]) -> None:
        applied = await handlers.on_sync_event(store, event)
        log.info(
            "read_model.sync",
            phone_number_id=event.data.phone_number_id,
            version=event.data.version,
            state=event.data.state.value,
            applied=applied,
        )

    def subscribe(name: EventName) -> Any:
        return broker.subscriber(
            name.subject,
            stream=stream,
            durable=_durable(name),
            pull_sub=PullSub(batch_size=50, timeout=0.5),
            no_reply=True,
            title=f"call-orchestrator reads {name.subject}",
        )

    for name in (EventName.AGENT_CREATED, EventName.AGENT_UPDATED, EventName.AGENT_DELETED):
        subscribe(name)(on_agent)
    for name in (
        EventName.PHONE_NUMBER_CREATED,
        EventName.PHONE_NUMBER_UPDATED,
        EventName.PHONE_NUMBER_DELETED,
    ):
        subscribe(name)(on_number)
    for name in (EventName.PHONE_NUMBER_SYNCED, EventName.PHONE_NUMBER_SYNC_FAILED):
        subscribe(name)(on_sync)
