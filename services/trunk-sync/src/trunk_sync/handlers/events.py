"""A `telephony.phone_number.*` event: sync the number it names, or say how to retry."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from talkifai_common.consumers import RetryPolicy
from talkifai_common.events import CloudEvent, EventName, PhoneNumberData, SyncState
from trunk_sync.domain import TrunkSyncError
from trunk_sync.handlers.context import Context
from trunk_sync.handlers.results import error_text, report, sync_event
from trunk_sync.handlers.sync import sync_number

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Ack:
    """Done with the message."""

    reason: str


@dataclass(frozen=True)
class Retry:
    """Redeliver after `delay_s`."""

    delay_s: float
    error: str


Disposition = Ack | Retry


async def on_malformed_event(
    ctx: Context, *, subject: str, payload: bytes, delivered: int, error: str
) -> None:
    """Dead-letter a `telephony.phone_number.*` message that is not a phone number event."""
    await ctx.results.dead_letter(
        subject, payload, reason="malformed", error=error, deliveries=delivered
    )
    log.error("event.malformed", subject=subject, error=error)


async def on_number_event(
    ctx: Context,
    policy: RetryPolicy,
    event: CloudEvent[PhoneNumberData],
    *,
    subject: str,
    payload: bytes,
    delivered: int,
    ticket: int,
) -> Disposition:
    """Handle one `telephony.phone_number.*` event: sync the number it names."""
    data = event.data
    try:
        ran, outcome = await ctx.locks.run(
            data.id,
            ticket,
            lambda: sync_number(
                ctx,
                data.id,
                {data.phone_number},
                created=event.name is EventName.PHONE_NUMBER_CREATED,
            ),
        )
        if not ran or outcome is None:
            return Ack("covered by a later sync")
        await report(ctx, outcome)
        return Ack(type(outcome).__name__.lower())
    except Exception as exc:
        error = error_text(exc)
        retryable = not isinstance(exc, TrunkSyncError) or exc.retryable
        if retryable and delivered < policy.max_deliveries:
            delay = policy.delay(delivered)
            log.warning(
                "sync.retry",
                phone_number_id=data.id,
                delivered=delivered,
                retry_in_s=round(delay, 3),
                error=error,
                error_type=type(exc).__name__,
            )
            return Retry(delay, error)
        failure = f"gave up after {delivered} tries: {error}"
        await ctx.results.dead_letter(
            subject,
            payload,
            reason="exhausted" if retryable else "permanent",
            error=failure,
            deliveries=delivered,
        )
        await ctx.results.publish(
            sync_event(
                data.id,
                data.phone_number,
                event.orgid,
                data.version,
                SyncState.FAILED,
                error=failure,
            )
        )
        log.error("sync.dead_lettered", phone_number_id=data.id, delivered=delivered, error=error)
        return Ack("dead-lettered")
