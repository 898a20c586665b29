"""Bus subscribers: the read models of agents, numbers and their LiveKit trunks, the usage
agent-runtime reports per call (`telephony.call.usage`), which prices the call, and the
transcripts it publishes when calls end.

Durable pull consumers under `talkifai_common.consumers`' policy: a database blip naks the event
with backoff, it is never dropped; each read model is idempotent by entity id and `version`, the
transcripts by call and part.
"""

from __future__ import annotations

import structlog
from faststream.nats import NatsBroker

from call_orchestrator.adapters.postgres import Stores
from call_orchestrator.handlers import costs, read_models, transcripts
from talkifai_common.consumers import DeadLetters, RetryPolicy, durable_subscriber
from talkifai_common.events import (
    AgentData,
    CallTranscriptData,
    CallUsageData,
    CloudEvent,
    EventName,
    PhoneNumberData,
    PhoneNumberSyncData,
)

log = structlog.get_logger(__name__)


def _durable(name: EventName) -> str:
    entity, action = name.subject.split(".")[1:]
    return f"call-orchestrator-{entity}-{action}".replace("_", "-")


def register_consumers(
    broker: NatsBroker,
    stores: Stores,
    dead_letters: DeadLetters,
    policy: RetryPolicy,
    reports: transcripts.ReportPolicy,
) -> None:
    """Attach call-orchestrator's subscribers to the broker (before it starts)."""
    store = stores.read_models

    async def on_usage(event: CloudEvent[CallUsageData]) -> None:
        outcome = await costs.on_usage_event(stores, event)
        log.info(
            "call.usage_received",
            call_id=event.data.call_id,
            room=event.data.room_name,
            outcome=outcome,
        )

    async def on_agent(event: CloudEvent[AgentData]) -> None:
        applied = await read_models.on_agent_event(store, event)
        log.info("read_model.agent", agent_id=event.data.id, kind=event.type, applied=applied)

    async def on_number(event: CloudEvent[PhoneNumberData]) -> None:
        applied = await read_models.on_number_event(store, event)
        log.info(
            "read_model.phone_number",
            phone_number_id=event.data.id,
            version=event.data.version,
            kind=event.type,
            applied=applied,
        )

    async def on_sync(event: CloudEvent[PhoneNumberSyncData]) -> None:
        applied = await read_models.on_sync_event(store, event)
        log.info(
            "read_model.sync",
            phone_number_id=event.data.phone_number_id,
            version=event.data.version,
            state=event.data.state.value,
            applied=applied,
        )

    for name in (EventName.AGENT_CREATED, EventName.AGENT_UPDATED, EventName.AGENT_DELETED):
        durable_subscriber(
            broker,
            subjects=[name.subject],
            durable=_durable(name),
            model=CloudEvent[AgentData],
            handle=on_agent,
            dead_letters=dead_letters,
            policy=policy,
            title=f"call-orchestrator reads {name.subject}",
        )
    for name in (
        EventName.PHONE_NUMBER_CREATED,
        EventName.PHONE_NUMBER_UPDATED,
        EventName.PHONE_NUMBER_DELETED,
    ):
        durable_subscriber(
            broker,
            subjects=[name.subject],
            durable=_durable(name),
            model=CloudEvent[PhoneNumberData],
            handle=on_number,
            dead_letters=dead_letters,
            policy=policy,
            title=f"call-orchestrator reads {name.subject}",
        )
    for name in (EventName.PHONE_NUMBER_SYNCED, EventName.PHONE_NUMBER_SYNC_FAILED):
        durable_subscriber(
            broker,
            subjects=[name.subject],
            durable=_durable(name),
            model=CloudEvent[PhoneNumberSyncData],
            handle=on_sync,
            dead_letters=dead_letters,
            policy=policy,
            title=f"call-orchestrator reads {name.subject}",
        )
    durable_subscriber(
        broker,
        subjects=[EventName.CALL_USAGE.subject],
        durable=_durable(EventName.CALL_USAGE),
        model=CloudEvent[CallUsageData],
        handle=on_usage,
        dead_letters=dead_letters,
        policy=policy,
        title=f"call-orchestrator reads {EventName.CALL_USAGE.subject}",
    )

    async def on_transcript(event: CloudEvent[CallTranscriptData]) -> None:
        outcome = await transcripts.on_transcript(stores, event, reports)
        log.info(
            "call.transcript",
            call_id=event.data.call_id,
            room=event.data.room_name,
            part=event.data.part,
            parts=event.data.parts,
            outcome=outcome,
        )

    durable_subscriber(
        broker,
        subjects=[EventName.CALL_TRANSCRIPT.subject],
        durable=_durable(EventName.CALL_TRANSCRIPT),
        model=CloudEvent[CallTranscriptData],
        handle=on_transcript,
        dead_letters=dead_letters,
        policy=policy,
        title=f"call-orchestrator reads {EventName.CALL_TRANSCRIPT.subject}",
        # Parts are up to ~260 KB each: a smaller batch bounds what one pull holds in memory.
        batch=8,
    )
