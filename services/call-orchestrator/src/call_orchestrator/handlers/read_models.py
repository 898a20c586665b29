"""The read models of agents, numbers and their trunks: kept from the events, refreshed from
numbers-api for what the event stream no longer holds."""

from __future__ import annotations

import structlog

from call_orchestrator.adapters.numbers_api import NumbersSource
from call_orchestrator.adapters.postgres import ReadModelStore
from call_orchestrator.handlers.context import JITTER
from talkifai_common.events import (
    AgentData,
    CloudEvent,
    EventName,
    PhoneNumberData,
    PhoneNumberSyncData,
    SyncState,
)
from talkifai_common.periodic import repeat

log = structlog.get_logger(__name__)


async def on_agent_event(store: ReadModelStore, event: CloudEvent[AgentData]) -> bool:
    """Keep the agent read model; idempotent and order-safe by `version`."""
    deleted = event.name is EventName.AGENT_DELETED
    return await store.apply_agent(event.orgid, event.data, deleted=deleted)


async def on_number_event(store: ReadModelStore, event: CloudEvent[PhoneNumberData]) -> bool:
    """Keep the number read model; a deleted number leaves it (its calls stay)."""
    deleted = event.name is EventName.PHONE_NUMBER_DELETED
    return await store.apply_number(event.orgid, event.data, deleted=deleted)


async def on_sync_event(store: ReadModelStore, event: CloudEvent[PhoneNumberSyncData]) -> bool:
    """Keep which LiveKit trunks carry each number (trunk-sync's reports)."""
    return await store.apply_sync(event.data)


async def refresh_read_model(store: ReadModelStore, numbers: NumbersSource) -> tuple[int, int]:
    """Bring the read model up to numbers-api's current numbers and their last syncs: what the
    event stream no longer holds. Version-guarded like the events, so it never moves a number
    back, and a number deleted since (a tombstone) stays deleted. Returns (seen, changed).

    A number the read model holds but the list did not show may have been created during the
    listing: numbers-api is asked for it, and only a 404 removes it (with a tombstone).
    """
    before = await store.read_model_numbers()
    seen: set[str] = set()
    changed = 0
    async for page in numbers.pages():
        held = await store.read_model_versions([n.id for n in page])
        for number in page:
            seen.add(number.id)
            number_version, sync_version = held.get(number.id, (None, None))
            if (number_version is None or number_version < number.version) and (
                await store.apply_number(number.org_id, number, deleted=False)
            ):
                changed += 1
            sync = number.sync
            if (
                sync.state is SyncState.SYNCED
                and sync.synced_at is not None
                and (sync_version is None or sync_version < number.version)
            ):
                await store.apply_sync(
                    PhoneNumberSyncData(
                        phone_number_id=number.id,
                        phone_number=number.phone_number,
                        version=number.version,
                        state=SyncState.SYNCED,
                        resources=number.livekit,
                        at=sync.synced_at,
                    )
                )
    for number_id, version in before.items():
        if number_id not in seen and not await numbers.exists(number_id):
            await store.forget_number(number_id, version)
            changed += 1
    return len(seen), changed


async def refresh_read_model_periodically(
    store: ReadModelStore, numbers: NumbersSource, interval_s: float
) -> None:
    """`refresh_read_model` at start and every `interval_s` (retried within seconds after a
    failure: numbers-api may start after us), until cancelled."""

    async def refresh() -> None:
        seen, changed = await refresh_read_model(store, numbers)
        log.info("read_model.refreshed", numbers=seen, changed=changed)

    await repeat(refresh, interval_s, failure_event="read_model.refresh_failed", jitter=JITTER)
