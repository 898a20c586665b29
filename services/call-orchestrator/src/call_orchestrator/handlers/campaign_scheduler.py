"""The campaign scheduler: each replica runs one; PostgreSQL decides which dials what.

Each pass: recover attempts whose lease expired with no call recorded; settle the attempts whose
call ended (their outcome read from the calls table); then claim and dial due rows until no
running campaign may dial now. A claimed attempt goes through the outbound call's own path
(`start_outbound_call`, then `connect_call` in the background), with the campaign's fencing token
checked where the call is recorded.

Outcomes are polled from the calls table rather than consumed from `telephony.call.*` events: the
calls table is the truth the events are written from (same transaction), a poll needs no durable
consumer, ack policy or redelivery handling, and after a crash or restart the next pass finds
every call that ended meanwhile, whichever replica placed it.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from call_orchestrator.adapters import postgres
from call_orchestrator.adapters.postgres import CampaignCall, Claimed, Passed
from call_orchestrator.campaign_rules import Clock
from call_orchestrator.domain import new_call_id
from call_orchestrator.errors import CallError, CallInProgress, TooManyCalls
from call_orchestrator.handlers.connect import connect_quietly
from call_orchestrator.handlers.context import Context
from call_orchestrator.handlers.outbound import OutboundOrder, start_outbound_call
from talkifai_common.events import CallCampaignRef
from talkifai_common.ids import random_id

log = structlog.get_logger(__name__)
# How long a row waits after an attempt that placed no call, by why.
RETRY_AT_LIMIT_S = 1.0
RETRY_ROOM_IN_USE_S = 5.0
RETRY_TRANSIENT_S = 5.0
RETRY_CONFIGURATION_S = 60.0
_MIN_SLEEP_S = 0.002


class CampaignScheduler:
    """One replica's scheduler loop, over the shared state in PostgreSQL."""

    def __init__(self, ctx: Context, clock: Clock, owner: str | None = None) -> None:
        self.ctx = ctx
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{random_id('sch')}"
        self._last_recovery: datetime | None = None

    async def run(self) -> None:
        """Dial and settle until cancelled, as two loops: the dials keep their pace while the
        ended calls are settled; a failed pass is logged and the next one retries."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._loop(self.dial_once, "dial"))
            group.create_task(self._loop(self.settle_once, "settle"))

    async def _loop(self, once: Callable[[], Awaitable[float]], name: str) -> None:
        tick = self.ctx.settings.campaign_tick_s
        while True:
            try:
                pause = await once()
            except Exception:
                log.exception("campaigns.pass_failed", loop=name, owner=self.owner)
                pause = tick
            if pause > 0:
                await asyncio.sleep(pause)

    async def run_once(self) -> float:
        """One settle pass and one dial pass; how long to sleep before the next."""
        await self.settle_once()
        return await self.dial_once()

    async def settle_once(self) -> float:
        """Recover expired leases (every quarter lease) and settle the attempts whose call ended;
        how long to sleep before the next pass."""
        outcomes = self.ctx.stores.campaign_outcomes
        settings = self.ctx.settings
        now = self.clock.now()
        lease = timedelta(seconds=settings.campaign_lease_s)
        if self._last_recovery is None or now - self._last_recovery >= lease / 4:
            self._last_recovery = now
            if recovered := await outcomes.recover_expired(now):
                log.warning("campaigns.attempts_recovered", count=recovered, owner=self.owner)
        for row_id, number in await outcomes.ended():
            await outcomes.settle(row_id, number, self.clock.now())
        await outcomes.complete_finished(self.clock.now())
        return settings.campaign_tick_s

    async def dial_once(self) -> float:
        """Dial what is due; how long to sleep: until the earliest running campaign may dial
        again after dialing, a tick otherwise."""
        if not await self.dial_due():
            return self.ctx.settings.campaign_tick_s
        return await self._pause()

    async def dial_due(self) -> int:
        """Claim and dial until no running campaign may dial now; how many were dialed."""
        settings = self.ctx.settings
        skip: list[str] = []
        dialed = 0
        while True:
            claim = await self.ctx.stores.campaign_dials.claim(
                owner=self.owner,
                now=self.clock.now(),
                lease_s=settings.campaign_lease_s,
                org_limit=settings.max_concurrent_calls_per_org,
                reserved=settings.campaign_reserved_slots,
                skip=skip,
                new_call_id=new_call_id,
                lookahead_s=settings.campaign_lookahead_s,
            )
            if claim is None:
                return dialed
            if isinstance(claim, Passed):
                if not claim.again:
                    skip.append(claim.campaign_id)
                continue
            early = (claim.dial_at - self.clock.now()).total_seconds()
            if early > 0:
                await asyncio.sleep(early)  # claimed ahead: dial at the slot, not before
            if await self.place(claim):
                dialed += 1

    async def place(self, claimed: Claimed) -> bool:
        """Record and dial a claimed attempt; an attempt that placed no call goes back to wait
        (not counted). Whether a call was placed."""
        order = OutboundOrder(
            org_id=claimed.org_id,
            to_number=claimed.to_number,
            from_number=claimed.from_number,
            metadata=claimed.metadata,
            ringing_timeout_s=claimed.ringing_timeout_s,
            call_id=claimed.call_id,
            campaign=CampaignCall(
                ref=CallCampaignRef(
                    id=claimed.campaign_id, row_id=claimed.row_id, attempt=claimed.attempt
                ),
                fence=claimed.fence,
            ),
            agent_id=claimed.agent_id,
        )
        try:
            started = await start_outbound_call(self.ctx, order)
        except postgres.AttemptFenced:
            log.warning("campaigns.attempt_fenced", call_id=claimed.call_id, row=claimed.row_id)
            return False
        except CallError as exc:
            await self._release(claimed, exc.message, _wait_after(exc))
            return False
        except Exception as exc:
            log.exception("campaigns.place_failed", call_id=claimed.call_id, row=claimed.row_id)
            await self._release(claimed, f"internal error: {type(exc).__name__}", RETRY_TRANSIENT_S)
            return False
        log.info(
            "campaigns.dialing",
            campaign_id=claimed.campaign_id,
            row_id=claimed.row_id,
            attempt=claimed.attempt,
            call_id=claimed.call_id,
        )
        self.ctx.background.spawn(
            connect_quietly(self.ctx, started.call, started.dispatch, started.dial),
            name=f"call-{claimed.call_id}",
        )
        return True

    async def _release(self, claimed: Claimed, detail: str, wait_s: float) -> None:
        """The attempt placed no call: `not_placed`, its row due again after `wait_s`."""
        released = await self.ctx.stores.campaign_dials.release(
            claimed, now=self.clock.now(), detail=detail, retry_in_s=wait_s
        )
        log.info(
            "campaigns.not_placed",
            call_id=claimed.call_id,
            row=claimed.row_id,
            detail=detail,
            released=released,
        )

    async def _pause(self) -> float:
        """After dialing: until the earliest running campaign may dial again, at most a tick."""
        tick = self.ctx.settings.campaign_tick_s
        now = self.clock.now()
        next_at = await self.ctx.stores.campaign_dials.next_dial_after(now)
        if next_at is None:
            return tick
        return min(tick, max(_MIN_SLEEP_S, (next_at - now).total_seconds()))


def _wait_after(error: CallError) -> float:
    """How long a row waits after an attempt refused before its call was recorded."""
    if isinstance(error, TooManyCalls):
        return RETRY_AT_LIMIT_S
    if isinstance(error, CallInProgress):
        return RETRY_ROOM_IN_USE_S
    return RETRY_TRANSIENT_S if error.retryable else RETRY_CONFIGURATION_S
