"""Durable JetStream consumers: explicit acks, backoff, a bound, and a dead-letter stream.

Every durable consumer of every service follows one policy (FastStream's default, which `term()`s a
message on any exception, is never used):
- handled: ack;
- transient error (database, network, LiveKit or numbers-api unavailable, anything not known to be
  permanent): nak with exponential backoff, until the message was delivered `max_deliveries` times;
- permanent error (a malformed payload, an error whose `retryable` is False) or the bound reached:
  the message goes to the service's dead-letter stream `<SERVICE>_DLQ` (subject `dlq.<service>`),
  then ack. The dead letter's body is the original message, replayable as is.
Each nak and each dead letter is a structured log line and a count on an OpenTelemetry counter
(`talkifai.consumer.naks`, `talkifai.consumer.dead_letters`).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

import asyncpg
import structlog
from faststream import BaseMiddleware, ContextRepo
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, NatsRouter, PullSub
from nats.aio.msg import Msg
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from opentelemetry import metrics
from pydantic import BaseModel, ValidationError

from talkifai_common.bus import current_message
from talkifai_common.events import STREAM_NAME

log = structlog.get_logger(__name__)
_meter = metrics.get_meter("talkifai_common.consumers")
NAKS = _meter.create_counter(
    "talkifai.consumer.naks",
    unit="{message}",
    description="Messages handed back for redelivery after a transient error.",
)
DEAD_LETTERS = _meter.create_counter(
    "talkifai.consumer.dead_letters",
    unit="{message}",
    description="Messages moved to a dead-letter stream (malformed, permanent or exhausted).",
)
DEAD_LETTER_RETENTION = timedelta(days=30)
# JetStream's own bound sits above ours: it only matters for a process killed on the last try.
MAX_DELIVER_MARGIN = 3
ModelT = TypeVar("ModelT", bound=BaseModel)

# asyncpg errors that are about the statement or the data, not the server's availability.
_PERMANENT_DB_ERRORS = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.SyntaxOrAccessError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing message is retried before it is dead-lettered."""

    max_deliveries: int = 8
    base_s: float = 0.5
    max_s: float = 30.0

    def delay(self, delivered: int) -> float:
        """Exponential backoff with jitter for the next delivery."""
        raw = min(self.max_s, self.base_s * 2.0 ** max(0, delivered - 1))
        return raw * random.uniform(0.8, 1.2)


def is_transient(exc: BaseException) -> bool:
    """Whether trying the message again may succeed.

    Errors that say so through `retryable` (ours) are taken at their word; a malformed payload or
    a data error is permanent; anything else (connection refused, timeouts, a locked table, an
    unknown failure) is retried up to the bound, because dead-lettering a message that would have
    succeeded later is the worse mistake.
    """
    retryable = getattr(exc, "retryable", None)
    if isinstance(retryable, bool):
        return retryable
    return not isinstance(exc, (ValidationError, *_PERMANENT_DB_ERRORS))


def _header_value(text: str) -> str:
    return " ".join(text.split())[:2000]


class DeadLetters:
    """A service's dead-letter stream, outside `TELEPHONY` (whose consumers expect CloudEvents)."""

    def __init__(self, broker: NatsBroker, service: str) -> None:
        token = service.replace("-", "_")
        self._broker = broker
        self.stream = f"{token.upper()}_DLQ"
        self.subject = f"dlq.{token}"

    async def ensure_stream(self) -> None:
        """Create the dead-letter stream if it is missing (idempotent)."""
        js = self._broker.connection.jetstream()
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            await js.add_stream(
                config=StreamConfig(
                    name=self.stream,
                    subjects=[self.subject],
                    storage=StorageType.FILE,
                    max_age=DEAD_LETTER_RETENTION.total_seconds(),
                    duplicate_window=timedelta(minutes=10).total_seconds(),
                )
            )

    async def publish(
        self,
        subject: str,
        payload: bytes,
        *,
        consumer: str,
        reason: str,
        error: str,
        deliveries: int,
        dedup_id: str | None = None,
    ) -> None:
        """Keep a message that could not be handled, with where it came from and why."""
        headers = {
            "Dead-Letter-Subject": subject,
            "Dead-Letter-Consumer": consumer,
            "Dead-Letter-Reason": reason,
            "Dead-Letter-Error": _header_value(error),
            "Dead-Letter-Deliveries": str(deliveries),
        }
        if dedup_id:
            # A process killed between this publish and the ack does not leave two dead letters.
            headers["Nats-Msg-Id"] = dedup_id
        await self._broker.publish(
            payload, self.subject, headers=headers, stream=self.stream, timeout=5.0
        )
        DEAD_LETTERS.add(1, {"consumer": consumer, "subject": subject, "reason": reason})
        log.error(
            "consumer.dead_lettered",
            consumer=consumer,
            subject=subject,
            reason=reason,
            deliveries=deliveries,
            error=error,
            dead_letter_stream=self.stream,
        )


async def nak(
    message: NatsMessage, *, consumer: str, delay_s: float, delivered: int, error: str
) -> None:
    """Hand a message back for redelivery after `delay_s`, logged and counted."""
    await _nak_raw(
        message.raw_message, consumer=consumer, delay_s=delay_s, delivered=delivered, error=error
    )


async def _nak_raw(raw: Msg, *, consumer: str, delay_s: float, delivered: int, error: str) -> None:
    subject = raw.subject
    NAKS.add(1, {"consumer": consumer, "subject": subject})
    log.warning(
        "consumer.nak",
        consumer=consumer,
        subject=subject,
        delivered=delivered,
        retry_in_s=round(delay_s, 3),
        error=error,
    )
    await raw.nak(delay=delay_s)


def consumer_config(
    durable: str, subjects: Sequence[str], policy: RetryPolicy, *, ack_wait_s: float = 30.0
) -> ConsumerConfig:
    """A durable pull consumer acked message by message, with JetStream's bound above ours."""
    return ConsumerConfig(
        durable_name=durable,
        filter_subjects=list(subjects),
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=JsAckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        max_deliver=policy.max_deliveries + MAX_DELIVER_MARGIN,
        max_ack_pending=10_000,
    )


def error_text(exc: BaseException) -> str:
    """An error for logs and dead-letter headers: its type and message, without a payload."""
    return f"{type(exc).__name__}: {exc}"[:500]


class UndecodableMessages(BaseMiddleware):
    """Hands a message FastStream could not decode into the subscriber's model to `on_undecodable`.

    FastStream decodes and validates the payload before the handler runs, so a malformed one never
    reaches the handler's policy; without this, `AckPolicy.MANUAL` would leave it unacked and
    JetStream would redeliver it until `max_deliver` instead of dead-lettering it at once.
    Attach it with `NatsRouter(middlewares=(partial(UndecodableMessages, on_undecodable=...),))`.
    """

    def __init__(
        self,
        msg: Msg,
        /,
        *,
        context: ContextRepo,
        on_undecodable: Callable[[Msg, str], Awaitable[None]],
    ) -> None:
        super().__init__(msg, context=context)
        self._raw = msg
        self._on_undecodable = on_undecodable

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        # Decoding raises ValueErrors (JSONDecodeError, UnicodeDecodeError, pydantic's
        # ValidationError); the handler's own errors never get here, its policy has taken them.
        if not isinstance(exc_val, ValueError):
            return False
        if isinstance(exc_val, ValidationError):
            error = f"malformed event: {exc_val.error_count()} validation errors"
        else:
            error = f"malformed event: {type(exc_val).__name__}"
        await self._on_undecodable(self._raw, error)
        return True


@dataclass(frozen=True)
class DurableHandler:
    """Runs the service's handler on a decoded event and applies the policy to the outcome."""

    broker: NatsBroker
    durable: str
    handle: Callable[[Any], Awaitable[None]]
    dead_letters: DeadLetters
    policy: RetryPolicy

    async def run(self, event: BaseModel) -> None:
        """Handle the current message's event: ack, nak with backoff, or dead-letter and ack."""
        raw = current_message(self.broker).raw_message
        delivered = raw.metadata.num_delivered or 1
        try:
            await self.handle(event)
        except Exception as exc:
            error = error_text(exc)
            transient = is_transient(exc)
            if transient and delivered < self.policy.max_deliveries:
                delay = self.policy.delay(delivered)
                await _nak_raw(
                    raw, consumer=self.durable, delay_s=delay, delivered=delivered, error=error
                )
                return
            reason = "exhausted" if transient else "permanent"
            if transient:
                error = f"gave up after {delivered} tries: {error}"
            await self._dead_letter(raw, reason, error)
            return
        await raw.ack()

    async def dead_letter_malformed(self, raw: Msg, error: str) -> None:
        """Dead-letter a message whose payload is not the handler's model."""
        await self._dead_letter(raw, "malformed", error)

    async def _dead_letter(self, raw: Msg, reason: str, error: str) -> None:
        delivered = raw.metadata.num_delivered or 1
        try:
            await self.dead_letters.publish(
                raw.subject,
                raw.data,
                consumer=self.durable,
                reason=reason,
                error=error,
                deliveries=delivered,
                dedup_id=f"dlq-{self.durable}-{raw.metadata.sequence.stream}",
            )
        except Exception as exc:
            # Not kept anywhere yet: the message stays on its stream and comes back.
            await _nak_raw(
                raw,
                consumer=self.durable,
                delay_s=self.policy.delay(delivered),
                delivered=delivered,
                error=f"dead letter not written: {error_text(exc)}",
            )
            return
        await raw.ack()


def durable_subscriber(
    broker: NatsBroker,
    *,
    subjects: Sequence[str],
    durable: str,
    model: type[ModelT],
    handle: Callable[[ModelT], Awaitable[None]],
    dead_letters: DeadLetters,
    policy: RetryPolicy,
    title: str,
    batch: int = 50,
    ack_wait_s: float = 30.0,
) -> None:
    """Attach a durable pull consumer of `subjects` whose messages `handle` gets as `model`."""
    handler = DurableHandler(broker, durable, handle, dead_letters, policy)

    async def on_message(event: BaseModel) -> None:
        await handler.run(event)

    # FastStream decodes the payload into the annotated model; `model` is only known here.
    on_message.__annotations__["event"] = model
    # A router per subscriber: FastStream 0.7 takes middlewares per broker or router only.
    undecodable = partial(UndecodableMessages, on_undecodable=handler.dead_letter_malformed)
    router = NatsRouter(middlewares=(undecodable,))
    router.subscriber(
        stream=JStream(STREAM_NAME, declare=False),
        durable=durable,
        config=consumer_config(durable, subjects, policy, ack_wait_s=ack_wait_s),
        pull_sub=PullSub(batch_size=batch, timeout=0.5),
        ack_policy=AckPolicy.MANUAL,
        no_reply=True,
        title=title,
    )(on_message)
    broker.include_router(router)
