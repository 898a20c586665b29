"""Customer webhooks: a number's `webhook_url` receives its call events, signed and retried.

Deliveries sit in PostgreSQL (`webhook_deliveries`, written in the same transaction as the call
change), so a restart loses none. Each attempt is recorded in `webhook_attempts`, whatever it
raised: one undeliverable URL is one failed delivery, never a stopped sender. Retries back off
exponentially until `give_up_at`. Before every attempt the host is resolved and refused unless
every address is globally routable (`talkifai_common.destinations`, unless private destinations
are allowed); a resolver that cannot answer now is a retry. The request goes to the address that
was checked (Host header and TLS server name stay the URL's host), so a DNS answer that changes
between the check and the connection (rebinding) cannot redirect it; redirects are never
followed, so a public URL cannot bounce a request inside.

Signature: `X-TalkifAI-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`;
`X-TalkifAI-Event-Id` (the CloudEvent id, for deduplication) and `X-TalkifAI-Event-Type`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import structlog

from call_orchestrator.adapters.postgres import AttemptOutcome, Delivery, DeliveryStore
from talkifai_common.destinations import (
    DestinationError,
    Resolver,
    parse_destination_url,
    resolve_public,
    system_resolver,
)

log = structlog.get_logger(__name__)
SIGNATURE_HEADER = "X-TalkifAI-Signature"
EVENT_ID_HEADER = "X-TalkifAI-Event-Id"
EVENT_TYPE_HEADER = "X-TalkifAI-Event-Type"
TIMESTAMP_TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None) -> bool:
    """Check a signature header as a customer would (constant time, 5 minute tolerance)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > TIMESTAMP_TOLERANCE_S:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    # Bytes: compare_digest refuses a str holding anything but ASCII (a forged header may).
    return hmac.compare_digest(expected.encode(), parts.get("v1", "").encode())


@dataclass(frozen=True)
class Destination:
    """Where one attempt goes: the URL to connect to, and the Host / TLS name it must carry."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


async def check_destination(
    url: str, *, allow_private: bool, resolver: Resolver = system_resolver
) -> Destination:
    """The checked destination of `url`, resolved now (DestinationError otherwise). The returned
    URL names the checked address itself, so the connection cannot reach another one."""
    parsed = parse_destination_url(url)
    if allow_private:
        return Destination(url)
    addresses = await resolve_public(
        parsed.host, parsed.port, what="Webhook URL", allow_private=False, resolver=resolver
    )
    pinned = parsed.url.copy_with(host=str(addresses[0]), port=parsed.port)
    return Destination(
        str(pinned),
        host_header=parsed.url.netloc.decode("ascii"),
        sni_hostname=parsed.host if parsed.url.scheme == "https" else None,
    )


class WebhookSender:
    """Delivers queued customer webhooks until cancelled, restarting itself after a crash."""

    def __init__(
        self,
        store: DeliveryStore,
        *,
        secret: str,
        allow_private: bool,
        timeout_s: float,
        retry_base_s: float,
        retry_max_s: float,
        poll_interval_s: float,
        batch_size: int = 50,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._store = store
        self._secret = secret
        self._allow_private = allow_private
        self._retry_base_s = retry_base_s
        self._retry_max_s = retry_max_s
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._resolver = resolver
        self._lease_s = timeout_s + 5
        self._crashed: str | None = None
        self._client = httpx.AsyncClient(
            timeout=timeout_s,
            follow_redirects=False,
            headers={"User-Agent": "TalkifAI-Webhooks/1.0"},
        )

    def check_ready(self) -> None:
        """Raise while the sender is down (restarting after a crash); for `/readyz`."""
        if self._crashed is not None:
            raise RuntimeError(f"customer webhook sender restarting after {self._crashed}")

    async def run(self) -> None:
        """Send due deliveries until cancelled. Anything that stops the loop (the database
        failing a claim, a bug) is logged, shown in `/readyz`, and the loop restarted."""
        failures = 0
        try:
            while True:
                try:
                    await self._poll_forever()
                except Exception as exc:
                    failures = 1 if self._crashed is None else failures + 1
                    self._crashed = type(exc).__name__
                    delay = min(30.0, self._poll_interval_s * 2**failures)
                    log.exception("webhooks.sender_restarting", failures=failures, retry_in_s=delay)
                    await asyncio.sleep(delay)
        finally:
            with contextlib.suppress(Exception):
                await self._client.aclose()

    async def _poll_forever(self) -> None:
        while True:
            due = await self._store.claim(self._batch_size, self._lease_s)
            self._crashed = None
            if due:
                await asyncio.gather(*(self._deliver_one(d) for d in due))
                continue
            await asyncio.sleep(self._poll_interval_s)

    async def _deliver_one(self, delivery: Delivery) -> None:
        # Only recording can fail here (the database): the lease runs out and the delivery is
        # claimed again, so the other deliveries of the batch go on.
        try:
            await self.deliver(delivery)
        except Exception as exc:
            log.warning(
                "webhook.attempt_not_recorded",
                delivery_id=delivery.id,
                error_type=type(exc).__name__,
                error=_printable(str(exc)),
            )

    async def deliver(self, delivery: Delivery) -> None:
        """One attempt, recorded whatever it raised; schedules the next one or gives up."""
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        retryable = True
        try:
            status = await self._send(delivery)
            if 200 <= status < 300:
                outcome = AttemptOutcome.DELIVERED
            else:
                error = f"HTTP {status}"
                retryable = status in (408, 425, 429) or status >= 500
                outcome = AttemptOutcome.RETRY
        except DestinationError as exc:
            error = f"refused: {exc}" if not exc.retryable else str(exc)
            retryable, outcome = exc.retryable, AttemptOutcome.RETRY
        except Exception as exc:
            # Any other failure of this one URL (transport, a URL httpx cannot send): retried by
            # the normal policy, so no single row can stop the sender.
            error, outcome = f"{type(exc).__name__}: {exc}", AttemptOutcome.RETRY
        error = _printable(error) if error is not None else None
        duration_ms = (time.perf_counter() - started) * 1000
        retry_in: float | None = None
        if outcome is AttemptOutcome.RETRY:
            retry_in = min(self._retry_max_s, self._retry_base_s * 2 ** (delivery.attempt - 1))
            retry_in *= random.uniform(0.8, 1.2)
            past_deadline = (
                datetime.now(UTC).timestamp() + retry_in > delivery.give_up_at.timestamp()
            )
            if not retryable or past_deadline:
                outcome = AttemptOutcome.FAILED
        await self._store.record_attempt(
            delivery,
            status_code=status,
            error=error,
            duration_ms=duration_ms,
            outcome=outcome,
            retry_in_s=retry_in,
        )
        log.info(
            "webhook.attempt",
            delivery_id=delivery.id,
            event_id=delivery.event_id,
            attempt=delivery.attempt,
            status_code=status,
            outcome=outcome.value,
            error=error,
        )

    async def _send(self, delivery: Delivery) -> int:
        destination = await check_destination(
            delivery.url, allow_private=self._allow_private, resolver=self._resolver
        )
        body = delivery.payload.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, int(time.time()), body),
            EVENT_ID_HEADER: delivery.event_id,
            EVENT_TYPE_HEADER: _event_type(delivery.payload),
        }
        if destination.host_header:
            headers["Host"] = destination.host_header
        extensions = (
            {"sni_hostname": destination.sni_hostname} if destination.sni_hostname else None
        )
        response = await self._client.post(
            destination.url, content=body, headers=headers, extensions=extensions
        )
        return response.status_code


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


def _printable(text: str) -> str:
    """An error fit for a text column and a log line: no NUL or control characters, bounded."""
    return _UNPRINTABLE.sub("?", text)[:500]


def _event_type(payload: str) -> str:
    # The type sits near the start of the envelope; a full parse is not needed.
    marker = '"type":"'
    start = payload.find(marker)
    if start < 0:
        return ""
    start += len(marker)
    return payload[start : payload.find('"', start)]
