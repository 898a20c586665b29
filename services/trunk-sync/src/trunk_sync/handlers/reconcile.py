"""The full reconcile: every number against what LiveKit holds, drift repaired, orphans removed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from opentelemetry import trace

from talkifai_common.events import CloudEvent, PhoneNumberSyncData, SyncState
from talkifai_common.internal_api import InternalPhoneNumber
from trunk_sync.domain import Holdings, desired_state, in_sync, resources_of
from trunk_sync.handlers.context import Context
from trunk_sync.handlers.results import error_text, report, sync_event
from trunk_sync.handlers.sync import Gone, Refused, sync_number

log = structlog.get_logger(__name__)
tracer = trace.get_tracer("trunk_sync")


@dataclass
class ReconcileReport:
    """What a full reconcile found and did."""

    numbers: int = 0
    in_sync: int = 0
    repaired: int = 0
    refused: int = 0
    orphans_removed: int = 0
    errors: int = 0


async def full_reconcile(ctx: Context, *, concurrency: int = 16) -> ReconcileReport:
    """List what LiveKit holds, repair every number that drifted, delete orphans.

    Numbers already in sync cost no LiveKit write (and no credentials request).
    """
    with tracer.start_as_current_span("trunk_sync.full_reconcile"):
        lk = ctx.livekit
        inbound, outbound, rules = await asyncio.gather(
            lk.list_inbound_trunks(), lk.list_outbound_trunks(), lk.list_dispatch_rules()
        )
        groups = Holdings(inbound, outbound, rules).by_number()
        ctx.index.replace(groups)
        report_ = ReconcileReport()
        seen: set[str] = set()
        gate = asyncio.Semaphore(concurrency)
        tasks: list[asyncio.Task[None]] = []

        async def repair(number_id: str, hints: set[str], orphan: bool) -> None:
            async with gate:
                try:
                    ran, outcome = await ctx.locks.run(
                        number_id,
                        ctx.locks.ticket(),
                        lambda: sync_number(ctx, number_id, hints),
                    )
                except Exception as exc:
                    report_.errors += 1
                    log.warning(
                        "reconcile.repair_failed", phone_number_id=number_id, error=error_text(exc)
                    )
                    return
            if not ran or outcome is None:
                return
            if isinstance(outcome, Gone):
                report_.orphans_removed += 1 if orphan and outcome.deleted else 0
            elif isinstance(outcome, Refused):
                report_.refused += 1
            else:
                report_.repaired += 1
            await report(ctx, outcome)

        async for page in ctx.numbers.all_numbers():
            for number in page:
                report_.numbers += 1
                seen.add(number.id)
                held = groups.get(number.id, Holdings())
                if in_sync(desired_state(number), held):
                    report_.in_sync += 1
                    if number.sync.state is not SyncState.SYNCED:
                        await ctx.results.publish(_synced_from(number, held))
                    continue
                hints = {number.phone_number} | {
                    o.spec.numbers[0] for o in held.inbound if o.spec.numbers
                }
                tasks.append(asyncio.create_task(repair(number.id, hints, orphan=False)))
        for number_id, held in groups.items():
            if number_id not in seen:
                # Confirmed by sync_number's own read: only a 404 deletes anything.
                hints = {o.spec.meta.phone_number for o in held.inbound if o.spec.meta}
                tasks.append(asyncio.create_task(repair(number_id, hints, orphan=True)))
        if tasks:
            await asyncio.gather(*tasks)
        log.info("reconcile.done", **report_.__dict__)
        return report_


def _synced_from(number: InternalPhoneNumber, held: Holdings) -> CloudEvent[PhoneNumberSyncData]:
    resources = resources_of(
        held.inbound[0].id if held.inbound else None,
        held.outbound[0].id if held.outbound else None,
        held.rules[0].id if held.rules else None,
    )
    return sync_event(
        number.id,
        number.phone_number,
        number.org_id,
        number.version,
        SyncState.SYNCED,
        resources=resources,
    )
