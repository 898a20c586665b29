"""Cost per call: agent-runtime's usage report is kept, and the call is priced once it is final.

The usage and the call's end arrive in either order: the usage is priced at once when its call
has ended, else by `cost_ended_calls` once it has (run every `COSTING_INTERVAL_S`). Pricing is
idempotent: the first usage of a call is the one kept, and a call with a cost is never priced
again, so a redelivered usage event never charges twice and never publishes a second
`telephony.call.costed`.

CostingError
├── UsageCallUnknown   no call for the usage yet (retryable: the inbound call may be recorded late)
└── UsageOrgMismatch   the usage names a call of another organization (permanent)
"""

from __future__ import annotations

from typing import Literal

import structlog

from call_orchestrator.adapters.postgres import Stores, utcnow
from call_orchestrator.domain import FINAL_STATUSES
from call_orchestrator.handlers.context import JITTER
from call_orchestrator.handlers.rate_decks import deck_for
from call_orchestrator.pricing import PricedCall, price_call
from talkifai_common.events import CallUsageData, CloudEvent
from talkifai_common.periodic import repeat

log = structlog.get_logger(__name__)
Costing = Literal["costed", "already_costed", "not_final", "no_usage", "no_call"]
BATCH = 100


class CostingError(Exception):
    """Base: a usage report that cannot be priced now."""

    retryable = False


class UsageCallUnknown(CostingError):
    """No call matches the usage's call id or room (yet)."""

    retryable = True


class UsageOrgMismatch(CostingError):
    """The usage's organization is not its call's."""


async def on_usage_event(stores: Stores, event: CloudEvent[CallUsageData]) -> Costing:
    """Keep the call's usage (the first report stands) and price the call if it has ended."""
    usage = event.data
    if usage.call_id:
        call = await stores.calls.get_call(usage.call_id)
    else:
        call = await stores.calls.call_in_room(usage.room_name)
    if call is None:
        raise UsageCallUnknown(f"no call {usage.call_id or 'in room ' + usage.room_name}")
    if call.org_id != event.orgid:
        raise UsageOrgMismatch(f"usage of {event.orgid} names call {call.data.id} of another org")
    await stores.costs.record_usage(call.data.id, call.org_id, usage)
    return await cost_call(stores, call.data.id)


async def cost_call(stores: Stores, call_id: str) -> Costing:
    """Price an ended call from its kept usage and its organization's current deck, once."""
    call = await stores.calls.get_call(call_id)
    if call is None:
        return "no_call"
    if call.data.cost is not None:
        return "already_costed"
    if call.data.status not in FINAL_STATUSES:
        return "not_final"
    usage = await stores.costs.usage_of(call_id)
    if usage is None:
        return "no_usage"
    version, deck = await deck_for(stores.rate_decks, call.org_id)
    priced = PricedCall(
        direction=call.data.direction,
        to_number=call.data.to_number,
        answered_at=call.data.answered_at,
        ended_at=call.data.ended_at,
    )
    cost = price_call(deck, version, priced, usage, now=utcnow())
    written = await stores.costs.record_cost(call, cost)
    if not written:
        return "already_costed"
    log.info(
        "call.costed",
        call_id=call_id,
        org_id=call.org_id,
        total=cost.total,
        currency=cost.currency,
        rate_deck_version=version,
    )
    return "costed"


async def cost_ended_calls(stores: Stores) -> int:
    """Price every call whose usage came before its end; how many were priced."""
    priced = 0
    while call_ids := await stores.costs.uncosted(BATCH):
        for call_id in call_ids:
            if await cost_call(stores, call_id) == "costed":
                priced += 1
        if len(call_ids) < BATCH:
            break
    return priced


async def cost_ended_calls_periodically(stores: Stores, interval_s: float) -> None:
    """`cost_ended_calls` every `interval_s` until cancelled."""

    async def run() -> None:
        if priced := await cost_ended_calls(stores):
            log.info("costs.priced_ended_calls", calls=priced)

    await repeat(run, interval_s, failure_event="costs.pricing_failed", jitter=JITTER)
