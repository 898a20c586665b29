"""A sync's outcome as the `synced` / `sync_failed` event numbers-api applies."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from talkifai_common.events import (
    CloudEvent,
    EventName,
    LiveKitResources,
    PhoneNumberSyncData,
    SyncState,
    new_event,
)
from trunk_sync.domain import TrunkSyncError
from trunk_sync.handlers.context import Context
from trunk_sync.handlers.sync import Outcome, Refused, Synced

log = structlog.get_logger(__name__)
SOURCE = "trunk-sync"


def sync_event(
    number_id: str,
    phone_number: str,
    org_id: str,
    version: int,
    state: SyncState,
    *,
    error: str | None = None,
    resources: LiveKitResources | None = None,
) -> CloudEvent[PhoneNumberSyncData]:
    """A `synced` / `sync_failed` event with a fresh id.

    Never an id derived from the content: a corrective result equal to an earlier one (a reconcile
    after an outage) would be dropped by JetStream's duplicate window. Consumers are idempotent by
    (number, version) instead.
    """
    name = (
        EventName.PHONE_NUMBER_SYNCED
        if state is SyncState.SYNCED
        else EventName.PHONE_NUMBER_SYNC_FAILED
    )
    data = PhoneNumberSyncData(
        phone_number_id=number_id,
        phone_number=phone_number,
        version=version,
        state=state,
        error=error,
        resources=resources or LiveKitResources(),
        at=datetime.now(UTC),
    )
    return new_event(name, source=SOURCE, subject=number_id, orgid=org_id, data=data)


async def report(ctx: Context, outcome: Outcome) -> None:
    """Publish the outcome's `synced` / `sync_failed` (nothing for a deleted number)."""
    if isinstance(outcome, Synced):
        n = outcome.number
        await ctx.results.publish(
            sync_event(
                n.id,
                n.phone_number,
                n.org_id,
                n.version,
                SyncState.SYNCED,
                resources=outcome.resources,
            )
        )
        log.info(
            "sync.synced",
            phone_number_id=n.id,
            version=n.version,
            wrote=outcome.wrote,
            inbound_trunk_id=outcome.resources.inbound_trunk_id,
            outbound_trunk_id=outcome.resources.outbound_trunk_id,
            dispatch_rule_id=outcome.resources.dispatch_rule_id,
        )
    elif isinstance(outcome, Refused):
        n = outcome.number
        await ctx.results.publish(
            sync_event(
                n.id, n.phone_number, n.org_id, n.version, SyncState.FAILED, error=outcome.error
            )
        )
        log.warning("sync.refused", phone_number_id=n.id, version=n.version, error=outcome.error)
    else:
        log.info("sync.deleted", phone_number_id=outcome.number_id, deleted=outcome.deleted)


def error_text(exc: BaseException) -> str:
    """A message for events and logs: ours verbatim, anything else only by type (no secrets)."""
    if isinstance(exc, TrunkSyncError):
        return exc.detail
    return f"internal error ({type(exc).__name__})"
