"""Customer webhooks: a number's `webhook_url` receives its call events, signed and retried.

Deliveries sit in PostgreSQL (`webhook_deliveries`, written in the same transaction as the call
change), so a restart loses none. Each attempt is recorded in `webhook_attempts`. Retries back off
exponentially until `give_up_at`. Before every attempt the host is resolved and refused when any
address is private, loopback, link-local, multicast or reserved (unless allowed for dev), and the
request goes to the address that was checked (Host header and TLS server name stay the URL's host),
so a DNS answer that changes between the check and the connection (rebinding) cannot redirect it;
redirects are never followed, so a public URL cannot bounce a request inside.

Signature: `X-TalkifAI-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`;
`X-TalkifAI-Event-Id` (the CloudEvent id, for deduplication) and `X-TalkifAI-Event-Type`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import random
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import structlog

from call_orchestrator.adapters.postgres import Delivery, Store

log = structlog.get_logger(__name__)
SIGNATURE_HEADER = "X-TalkifAI-Signature"
EVENT_ID_HEADER = "X-TalkifAI-Event-Id"
EVENT_TYPE_HEADER = "X-TalkifAI-Event-Type"
TIMESTAMP_TOLERANCE_S = 300


class UnsafeDestination(Exception):
    """The webhook URL points somewhere we must not send requests."""


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
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


@dataclass(frozen=True)
class Destination:
    """Where one attempt goes: the URL to connect to, and the Host / TLS name it must carry."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


async def check_destination(url: str, *, allow_private: bool) -> Destination:
    """The checked destination of `url`, resolved now; UnsafeDestination unless it is http(s) to a
    public address. The returned URL names the checked address itself, so the connection cannot
    reach another one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestination("webhook URL must be http(s) with a host")
    if allow_private:
        return Destination(url)
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeDestination(f"webhook host does not resolve: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or any(_forbidden(a) for a in addresses):
        raise UnsafeDestination(
            "webhook host resolves to a private, loopback or link-local address"
        )
    address = addresses[0].split("%", 1)[0]
    literal = f"[{address}]" if ":" in address else address
    pinned = parts._replace(netloc=f"{literal}:{port}").geturl()
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return Destination(
        pinned, host_header=host_header, sni_hostname=host if parts.scheme == "https" else None
    )


class WebhookSender:
    """Delivers queued customer webhooks until cancelled."""

    def __init__(
        self,
        store: Store,
        *,
        secret: str,
        allow_private: bool,
        timeout_s: float,
        retry_base_s: float,
        retry_max_s: float,
        poll_interval_s: float,
        batch_size: int = 50,
    ) -> None:
        self._store = store
        self._secret = secret
        self._allow_private = allow_private
        self._retry_base_s = retry_base_s
        self._retry_max_s = retry_max_s
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._lease_s = timeout_s + 5
        self._client = httpx.AsyncClient(
            timeout=timeout_s,
            follow_redirects=False,
            headers={"User-Agent": "TalkifAI-Webhooks/1.0"},
        )

    async def run(self) -> None:
        """Poll for due deliveries and send them, until cancelled."""
        try:
            while True:
                try:
                    due = await self._store.claim_deliveries(self._batch_size, self._lease_s)
                except Exception as exc:
                    log.warning("webhooks.claim_failed", error=str(exc))
                    due = []
                if due:
                    await asyncio.gather(*(self.deliver(d) for d in due))
                    continue
                await asyncio.sleep(self._poll_interval_s)
        finally:
            with contextlib.suppress(Exception):
                await self._client.aclose()

    async def deliver(self, delivery: Delivery) -> None:
        """One attempt, recorded; schedules the next one or gives up."""
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        retryable = True
        try:
            destination = await check_destination(delivery.url, allow_private=self._allow_private)
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
            status = response.status_code
            if 200 <= status < 300:
                outcome = "delivered"
            else:
                error = f"HTTP {status}"
                retryable = status in (408, 425, 429) or status >= 500
                outcome = "retry"
        except UnsafeDestination as exc:
            error, retryable, outcome = f"refused: {exc}", False, "failed"
        except httpx.HTTPError as exc:
            error, outcome = f"{type(exc).__name__}: {exc}"[:500], "retry"
        duration_ms = (time.perf_counter() - started) * 1000
        retry_in: float | None = None
        if outcome == "retry":
            retry_in = min(self._retry_max_s, self._retry_base_s * 2 ** (delivery.attempt - 1))
            retry_in *= random.uniform(0.8, 1.2)
            past_deadline = (
                datetime.now(UTC).timestamp() + retry_in > delivery.give_up_at.timestamp()
            )
            if not retryable or past_deadline:
                outcome = "failed"
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
            outcome=outcome,
            error=error,
        )


def _event_type(payload: str) -> str:
    # The type sits near the start of the envelope; a full parse is not needed.
    marker = '"type":"'
    start = payload.find(marker)
    if start < 0:
        return ""
    start += len(marker)
    return payload[start : payload.find('"', start)]
