"""Signed webhooks, delivered the way LiveKit's notifier sends them.

Each event is protobuf JSON (lowerCamel names, as Go's `protojson.Marshal`) posted with
`Content-Type: application/webhook+json` and `Authorization: <JWT>` (no "Bearer"), the JWT
signed with the API secret and carrying `sha256` = base64 of the body's SHA-256. Delivery is
asynchronous, in order per room and URL, with a few retries on transport errors and 5xx/429.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import logging
import time

import httpx
import jwt
from google.protobuf.json_format import MessageToJson
from livekit.protocol.egress import EgressInfo
from livekit.protocol.models import ParticipantInfo, Room, TrackInfo
from livekit.protocol.webhook import WebhookEvent

from livekit_emulator import ids
from livekit_emulator.config import EmulatorConfig

CONTENT_TYPE = "application/webhook+json"
USER_AGENT = "LiveKit"
TOKEN_TTL_S = 300  # LiveKit signs each webhook with a five-minute token.

log = logging.getLogger("livekit_emulator.webhooks")


def sign(body: bytes, api_key: str, api_secret: str) -> str:
    """The Authorization header value for one webhook body."""
    now = int(time.time())
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    claims = {"iss": api_key, "nbf": now, "exp": now + TOKEN_TTL_S, "sha256": digest, "video": {}}
    return jwt.encode(claims, api_secret, algorithm="HS256")


class WebhookSender:
    """Queues webhook events and posts them to every configured URL."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._client: httpx.AsyncClient | None = None
        self._tails: dict[tuple[str, str], asyncio.Task[None]] = {}

    def notify(
        self,
        event: str,
        *,
        room: Room | None = None,
        participant: ParticipantInfo | None = None,
        egress_info: EgressInfo | None = None,
        track: TrackInfo | None = None,
    ) -> None:
        """Queue one event for every configured URL; never blocks the API that caused it."""
        if not self._config.webhook_urls:
            return
        message = WebhookEvent(
            event=event, id=ids.new_id(ids.WEBHOOK_EVENT), created_at=int(time.time())
        )
        if room is not None:
            message.room.CopyFrom(room)
        if participant is not None:
            message.participant.CopyFrom(participant)
        if egress_info is not None:
            message.egress_info.CopyFrom(egress_info)
        if track is not None:
            message.track.CopyFrom(track)
        log.info("webhook queued", extra={"event": event, "room": room.name if room else ""})
        body = MessageToJson(message, indent=None).encode()
        order_key = (
            room.name if room is not None else (egress_info.room_name if egress_info else "")
        )
        for url in self._config.webhook_urls:
            key = (url, order_key)
            previous = self._tails.get(key)
            task = asyncio.get_running_loop().create_task(
                self._deliver_after(previous, url, body, event)
            )
            self._tails[key] = task
            task.add_done_callback(functools.partial(self._forget, key))

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._tails.get(key) is task:
            del self._tails[key]

    async def _deliver_after(
        self, previous: asyncio.Task[None] | None, url: str, body: bytes, event: str
    ) -> None:
        if previous is not None:
            # Waiting this way keeps order without inheriting the previous delivery's failure.
            await asyncio.wait([previous])
        await self._deliver(url, body, event)

    async def _deliver(self, url: str, body: bytes, event: str) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._config.webhook_timeout_s)
        attempts = max(1, self._config.webhook_max_attempts)
        for attempt in range(attempts):
            headers = {
                "Authorization": sign(body, self._config.api_key, self._config.api_secret),
                "Content-Type": CONTENT_TYPE,
                "User-Agent": USER_AGENT,
            }
            try:
                response = await self._client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500 and response.status_code != 429:
                    log.info(
                        "webhook delivered",
                        extra={"event": event, "url": url, "status": response.status_code},
                    )
                    return
                reason = f"status {response.status_code}"
            if attempt + 1 < attempts:
                await asyncio.sleep(self._config.webhook_retry_base_s * (2**attempt))
        log.warning("webhook dropped", extra={"event": event, "url": url, "reason": reason})

    async def drain(self, timeout_s: float = 2.0) -> None:
        """Wait for queued deliveries (up to a bound), cancel the rest, close the client."""
        pending = list(self._tails.values())
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout_s)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still)
        self._tails.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
